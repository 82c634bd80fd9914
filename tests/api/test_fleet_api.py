"""The fleet API: platform operators see every VPS with its capacity and use, add VPSes and
check their stack again."""

import contextlib
import socket

import pytest

from chom.services import operators


def _operator(clean_app, account):
    with clean_app.app_context():
        operators.create_operator(email=account.email, name="Ops", password=account.password)
    return account


def test_operators_list_every_vps_with_its_use(clean_app, register, local_vps):
    ops = _operator(clean_app, register("Platform Co"))
    customer = register("Customer Co")
    for domain in ("one.example.com", "two.example.com"):
        created = customer.create_site(domain)
        customer.wait_for_operation(created.json["meta"]["operation_id"])
    listed = ops.get("/api/v1/fleet")
    assert listed.status_code == 200
    assert listed.json["data"] == [{
        "id": local_vps["id"], "name": "local-test", "host": "localhost", "port": 22,
        "transport": "local", "kind": "shared", "status": "active", "capacity": 100,
        "used": 2}]
    # A customer, even an organization's owner, is no operator.
    assert customer.get("/api/v1/fleet").status_code == 403
    assert customer.get(f"/api/v1/fleet/{local_vps['id']}/metrics").status_code == 403


def test_an_unknown_vps_or_range_is_a_clear_error(clean_app, register, local_vps):
    ops = _operator(clean_app, register("Platform Co"))
    assert ops.get("/api/v1/fleet/not-a-uuid/metrics").status_code == 404
    missing = ops.get("/api/v1/fleet/00000000-0000-0000-0000-000000000000/metrics")
    assert missing.status_code == 404 and missing.json["title"]
    bad = ops.get(f"/api/v1/fleet/{local_vps['id']}/metrics?range=2y")
    assert bad.status_code == 422 and "range" in str(bad.json["errors"])


class CountingListener:
    """A loopback port that counts the connections made to it (and answers none)."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.accepted = 0
        self.socket.settimeout(0.2)

    def count(self) -> int:
        """The connections made so far; the listener is closed after."""
        with self.socket, contextlib.suppress(TimeoutError):
            while True:
                self.socket.accept()[0].close()
                self.accepted += 1
        return self.accepted


def _new_vps(**overrides) -> dict:
    return {"name": "api-added", "host": "127.0.0.1", "port": 1, **overrides}


def test_only_operators_add_a_vps_and_no_one_else_makes_it_connect(clean_app, register):
    listener = CountingListener()
    customer = register("Customer Co")
    answer = customer.post("/api/v1/fleet", json=_new_vps(port=listener.port))
    assert answer.status_code == 403
    assert listener.count() == 0
    assert _operator(clean_app, register("Platform Co")).get("/api/v1/fleet").json["data"] == []


@pytest.mark.parametrize(("field", "value"), [
    ("name", "bad name; rm"), ("host", "evil host"), ("host", "-oProxyCommand=x"),
    ("port", 0), ("port", 70000), ("ssh_user", "root; id"), ("capacity", 0),
    ("settings", {"ssh_key_path": "/etc/shadow"}), ("settings", {"root": "/"}),
    ("surprise", True),
])
def test_a_vps_given_badly_is_refused_before_any_connection(clean_app, register, field, value):
    ops = _operator(clean_app, register("Platform Co"))
    answer = ops.post("/api/v1/fleet", json=_new_vps(**{field: value}))
    assert answer.status_code == 422, answer.json
    assert field in answer.json["errors"], answer.json


def test_an_unreachable_vps_is_a_conflict_and_nothing_is_saved(clean_app, register):
    ops = _operator(clean_app, register("Platform Co"))
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    answer = ops.post("/api/v1/fleet", json=_new_vps(port=port))
    assert answer.status_code == 409 and "Could not reach" in answer.json["detail"]
    assert ops.get("/api/v1/fleet").json["data"] == []


@pytest.mark.parametrize("host_key", ["ssh-ed25519 AAAA", "ssh-ed25519", "nonsense",
                                      "ssh-ed25519 !!!notbase64", "ssh-unknown AAAAC3Nz"])
def test_a_host_key_that_is_no_key_is_refused(clean_app, register, host_key):
    ops = _operator(clean_app, register("Platform Co"))
    answer = ops.post("/api/v1/fleet", json=_new_vps(host_key=host_key))
    assert answer.status_code == 422, answer.json
    assert "host_key" in answer.json["errors"]


def test_operators_check_a_vps_stack_again(clean_app, register, local_vps):
    ops = _operator(clean_app, register("Platform Co"))
    checked = ops.post(f"/api/v1/fleet/{local_vps['id']}/check")
    assert checked.status_code == 200, checked.json
    data = checked.json["data"]
    assert data["missing"] == [] and "nginx" in data["stack"] and data["stack"]["bash"]
    assert data["vps"]["id"] == local_vps["id"] and data["vps"]["used"] == 0
    assert ops.post("/api/v1/fleet/00000000-0000-0000-0000-000000000000/check").status_code \
        == 404
    assert register("Customer Co").post(
        f"/api/v1/fleet/{local_vps['id']}/check").status_code == 403
