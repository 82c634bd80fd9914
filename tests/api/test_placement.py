"""Placement: a bulk create chooses the VPSes one-by-one creates would, locking each once."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from chom.extensions import db
from chom.models import Site, Tenant, VpsServer
from chom.models.scoping import unscoped
from chom.services import fleet, operators
from chom.services.errors import NoCapacity

# name: (capacity, kind)
FLEET = {"vps-a": (3, "shared"), "vps-b": (5, "shared"), "vps-c": (4, "shared"),
         "vps-d": (2, "dedicated"), "vps-e": (6, "dedicated")}


@pytest.fixture
def placed_fleet(clean_app, tmp_path):
    with clean_app.app_context():
        for name, (capacity, kind) in FLEET.items():
            fleet.add_vps(name=name, host="localhost", transport="local", capacity=capacity,
                          ssh_user="", dedicated=kind == "dedicated",
                          settings=operators.local_vps_settings(str(tmp_path / name)))
    return clean_app


def _tenant(organization: str) -> Tenant:
    return db.session.scalar(select(Tenant).join(Tenant.organization).where(
        Tenant.organization.has(name=organization)))


def _one_by_one(tenant: Tenant, *, dedicated: bool, count: int) -> list[str]:
    """What `count` single creates would choose: each site added before the next is placed."""
    names = []
    for n in range(count):
        vps = fleet.allocate_vps_for(tenant, dedicated=dedicated)
        db.session.add(Site(tenant_id=tenant.id, domain=f"s{n}.example.com", type="html",
                            vps_id=vps.id, status="pending", options={}))
        db.session.flush()
        names.append(vps.name)
    return names


@pytest.mark.parametrize("dedicated, count", [(False, 1), (False, 7), (False, 12),
                                              (True, 1), (True, 5), (True, 8)])
def test_bulk_placement_matches_one_by_one(placed_fleet, register, dedicated, count):
    register("Placed Co")
    with placed_fleet.app_context():
        tenant = _tenant("Placed Co")
        expected = _one_by_one(tenant, dedicated=dedicated, count=count)
        db.session.rollback()
        assert [vps.name for vps in fleet.place_sites(
            tenant, dedicated=dedicated, count=count)] == expected
        db.session.rollback()
    # Spread over the most room first, a dedicated plan's spare kept once it has a site.
    if count == 12:
        assert sorted(expected) == sorted(["vps-a"] * 3 + ["vps-b"] * 5 + ["vps-c"] * 4)
    if dedicated and count == 8:
        assert expected == ["vps-e"] * 6 + ["vps-d"] * 2


def test_more_sites_than_the_fleet_takes_is_no_capacity(placed_fleet, register):
    register("Full Co")
    with placed_fleet.app_context():
        tenant = _tenant("Full Co")
        with pytest.raises(NoCapacity):
            fleet.place_sites(tenant, dedicated=False, count=13)
        db.session.rollback()
        assert fleet.place_sites(tenant, dedicated=False, count=4, vps_name="vps-c") \
            == [fleet.find_vps("vps-c")] * 4
        db.session.rollback()
        with pytest.raises(NoCapacity, match="vps-c"):
            fleet.place_sites(tenant, dedicated=False, count=5, vps_name="vps-c")
        db.session.rollback()


def test_a_bulk_create_beyond_the_fleet_creates_nothing(placed_fleet, register):
    account = register("Over Co")
    with placed_fleet.app_context():
        tenant = _tenant("Over Co")
        tenant.plan = "pro"  # 25 sites: the shared fleet's 12 places are the limit
        db.session.commit()
    answer = account.post("/api/v1/sites/bulk", json={"sites": [
        {"domain": f"o{n}.example.com", "type": "html"} for n in range(13)]})
    assert answer.status_code == 503 and answer.json["type"].endswith("no-capacity")
    assert account.get("/api/v1/sites").json["meta"]["total"] == 0


def test_concurrent_bulk_creates_never_overfill_or_deadlock(placed_fleet, register):
    """Six organizations ask for 3 sites each at once; the shared fleet has 12 places."""
    accounts = [register(f"Rush {n}") for n in range(6)]

    def bulk(n: int) -> int:
        return placed_fleet.test_client().post(
            "/api/v1/sites/bulk", headers=accounts[n].headers,
            json={"sites": [{"domain": f"r{n}-{i}.example.com", "type": "html"}
                            for i in range(3)]}).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(bulk, range(6)))
    assert sorted(statuses) == [202] * 4 + [503] * 2  # all or nothing, never a 500
    with placed_fleet.app_context(), unscoped():
        per_vps = dict(db.session.execute(
            select(VpsServer.name, func.count(Site.id)).join(Site.vps)
            .where(Site.deleted_at.is_(None)).group_by(VpsServer.name)).all())
    assert per_vps == {"vps-a": 3, "vps-b": 5, "vps-c": 4}
