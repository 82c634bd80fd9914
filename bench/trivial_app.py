"""The ceiling for bench/api.py: a Flask app answering one small JSON document, nothing else.

Served by the same gunicorn settings as CHOM itself: `gunicorn --pythonpath bench trivial_app:app`.
"""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/api/v1/sites")
def sites():
    return jsonify({"data": [], "meta": {"page": 1, "per_page": 25, "total": 0}})
