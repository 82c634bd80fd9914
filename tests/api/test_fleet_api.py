"""The fleet API: platform operators see every VPS with its capacity and use."""

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
