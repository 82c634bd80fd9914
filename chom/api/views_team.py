"""/invitations, /members and /organization: the team and its security settings."""

from flask_smorest import Blueprint

from chom.api import schemas as s
from chom.api import schemas_team as t
from chom.api.auth import current_actor, request_info, token_grant, without_api_token
from chom.api.limits import api_limit, auth_limit, reset_account_limit, sensitive_limit
from chom.models.base import utcnow
from chom.services import accounts, invitations, members, organizations, password_reset

blp = Blueprint("team", __name__, url_prefix="/api/v1", description="Team and organization")


def invitation_out(invitation) -> dict:
    return {"id": invitation.id, "email": invitation.email, "role": invitation.role,
            "all_tenants": invitation.all_tenants, "tenant_ids": invitation.tenant_ids or [],
            "expires_at": invitation.expires_at, "expired": invitation.expires_at <= utcnow(),
            "created_at": invitation.created_at}


def member_out(membership) -> dict:
    user = membership.user
    return {"id": membership.id, "role": membership.role, "all_tenants": membership.all_tenants,
            "tenants": [] if membership.all_tenants else membership.tenants,
            "user": {"id": user.id, "name": user.name, "email": user.email,
                     "two_factor": user.totp_enabled_at is not None},
            "created_at": membership.created_at}


@blp.route("/invitations", methods=["GET"])
@api_limit
@blp.response(200, s.envelope(t.InvitationOut, "InvitationListEnvelope", many=True))
def list_invitations():
    """Pending invitations (admin and owner), newest first; expired ones can be resent."""
    return {"data": [invitation_out(i) for i in invitations.list_pending(current_actor())]}


@blp.route("/invitations", methods=["POST"])
@api_limit
@blp.arguments(t.InvitationIn)
@blp.response(201, s.envelope(t.InvitationOut, "InvitationEnvelope"))
def create_invitation(body):
    """Invite an email with a role over all tenants or some; the link is emailed."""
    return {"data": invitation_out(invitations.create_invitation(current_actor(), **body))}


@blp.route("/invitations/<invitation_id>/resend", methods=["POST"])
@api_limit
@blp.response(200, s.envelope(t.InvitationOut, "InvitationResentEnvelope"))
def resend_invitation(invitation_id):
    """Email a new link; the previous one stops working."""
    return {"data": invitation_out(invitations.resend_invitation(current_actor(),
                                                                 invitation_id))}


@blp.route("/invitations/<invitation_id>", methods=["DELETE"])
@api_limit
@blp.response(204)
def revoke_invitation(invitation_id):
    """Revoke a pending invitation."""
    invitations.revoke_invitation(current_actor(), invitation_id)


@blp.route("/invitations/accept", methods=["POST"])
@without_api_token(blp, security=[{}, {"bearerAuth": []}])  # with a token, or without
@auth_limit
@blp.arguments(t.AcceptIn)
@blp.response(201, s.envelope(t.AcceptOut, "AcceptEnvelope"))
def accept_invitation(body):
    """Accept with the emailed token: with a bearer token, the caller joins; without one, a
    new account is made for the invited email (`name`, `password`) and a token returned."""
    grant = token_grant()
    user = accounts.active_user(grant.user_id) if grant is not None else None
    result = invitations.accept_invitation(
        body["token"], user=user, name=body.get("name", ""), password=body.get("password", ""),
        request=request_info(), issue_token=user is None)
    return {"data": {"token": result.token, "member": member_out(result.membership),
                     "organization": {"id": str(result.organization.id),
                                      "name": result.organization.name}}}


@blp.route("/members", methods=["GET"])
@api_limit
@blp.response(200, s.envelope(t.MemberOut, "MemberListEnvelope", many=True))
def list_members():
    """The organization's members with role and tenant scope (admin and owner)."""
    return {"data": [member_out(m) for m in members.list_members(current_actor())]}


@blp.route("/members/<member_id>", methods=["PATCH"])
@api_limit
@blp.arguments(t.MemberPatch)
@blp.response(200, s.envelope(t.MemberOut, "MemberEnvelope"))
def update_member(body, member_id):
    """Change a member's role or tenant scope; it applies from their next request."""
    return {"data": member_out(members.update_member(current_actor(), member_id, **body))}


@blp.route("/members/<member_id>", methods=["DELETE"])
@api_limit
@blp.response(204)
def remove_member(member_id):
    """Remove a member; their sessions and tokens stop working at once."""
    members.remove_member(current_actor(), member_id)


@blp.route("/members/<member_id>/ownership", methods=["POST"])
@sensitive_limit
@blp.response(200, s.envelope(t.MemberOut, "OwnershipEnvelope"))
def transfer_ownership(member_id):
    """Make this member an owner; the calling owner becomes an admin."""
    return {"data": member_out(members.transfer_ownership(current_actor(), member_id))}


def _organization_out(organization) -> dict:
    return {"id": organization.id, "name": organization.name,
            "require_two_factor": organization.require_two_factor}


@blp.route("/organization", methods=["GET"])
@api_limit
@blp.response(200, s.envelope(t.OrganizationDetail, "OrganizationEnvelope"))
def show_organization():
    """The caller's organization and its security settings."""
    return {"data": _organization_out(organizations.get_organization(current_actor()))}


@blp.route("/organization", methods=["PATCH"])
@sensitive_limit
@blp.arguments(t.OrganizationPatch)
@blp.response(200, s.envelope(t.OrganizationDetail, "OrganizationUpdatedEnvelope"))
def update_organization(body):
    """Rename, or require two-factor authentication of every member (owner)."""
    return {"data": _organization_out(organizations.update_organization(current_actor(),
                                                                        **body))}


@blp.route("/auth/password/forgot", methods=["POST"])
@without_api_token(blp)
@auth_limit
@reset_account_limit
@blp.arguments(t.ForgotIn)
@blp.response(202)
def forgot_password(body):
    """Email a password-reset link; the answer is the same whether the account exists."""
    password_reset.request_reset(body["email"])


@blp.route("/auth/password/reset", methods=["POST"])
@without_api_token(blp)
@auth_limit
@blp.arguments(t.ResetIn)
@blp.response(204)
def reset_password(body):
    """Set a new password with the emailed token; every session and token of the account
    ends."""
    password_reset.reset_password(body["token"], body["password"], request=request_info())
