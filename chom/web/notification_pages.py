"""Console page for notification channels (admins and owners): list them with their last
delivery, add a webhook or an email address, choose events, switch on and off, test, delete."""

from __future__ import annotations

from flask import abort, flash, render_template, request, url_for
from flask_login import login_required

from chom.services import notifications
from chom.services.errors import NotFound, PermissionDenied, ValidationFailed
from chom.web.context import act_then_redirect, console_actor

KINDS = {"webhook": "Webhook (signed POST)", "email": "Email"}


def _chosen_events() -> list[str]:
    return request.form.getlist("events")


def _page(actor, *, form: dict | None = None, errors: dict | None = None,
          created=None, secret: str | None = None, status: int = 200):
    return render_template(
        "notifications.html", actor=actor, channels=notifications.list_channels(actor),
        events=notifications.EVENTS, kinds=KINDS,
        form=form or {"kind": "webhook", "target": "", "events": []},
        errors=errors or {}, created=created, secret=secret), status


@login_required
def notifications_page():
    try:
        return _page(console_actor())
    except PermissionDenied:
        abort(403)


@login_required
def create_channel():
    """Add a channel; a webhook's signing secret is shown in this answer only (never stored
    in the session, nor shown again)."""
    actor = console_actor()
    form = {"kind": request.form.get("kind", ""), "target": request.form.get("target", "").strip(),
            "events": _chosen_events()}
    try:
        channel, secret = notifications.create_channel(actor, **form)
    except PermissionDenied:
        abort(403)
    except ValidationFailed as error:
        return _page(actor, form=form, errors=error.errors, status=422)
    flash(f"Channel added: {channel.target}.", "success")
    return _page(actor, created=channel, secret=secret, status=201)


def _act(channel_id, action, success: str):
    """Run one change to a channel; another organization's channel is a 404."""
    return act_then_redirect(lambda actor: action(actor, channel_id), success,
                             url_for("web.notifications"))


@login_required
def update_channel(channel_id):
    """Change where a channel delivers and which events it wants."""
    changes = {"events": _chosen_events()}
    if request.form.get("target", "").strip():
        changes["target"] = request.form["target"].strip()
    return _act(channel_id, lambda actor, cid: notifications.update_channel(
        actor, cid, **changes), "Channel saved.")


@login_required
def set_enabled(channel_id):
    enabled = request.form.get("enabled") == "1"
    return _act(channel_id, lambda actor, cid: notifications.update_channel(
        actor, cid, enabled=enabled), "Channel enabled." if enabled else "Channel disabled.")


@login_required
def send_test(channel_id):
    return _act(channel_id, notifications.send_test,
                "Test delivery queued; its outcome shows here once it is sent.")


@login_required
def delete_channel(channel_id):
    """GET asks for confirmation; POST deletes."""
    if request.method == "POST":
        return _act(channel_id, notifications.delete_channel, "Channel deleted.")
    try:
        channel = notifications.get_channel(console_actor(), channel_id)
    except PermissionDenied:
        abort(403)
    except NotFound:
        abort(404)
    return render_template("notification_delete.html", channel=channel)


def register(bp) -> None:
    bp.add_url_rule("/notifications", endpoint="notifications", view_func=notifications_page)
    bp.add_url_rule("/notifications", view_func=create_channel, methods=["POST"])
    bp.add_url_rule("/notifications/<channel_id>", view_func=update_channel, methods=["POST"])
    bp.add_url_rule("/notifications/<channel_id>/enabled", view_func=set_enabled,
                    methods=["POST"])
    bp.add_url_rule("/notifications/<channel_id>/test", view_func=send_test, methods=["POST"])
    bp.add_url_rule("/notifications/<channel_id>/delete", view_func=delete_channel,
                    methods=["GET", "POST"])
