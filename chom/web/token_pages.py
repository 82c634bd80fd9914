"""Console page for the user's API tokens: create (the value shown once), list, revoke."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from chom.models.base import utcnow
from chom.services import accounts
from chom.services.errors import NotFound, ValidationFailed
from chom.services.policy import ALL_PERMISSIONS
from chom.web.context import console_actor
from chom.web.limits import sensitive_limit

EXPIRY_DAYS = (("", "Never"), ("7", "7 days"), ("30", "30 days"), ("90", "90 days"),
               ("365", "1 year"))


def _validated(form) -> dict:
    errors: dict[str, list[str]] = {}
    name = form.get("name", "").strip()
    if not 1 <= len(name) <= 100:
        errors["name"] = ["Give the token a name (100 characters at most)."]
    abilities = form.getlist("abilities") or ["*"]
    if not set(abilities) <= {"*", *ALL_PERMISSIONS}:
        errors["abilities"] = ["Choose abilities from the list."]
    days = form.get("expires_in_days", "")
    if days not in dict(EXPIRY_DAYS):
        errors["expires_in_days"] = ["Choose an expiry from the list."]
    if errors:
        raise ValidationFailed(errors)
    return {"name": name, "abilities": abilities,
            "expires_at": utcnow() + timedelta(days=int(days)) if days else None}


@login_required
@sensitive_limit
def tokens():
    actor = console_actor()
    form, errors, created, status = {"name": "", "expires_in_days": "30"}, {}, None, 200
    if request.method == "POST":
        form = {"name": request.form.get("name", ""),
                "expires_in_days": request.form.get("expires_in_days", ""),
                "abilities": request.form.getlist("abilities")}
        try:
            token, plain = accounts.create_token(actor, **_validated(request.form))
        except ValidationFailed as error:
            errors, status = error.errors, 422
        else:
            # Rendered in this response only: never in a flash message (the session cookie).
            created, status = {"token": token, "plain": plain}, 201
            form = {"name": "", "expires_in_days": "30"}
    return render_template("tokens.html", actor=actor, tokens=accounts.list_tokens(actor),
                           form=form, errors=errors, created=created, expiry_days=EXPIRY_DAYS,
                           permissions=sorted(actor_permissions(actor))), status


def actor_permissions(actor) -> set[str]:
    """The abilities a new token of this actor can usefully carry (what the role allows)."""
    return {permission for permission in ALL_PERMISSIONS if actor.may(permission)}


@login_required
def revoke_token(token_id):
    try:
        accounts.revoke_token(console_actor(), token_id)
    except NotFound:
        abort(404)
    flash("The token was revoked; it no longer works.", "success")
    return redirect(url_for("web.tokens"))


def register(bp) -> None:
    bp.add_url_rule("/account/tokens", view_func=tokens, methods=["GET", "POST"])
    bp.add_url_rule("/account/tokens/<token_id>/revoke", view_func=revoke_token,
                    methods=["POST"])
