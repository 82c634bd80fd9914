"""Console pages for the team: members (role and tenant scope), invitations (with a scope
chooser, resend, revoke), ownership transfer, and the page that accepts an invitation."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user

from chom.extensions import limiter
from chom.rate_limits import setting
from chom.services import invitations, members, organizations, tenants
from chom.services.errors import ChomError, NotFound, PermissionDenied, ValidationFailed
from chom.services.tenancy import RequestInfo
from chom.web.context import act_then_redirect, console_actor


def _scope_from_form() -> dict:
    """The scope chooser: "all" tenants, or the ticked ones."""
    if request.form.get("scope", "all") == "all":
        return {"all_tenants": True, "tenant_ids": None}
    return {"all_tenants": False, "tenant_ids": request.form.getlist("tenant_ids")}


@login_required
def team():
    actor = console_actor()
    try:
        listed = members.list_members(actor)
        pending = invitations.list_pending(actor)
    except PermissionDenied:
        abort(403)
    return render_template("team.html", actor=actor, members=listed, invitations=pending,
                           organization=organizations.get_organization(actor),
                           tenants=tenants.list_tenants(actor),
                           roles=("owner", "admin", "member", "viewer"),
                           invitable=invitations.INVITABLE_ROLES)


def _act(action, success: str):
    """Run one team action, then back to the team page."""
    return act_then_redirect(action, success, url_for("web.team"))


@login_required
def update_member(member_id):
    role = request.form.get("role") or None
    return _act(lambda actor: members.update_member(actor, member_id, role=role,
                                                    **_scope_from_form()), "Member updated.")


@login_required
def remove_member(member_id):
    return _act(lambda actor: members.remove_member(actor, member_id), "Member removed.")


def _user_key() -> str:
    """The sensitive tier's key: the same per-user key as the API's."""
    user_id = getattr(current_user, "id", None)
    return f"user:{user_id}" if user_id else f"ip:{get_remote_address()}"


@login_required
@limiter.limit(setting("CHOM_RATE_LIMIT_SENSITIVE"), key_func=_user_key, scope="sensitive")
def transfer_ownership(member_id):
    return _act(lambda actor: members.transfer_ownership(actor, member_id),
                "Ownership transferred; you are an admin now.")


@login_required
@limiter.limit(setting("CHOM_RATE_LIMIT_SENSITIVE"), key_func=_user_key, scope="sensitive")
def organization_security():
    required = request.form.get("require_two_factor") == "on"
    return _act(lambda actor: organizations.update_organization(
        actor, require_two_factor=required),
        "Two-factor authentication is now required of every member." if required
        else "Two-factor authentication is no longer required.")


@login_required
def invite():
    email, role = request.form.get("email", ""), request.form.get("role", "")
    return _act(lambda actor: invitations.create_invitation(actor, email=email, role=role,
                                                            **_scope_from_form()),
                f"Invitation sent to {email.strip().lower()}.")


@login_required
def resend_invitation(invitation_id):
    return _act(lambda actor: invitations.resend_invitation(actor, invitation_id),
                "Invitation sent again; the previous link no longer works.")


@login_required
def revoke_invitation(invitation_id):
    return _act(lambda actor: invitations.revoke_invitation(actor, invitation_id),
                "Invitation revoked.")


@limiter.limit(setting("CHOM_RATE_LIMIT_AUTH"), key_func=get_remote_address, methods=["POST"],
               scope="auth")
def accept_invitation():
    """Join with the emailed link: logged in, one click; else create the account here."""
    token = request.values.get("token", "")
    try:
        preview = invitations.preview_invitation(token)
    except NotFound as error:
        return render_template("invitation_accept.html", preview=None, error=error.detail,
                               token="", errors={}), 404
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        user = current_user if current_user.is_authenticated else None
        try:
            result = invitations.accept_invitation(
                token, user=user, name=request.form.get("name", ""),
                password=request.form.get("password", ""),
                request=RequestInfo(ip=request.remote_addr,
                                    user_agent=request.headers.get("User-Agent")))
        except ValidationFailed as error:
            errors = error.errors
        except ChomError as error:
            flash(error.detail, "error")
        else:
            if user is None:
                session.clear()
                login_user(result.user)
            flash(f"Welcome to {result.organization.name}.", "success")
            return redirect(url_for("web.dashboard"))
    return render_template("invitation_accept.html", preview=preview, error=None, token=token,
                           errors=errors), 422 if errors else 200


def register(bp) -> None:
    bp.add_url_rule("/team", view_func=team)
    bp.add_url_rule("/team/members/<member_id>", view_func=update_member, methods=["POST"])
    bp.add_url_rule("/team/members/<member_id>/remove", view_func=remove_member,
                    methods=["POST"])
    bp.add_url_rule("/team/members/<member_id>/ownership", view_func=transfer_ownership,
                    methods=["POST"])
    bp.add_url_rule("/team/invitations", view_func=invite, methods=["POST"])
    bp.add_url_rule("/team/security", view_func=organization_security, methods=["POST"])
    bp.add_url_rule("/team/invitations/<invitation_id>/resend", view_func=resend_invitation,
                    methods=["POST"])
    bp.add_url_rule("/team/invitations/<invitation_id>/revoke", view_func=revoke_invitation,
                    methods=["POST"])
    bp.add_url_rule("/invitations/accept", view_func=accept_invitation,
                    methods=["GET", "POST"])
