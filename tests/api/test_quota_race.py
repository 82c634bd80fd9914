"""Twenty concurrent creates against the last free slot create exactly one site."""

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from chom.extensions import db
from chom.models import Site


def test_twenty_concurrent_creates_on_the_last_slot_make_one_site(clean_app, register,
                                                                  local_vps):
    account = register("Acme")
    for n in range(4):  # Starter allows 5
        assert account.create_site(f"pre{n}.example.com").status_code == 202

    def create(n: int) -> int:
        client = clean_app.test_client()
        return client.post("/api/v1/sites", headers=account.headers,
                           json={"domain": f"race{n}.example.com", "type": "html"}).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(create, range(20)))
    assert sorted(statuses) == [202] + [402] * 19
    with clean_app.app_context():
        assert db.session.scalar(select(func.count(Site.id))) == 5


def test_twenty_concurrent_creates_of_one_domain_make_one_site(clean_app, register, local_vps):
    accounts = [register(f"Org {n}") for n in range(4)]

    def create(n: int) -> int:
        account = accounts[n % 4]
        return clean_app.test_client().post(
            "/api/v1/sites", headers=account.headers,
            json={"domain": "contested.example.com", "type": "html"}).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(create, range(20)))
    assert sorted(statuses) == [202] + [409] * 19
