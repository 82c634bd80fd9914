"""`make run`'s embedded defaults: SQLite, jobs in a thread, the `local` VPS. The same commands
`scripts/run.sh` runs, then the main flows through the API on that database."""

from __future__ import annotations

import re

from chom import create_app
from tests.conftest import PASSWORD, Account, base_config


def test_sites_are_created_in_bulk_and_deleted_on_sqlite(tmp_path):
    app = create_app(base_config(
        tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'chom.sqlite3'}",
        REDIS_URL=None))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    demo = runner.invoke(args=["chom", "demo"])
    assert demo.exit_code == 0 and re.search(r"Demo login: \S+ / \S+", demo.output)

    client = app.test_client()
    registered = client.post("/api/v1/auth/register", json={
        "organization": "Embedded Co", "name": "Owner", "email": "owner@embedded.test",
        "password": PASSWORD})
    assert registered.status_code == 201, registered.json
    account = Account(client, registered.json["data"], PASSWORD)

    one = account.create_site("one.example.com", options={"index_html": "<p>one</p>\n"})
    assert one.status_code == 202, one.json
    bulk = account.post("/api/v1/sites/bulk", json={"sites": [
        {"domain": f"bulk{n}.example.com", "type": "html"} for n in range(3)]})
    assert bulk.status_code == 202, bulk.json
    operations = [one.json["meta"]["operation_id"], *bulk.json["meta"]["operation_ids"]]
    assert [account.wait_for_operation(o)["status"] for o in operations] == ["succeeded"] * 4
    listed = account.get("/api/v1/sites").json
    assert listed["meta"]["total"] == 4
    assert {site["status"] for site in listed["data"]} == {"active"}
    over = account.post("/api/v1/sites/bulk", json={"sites": [
        {"domain": f"over{n}.example.com", "type": "html"} for n in range(2)]})
    assert over.status_code == 402  # Starter: 5 sites, 4 in use

    deleted = account.delete(f"/api/v1/sites/{one.json['data']['id']}")
    assert account.wait_for_operation(deleted.json["data"]["id"])["status"] == "succeeded"
    assert account.get("/api/v1/sites").json["meta"]["total"] == 3
