"""A certificate a week from its end is announced to the organization once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from chom.extensions import db
from chom.models import Site
from chom.models.base import utcnow
from chom.models.scoping import unscoped
from chom.services.expiry_warnings import warn_expiring_certificates
from tests.api.test_notifications import _channel, _verify, receiver  # noqa: F401 (fixture)


def _set_expiry(app, domain, when):
    with app.app_context(), unscoped():
        site = db.session.scalar(select(Site).where(Site.domain == domain))
        site.ssl_enabled, site.ssl_expires_at = True, when
        db.session.commit()


def test_certificates_within_a_week_are_announced_once(clean_app, register, local_vps,
                                                       receiver):  # noqa: F811
    owner = register("Expiring")
    for domain in ("soon.example.com", "later.example.com", "plain.example.com"):
        owner.wait_for_operation(owner.create_site(domain).json["meta"]["operation_id"])
    channel = _channel(owner, receiver.url + "/ssl", events=["ssl.expiring"])
    now = utcnow()
    _set_expiry(clean_app, "soon.example.com", now + timedelta(days=5, hours=1))
    _set_expiry(clean_app, "later.example.com", now + timedelta(days=120))

    with clean_app.app_context():
        assert warn_expiring_certificates(now) == 1
        assert warn_expiring_certificates(now + timedelta(hours=6)) == 0  # once per certificate
    (request,) = receiver.wait_for(1)
    event = _verify(channel["secret"], request)
    assert event["type"] == "ssl.expiring"
    assert event["data"]["domain"] == "soon.example.com" and event["data"]["days_left"] == 5

    # A renewed certificate that again nears its end is announced again.
    _set_expiry(clean_app, "soon.example.com", now + timedelta(days=90))
    with clean_app.app_context():
        assert warn_expiring_certificates(now + timedelta(days=84)) == 1


def test_a_renewal_that_fails_is_announced(clean_app, register, local_vps, receiver,  # noqa: F811
                                           monkeypatch):
    monkeypatch.setitem(clean_app.config, "ACME_DIRECTORY_URL", "https://127.0.0.1:9/dir")
    owner = register("Renewing")
    created = owner.create_site("renew.example.com")
    owner.wait_for_operation(created.json["meta"]["operation_id"])
    channel = _channel(owner, receiver.url + "/renewals", events=["ssl.renewal_failed"])
    _set_expiry(clean_app, "renew.example.com", utcnow() + timedelta(days=20))
    operation = owner.post(f"/api/v1/sites/{created.json['data']['id']}/ssl").json["data"]
    assert owner.wait_for_operation(operation["id"])["status"] == "failed"
    (request,) = receiver.wait_for(1)
    event = _verify(channel["secret"], request)
    assert event["type"] == "ssl.renewal_failed"
    assert event["data"]["domain"] == "renew.example.com" and event["data"]["error"]
