"""Cookie sessions belong to the console. API requests authenticate with bearer tokens, so
they open no session: nothing to sign or verify, no `Vary: Cookie`, no `Set-Cookie`."""

from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface

API_PATH_PREFIX = "/api/"


class ConsoleOnlySessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except under `API_PATH_PREFIX`, where every request gets
    Flask's null session (empty, never saved)."""

    def open_session(self, app, request):
        if request.path.startswith(API_PATH_PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)
