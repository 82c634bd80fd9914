"""Rate-limit tiers, read from settings at request time so tests and benchmarks can raise them."""

from flask_limiter.util import get_remote_address

from chom.api.auth import rate_limit_key
from chom.extensions import limiter
from chom.rate_limits import login_account_key
from chom.rate_limits import setting as _setting

auth_limit = limiter.limit(_setting("CHOM_RATE_LIMIT_AUTH"), key_func=get_remote_address,
                           scope="auth")
api_limit = limiter.limit(_setting("CHOM_RATE_LIMIT_API"), key_func=rate_limit_key, scope="api")
sensitive_limit = limiter.limit(
    _setting("CHOM_RATE_LIMIT_SENSITIVE"), key_func=rate_limit_key, scope="sensitive"
)
login_account_limit = limiter.limit(
    _setting("CHOM_RATE_LIMIT_LOGIN_ACCOUNT"), key_func=login_account_key, scope="login-account"
)
# Password-reset emails naming one account, from any address: no inbox can be flooded.
reset_account_limit = limiter.limit(
    _setting("CHOM_RATE_LIMIT_LOGIN_ACCOUNT"), key_func=login_account_key, scope="reset-account"
)
