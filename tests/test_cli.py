"""`flask chom ...`: the fleet, the idempotent demo set-up, and platform operators."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from chom.extensions import db
from chom.models import Organization, User, VpsServer
from chom.models.scoping import unscoped
from chom.services.operators import (
    DEMO_EMAIL,
    PLATFORM_ORGANIZATION_ID,
    PLATFORM_ORGANIZATION_NAME,
)
from tests.conftest import PASSWORD

DEMO_LINE = re.compile(r"Demo login: (?P<email>\S+) / (?P<password>\S+)")


@pytest.fixture
def cli(clean_app):
    runner = clean_app.test_cli_runner()

    def invoke(*args, **kwargs):
        return runner.invoke(args=["chom", *args], **kwargs)

    return invoke


def _fleet(app) -> dict[str, VpsServer]:
    with app.app_context():
        return {vps.name: vps for vps in db.session.scalars(select(VpsServer))}


# --- vps --------------------------------------------------------------------------------------


def test_vps_add_with_every_option_then_list(cli, clean_app):
    added = cli(
        "vps",
        "add",
        "vps1.example.net",
        "--transport",
        "local",
        "--port",
        "2222",
        "--user",
        "deploy",
        "--capacity",
        "7",
        "--dedicated",
    )
    assert added.exit_code == 0, added.output
    assert "vps1.example.net" in added.output

    vps = _fleet(clean_app)["vps1.example.net"]
    assert (vps.host, vps.port, vps.ssh_user, vps.capacity, vps.kind) == (
        "vps1.example.net",
        2222,
        "deploy",
        7,
        "dedicated",
    )

    listed = cli("vps", "list")
    assert listed.exit_code == 0, listed.output
    [line] = [line for line in listed.output.splitlines() if "vps1.example.net" in line]
    assert "deploy@vps1.example.net:2222" in line
    assert "dedicated" in line
    assert "capacity 7" in line


def test_vps_add_defaults_to_a_shared_server(cli, clean_app):
    assert cli("vps", "add", "vps2.example.net", "--transport", "local").exit_code == 0
    vps = _fleet(clean_app)["vps2.example.net"]
    assert (vps.port, vps.ssh_user, vps.kind, vps.transport) == (22, "root", "shared", "local")


def test_vps_add_over_ssh_to_nothing_fails_clearly_and_saves_nothing(cli, clean_app):
    result = cli("vps", "add", "127.0.0.1", "--port", "1", "--name", "nowhere")
    assert result.exit_code != 0
    assert "Could not reach 127.0.0.1:1 over SSH" in result.output
    assert "Traceback" not in result.output
    assert _fleet(clean_app) == {}


def test_vps_add_same_name_twice_fails_clearly(cli, clean_app):
    assert cli("vps", "add", "vps3.example.net", "--transport", "local").exit_code == 0
    again = cli("vps", "add", "vps3.example.net", "--transport", "local", "--capacity", "9")
    assert again.exit_code != 0
    assert "already exists" in again.output
    assert "Traceback" not in again.output
    assert _fleet(clean_app)["vps3.example.net"].capacity == 50  # the first one, untouched


def test_vps_add_with_invalid_settings_json_fails_cleanly(cli, clean_app):
    result = cli(
        "vps", "add", "vps4.example.net", "--transport", "local", "--settings", "{not json"
    )
    assert result.exit_code == 2
    assert "--settings" in result.output
    assert "JSON" in result.output
    assert "Traceback" not in result.output
    assert _fleet(clean_app) == {}


def test_vps_add_stores_settings_json(cli, clean_app):
    result = cli(
        "vps",
        "add",
        "vps5.example.net",
        "--transport",
        "local",
        "--settings",
        '{"web_root_base": "/srv/www"}',
    )
    assert result.exit_code == 0, result.output
    assert _fleet(clean_app)["vps5.example.net"].settings == {"web_root_base": "/srv/www"}


def test_vps_add_with_a_host_key_that_is_no_key_says_so(cli, clean_app):
    result = cli("vps", "add", "127.0.0.1", "--name", "badkey", "--host-key", "nonsense")
    assert result.exit_code == 1
    assert "host_key: Give the key as `type base64`" in result.output
    assert "badkey" not in _fleet(clean_app)


def test_vps_check_records_the_stack_it_finds(cli, clean_app):
    assert cli("vps", "add", "here", "--transport", "local").exit_code == 0
    result = cli("vps", "check", "here")
    assert result.exit_code == 0, result.output
    assert "here has the stack CHOM needs." in result.output
    stack = _fleet(clean_app)["here"].settings["stack"]
    assert "nginx" in stack and stack["bash"] in result.output


def test_vps_check_names_what_a_vps_lacks_and_records_it(cli, clean_app, tmp_path, monkeypatch):
    assert cli("vps", "add", "bare", "--transport", "local").exit_code == 0
    only_sh = tmp_path / "bin"
    only_sh.mkdir()
    (only_sh / "sh").symlink_to("/bin/sh")
    monkeypatch.setenv("PATH", str(only_sh))  # the local VPS's programs find nothing else
    result = cli("vps", "check", "bare")
    assert result.exit_code == 1
    assert "bare lacks nginx, database, php-fpm, bash 4.4 or later" in result.output
    assert _fleet(clean_app)["bare"].settings["stack"] == {}


def test_vps_check_of_an_unknown_name(cli):
    result = cli("vps", "check", "nowhere")
    assert result.exit_code == 1 and "No VPS named 'nowhere'" in result.output


def test_vps_list_of_an_empty_fleet(cli):
    result = cli("vps", "list")
    assert result.exit_code == 0
    assert result.output.strip() == ""


# --- demo -------------------------------------------------------------------------------------


def _demo(cli) -> tuple[str, str, str]:
    result = cli("demo")
    assert result.exit_code == 0, result.output
    match = DEMO_LINE.search(result.output)
    assert match, result.output
    return match["email"], match["password"], result.output


def test_demo_is_idempotent(cli, clean_app):
    email, password, first = _demo(cli)
    email_again, password_again, second = _demo(cli)
    assert email == email_again == DEMO_EMAIL
    assert password == password_again
    assert "API token:" in first
    assert "API token:" not in second  # nothing new was created

    fleet = _fleet(clean_app)
    assert list(fleet) == ["local"]
    assert fleet["local"].transport == "local"
    with clean_app.app_context():
        demo_users = db.session.scalar(select(func.count(User.id)).where(User.email == DEMO_EMAIL))
    assert demo_users == 1


def test_demo_leaves_an_existing_fleet_alone(cli, clean_app):
    assert cli("vps", "add", "vps6.example.net", "--transport", "local").exit_code == 0
    _demo(cli)
    assert list(_fleet(clean_app)) == ["vps6.example.net"]


def test_demo_login_works_on_the_api(cli, client):
    email, password, _ = _demo(cli)
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    token = response.get_json()["data"]["token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    data = me.get_json()["data"]
    assert data["user"]["email"] == DEMO_EMAIL
    assert data["user"]["role"] == "owner"
    assert data["organization"]["name"] == "Demo Agency"


def test_demo_login_answer_names_the_owner_role(cli, client):
    """POST /auth/login answers with the user's role and organization, as /auth/me does.

    (A regression guard: the membership must be read outside the request's deny-all scope.)
    """
    email, password, _ = _demo(cli)
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["user"]["role"] == "owner"
    assert data["organization"]["name"] == "Demo Agency"


# --- operators --------------------------------------------------------------------------------


def _operator_create(cli, email: str, password: str = PASSWORD):
    return cli("operator", "create", email, "--name", "Olga", input=f"{password}\n{password}\n")


def test_operator_create_makes_a_new_operator(cli, clean_app, client):
    result = _operator_create(cli, "olga@ops.test")
    assert result.exit_code == 0, result.output
    assert "olga@ops.test" in result.output
    with clean_app.app_context():
        user = db.session.scalar(select(User).where(User.email == "olga@ops.test"))
        assert user.is_operator is True
        assert user.name == "Olga"
    # The password given at the prompt is the one that logs in.
    login = client.post("/login", data={"email": "olga@ops.test", "password": PASSWORD})
    assert login.status_code == 302


def test_a_new_operator_reaches_the_fleet_api_through_the_platform_organization(
        cli, clean_app, client):
    for email in ("olga@ops.test", "oskar@ops.test"):
        assert _operator_create(cli, email).exit_code == 0
    login = client.post("/api/v1/auth/login",
                        json={"email": "oskar@ops.test", "password": PASSWORD})
    assert login.status_code == 200, login.get_json()
    bearer = {"Authorization": f"Bearer {login.get_json()['data']['token']}"}
    assert client.get("/api/v1/fleet", headers=bearer).status_code == 200
    me = client.get("/api/v1/auth/me", headers=bearer).get_json()["data"]
    assert me["organization"]["name"] == PLATFORM_ORGANIZATION_NAME
    assert me["user"]["role"] == "owner"
    members = client.get("/api/v1/members", headers=bearer).get_json()["data"]
    assert sorted(m["user"]["email"] for m in members) == ["olga@ops.test", "oskar@ops.test"]


def test_operator_create_promotes_an_existing_user(cli, register, client):
    account = register("Hosting Co")
    assert account.get("/api/v1/auth/me").get_json()["data"]["user"]["is_operator"] is False
    result = _operator_create(cli, account.email.upper())
    assert result.exit_code == 0, result.output
    login = client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": account.password}
    )
    assert login.status_code == 200
    token = login.get_json()["data"]["token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.get_json()["data"]["user"]["is_operator"] is True
    # They keep their own organization; none is made for operators.
    assert me.get_json()["data"]["organization"]["name"] == "Hosting Co"
    with client.application.app_context(), unscoped():
        assert db.session.get(Organization, PLATFORM_ORGANIZATION_ID) is None


def test_operator_create_refuses_a_weak_password(cli, clean_app):
    result = _operator_create(cli, "weak@ops.test", password="short")
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    with clean_app.app_context():
        assert db.session.scalar(select(User).where(User.email == "weak@ops.test")) is None


def test_operator_create_needs_matching_confirmation(cli, clean_app):
    result = cli("operator", "create", "typo@ops.test", input=f"{PASSWORD}\n{PASSWORD}x\n")
    assert result.exit_code != 0
    with clean_app.app_context():
        assert db.session.scalar(select(User).where(User.email == "typo@ops.test")) is None


def test_plan_prints_the_steps_and_touches_nothing(cli, clean_app):
    assert cli("vps", "add", "planner", "--transport", "local").exit_code == 0
    result = cli("plan", "Shop.Example.COM", "--type", "wordpress")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("provision shop.example.com (wordpress) on planner:")
    assert "ensure database" in result.output and "reload nginx" in result.output
    with clean_app.app_context():
        from chom.models import Site

        assert db.session.scalar(select(func.count(Site.id))) == 0


def test_plan_reports_bad_input_clearly(cli, clean_app):
    assert cli("vps", "add", "planner", "--transport", "local").exit_code == 0
    for args, message in ((("bad domain", "--type", "html"), "bare host name"),
                          (("ok.example.com", "--type", "joomla"), "Unknown site type"),
                          (("ok.example.com", "--type", "html", "--vps", "nope"), "No VPS")):
        result = cli("plan", *args)
        assert result.exit_code != 0 and message in result.output, result.output
        assert "Traceback" not in result.output
