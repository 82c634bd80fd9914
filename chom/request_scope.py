"""Each request starts in the deny-all scope and ends in none.

Authentication (API token or console session) widens the scope to the caller's; a request that
never authenticates sees no tenant data. Threads are reused across requests, so the scope is
cleared at teardown.
"""

from chom.models.scoping import DENY_ALL, enter_scope


def _deny_until_authenticated():
    enter_scope(DENY_ALL)


def _clear(_exc=None):
    enter_scope(None)


def init_app(app) -> None:
    app.before_request(_deny_until_authenticated)
    app.teardown_request(_clear)
