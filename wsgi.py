"""WSGI entry point: `gunicorn wsgi:app`."""

from chom import create_app

app = create_app()
