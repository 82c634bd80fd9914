"""CHOM's own app with the site list's view swapped for the trivial one (`trivial_app.sites`):
what every authenticated API request pays before its own work. The request still passes every
hook of the app (rate limit keyed by the bearer token's user, so the token look-up; the input
check; authentication, which builds the caller's actor and tenant scope; correlation id;
security headers; request metrics), and no query of its own.

Served by bench/api.py beside the real app and the trivial one: `gunicorn --pythonpath bench
chom_floor_app:app`.
"""

from trivial_app import sites

from chom import create_app

app = create_app()
app.view_functions["sites.list_sites"] = sites
