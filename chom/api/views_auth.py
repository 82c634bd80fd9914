"""/auth: register, log in, who am I."""

from flask_smorest import Blueprint

from chom.api import schemas as s
from chom.api.auth import current_actor, without_api_token
from chom.api.limits import api_limit, auth_limit, login_account_limit, sensitive_limit
from chom.services import accounts, two_factor

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Accounts and log-in")


def _user_out(user, role):
    return {"id": user.id, "name": user.name, "email": user.email,
            "is_operator": user.is_operator, "role": role}


@blp.route("/register", methods=["POST"])
@without_api_token(blp)
@auth_limit
@blp.arguments(s.RegisterIn)
@blp.response(201, s.envelope(s.AuthResult, "AuthResultEnvelope"))
def register(body):
    """Create an organization, its first tenant and its owner; returns a token."""
    result = accounts.register(**body)
    return {"data": {"token": result.token, "user": _user_out(result.user, "owner"),
                     "organization": result.organization}}


@blp.route("/login", methods=["POST"])
@without_api_token(blp)
@auth_limit
@login_account_limit
@blp.arguments(s.LoginIn)
@blp.response(200, s.envelope(s.AuthResult, "LoginResultEnvelope"))
def login(body):
    """Exchange email and password for a bearer token."""
    result = accounts.login(body["email"], body["password"], body.get("otp"))
    return {"data": {"token": result.token, "user": _user_out(result.user, result.membership.role),
                     "organization": result.organization}}


@blp.route("/me", methods=["GET"])
@api_limit
@blp.response(200, s.envelope(s.Me, "MeEnvelope"))
def me():
    """The caller, their role, organization, current tenant and reachable tenants."""
    actor = current_actor()
    return {"data": {"user": _user_out(actor.user, actor.role),
                     "organization": actor.membership.organization,
                     "tenant": actor.tenant, "tenants": list(actor.reachable_tenants)}}


@blp.route("/2fa/setup", methods=["POST"])
@sensitive_limit
@blp.response(200, s.envelope(s.TwoFactorSetup, "TwoFactorSetupEnvelope"))
def two_factor_setup():
    """Start two-factor set-up: a secret and its otpauth:// URI for an authenticator app."""
    setup = two_factor.begin_setup(current_actor())
    return {"data": {"secret": setup.secret, "otpauth_uri": setup.provisioning_uri}}


@blp.route("/2fa/enable", methods=["POST"])
@sensitive_limit
@blp.arguments(s.OtpIn)
@blp.response(200, s.envelope(s.RecoveryCodes, "RecoveryCodesEnvelope"))
def two_factor_enable(body):
    """Confirm with a first code; returns ten single-use recovery codes, shown once."""
    return {"data": {"recovery_codes": two_factor.enable(current_actor(), body["otp"])}}


@blp.route("/2fa/disable", methods=["POST"])
@sensitive_limit
@blp.arguments(s.OtpIn)
@blp.response(204)
def two_factor_disable(body):
    """Turn two-factor off (a current code or a recovery code is needed)."""
    two_factor.disable(current_actor(), body["otp"])
