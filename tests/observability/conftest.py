"""Helpers for the scrape tests: extra apps with their own settings, and a scrape parser."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from chom import create_app
from chom.extensions import db
from tests.conftest import base_config

LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}


@pytest.fixture
def make_app(clean_app, tmp_path):
    """`make_app(METRICS_IP_WHITELIST=...)` → a new app on the session's (migrated) database."""
    made = []

    def _make(**overrides):
        app = create_app(base_config(tmp_path / f"app{len(made)}", **overrides))
        made.append(app)
        return app

    yield _make
    for app in made:
        with app.app_context():
            db.engine.dispose()


def scrape(client, remote_addr: str = "127.0.0.1", **kwargs):
    return client.get("/prometheus/metrics", environ_base={"REMOTE_ADDR": remote_addr}, **kwargs)


def samples(text: str) -> dict[str, list]:
    """Family name → its samples, from Prometheus text."""
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def value(text: str, sample_name: str, **labels) -> float | None:
    """The value of the one sample named `sample_name` whose labels include `labels`."""
    found = [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) <= 1, (sample_name, labels, found)
    return found[0] if found else None
