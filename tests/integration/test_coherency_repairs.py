"""A drifted site gets one repair at a time, however often the check runs before it is done."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from chom.extensions import db
from chom.models import Operation
from chom.models.scoping import unscoped
from chom.services import coherency, fleet, operators
from tests.workers import RqWorkers


def test_a_second_check_does_not_queue_a_second_repair(clean_app, tmp_path):
    workers = RqWorkers(tmp_path)  # Redis, and no worker yet: what is queued stays queued
    app = workers.app
    root = tmp_path / "vps"
    with app.app_context():
        fleet.add_vps(name="drifting", host="localhost", transport="local", capacity=10,
                      ssh_user="", settings=operators.local_vps_settings(str(root)))
    account = workers.account("Drift Co")
    created = account.create_site("drift.example.com")
    workers.start(1)
    try:
        account.wait_for_operation(created.json["meta"]["operation_id"], timeout=60)
        workers.stop()
        Path(root, "etc/nginx/sites-enabled/drift.example.com.conf").unlink()
        with app.app_context():
            first = coherency.repair(coherency.check_sites())
            again = coherency.repair(coherency.check_sites())
            with unscoped():
                repairs = db.session.scalars(select(Operation).where(
                    Operation.kind == "repair")).all()
        assert len(first) == 1 and again == [] and len(repairs) == 1
        workers.processes.clear()
        workers.start(1)
        done = account.wait_for_operation(str(first[0].id), timeout=60)
        assert done["status"] == "succeeded", done["log"]
        assert Path(root, "etc/nginx/sites-enabled/drift.example.com.conf").exists()
        with app.app_context():
            assert all(report.coherent for report in coherency.check_sites())
    finally:
        workers.stop()
