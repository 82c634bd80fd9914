"""Properties every plan of every site type keeps, beyond what the golden files pin."""

from __future__ import annotations

import dataclasses
import re

import pytest
from plugin_cases import ACTIONS, CASES, DOMAIN, SANDBOX_PATHS, make_site

from chom.plugin_api import HealthProbe, Plan, PutFile, RunCommand, Step

ALL = [
    pytest.param(type_name, options, action, id=f"{type_name}/{case}/{action}")
    for type_name, case, options in CASES
    for action in ACTIONS
] + [
    pytest.param(type_name, options, "deploy", id=f"{type_name}/{case}/deploy")
    for type_name, case, options in CASES if (type_name, case) == ("laravel", "git")
]
SHELL_SYNTAX = re.compile(r"[;&|`<>\n]|\$\(|\$\{|\s")
#: fields that name a place on the VPS
PATH_FIELDS = ("path", "creates", "only_if_exists", "home")


@pytest.mark.parametrize(("type_name", "options", "action"), ALL)
def test_plan_is_a_tuple_of_steps(site_types, type_name, options, action):
    plan = site_types[type_name].plan_for(action, make_site(type_name, options))
    assert isinstance(plan, Plan)
    assert isinstance(plan.steps, tuple) and plan.steps
    assert all(isinstance(step, Step) for step in plan.steps)


@pytest.mark.parametrize(("type_name", "options", "action"), ALL)
def test_commands_are_argv_never_shell_strings(site_types, type_name, options, action):
    plan = site_types[type_name].plan_for(action, make_site(type_name, options))
    for step in plan.steps:
        if isinstance(step, RunCommand):
            assert isinstance(step.argv, tuple)
            assert all(isinstance(arg, str) and arg for arg in step.argv)
            for arg in step.argv:
                assert not SHELL_SYNTAX.search(arg), f"{arg!r} in {step.argv} looks like shell"


@pytest.mark.parametrize(("type_name", "options", "action"), ALL)
def test_plans_are_deterministic(site_types, type_name, options, action):
    site_type = site_types[type_name]
    first = site_type.plan_for(action, make_site(type_name, options))
    again = site_type.plan_for(action, make_site(type_name, options))
    assert first == again
    assert first.describe() == again.describe()


@pytest.mark.parametrize(("type_name", "options", "action"), ALL)
def test_every_place_comes_from_site_paths(site_types, type_name, options, action):
    site = make_site(type_name, options, paths=SANDBOX_PATHS)
    plan = site_types[type_name].plan_for(action, site)
    names = {
        SANDBOX_PATHS.nginx_site_name,
        SANDBOX_PATHS.system_user,
        SANDBOX_PATHS.php_pool_name,
        SANDBOX_PATHS.database_name,
        SANDBOX_PATHS.database_user,
    }
    for step in plan.steps:
        fields = dataclasses.asdict(step)
        for field in PATH_FIELDS:
            if fields.get(field) is not None:
                assert fields[field].startswith(SANDBOX_PATHS.web_root) or fields[field] in (
                    SANDBOX_PATHS.access_log, SANDBOX_PATHS.error_log,
                    SANDBOX_PATHS.php_error_log, "/srv/fleet/vps1/log/php",
                    f"{SANDBOX_PATHS.logrotate_dir}/chom-php-sites"), (step, field)
        for field in ("name", "user", "run_as"):
            if fields.get(field) is not None:
                assert fields[field] in names, (step, field)
        for value in fields.values():
            if isinstance(value, str) and "/var/www" in value:
                pytest.fail(f"{step.describe()} hard-codes /var/www")
        if isinstance(step, RunCommand):
            for arg in step.argv:
                assert DOMAIN not in arg, f"{step.describe()} builds a path from the domain"


@pytest.mark.parametrize(("type_name", "case", "options"), [c[:3] for c in CASES])
def test_config_files_use_the_site_paths(site_types, type_name, case, options):
    site = make_site(type_name, options, paths=SANDBOX_PATHS)
    plan = site_types[type_name].provision_plan(site)
    configs = [getattr(step, "config", "") for step in plan.steps]
    nginx = next(c for c in configs if c.startswith("server {"))
    assert f"server_name {DOMAIN};" in nginx
    assert f"root {SANDBOX_PATHS.web_root}" in nginx
    if site_types[type_name].uses_php:
        assert f"fastcgi_pass unix:{SANDBOX_PATHS.php_socket};" in nginx
        pool = next(c for c in configs if c.startswith("["))
        assert pool.startswith(f"[{SANDBOX_PATHS.php_pool_name}]\n")
        assert f"listen = {SANDBOX_PATHS.php_socket}\n" in pool
        assert f"user = {SANDBOX_PATHS.system_user}\n" in pool


@pytest.mark.parametrize("type_name", ["html", "wordpress", "laravel"])
def test_suspend_serves_only_the_suspended_page(site_types, type_name):
    site_type = site_types[type_name]
    suspend = site_type.suspend_plan(make_site(type_name))
    page = next(step for step in suspend.steps if isinstance(step, PutFile))
    assert page.path == f"{make_site(type_name).paths.web_root}/.chom-suspended.html"
    assert "This site is suspended" in page.content
    nginx = next(step.config for step in suspend.steps if hasattr(step, "config"))
    assert "fastcgi_pass" not in nginx and "return 503;" in nginx
    resume = site_type.resume_plan(make_site(type_name))
    provision = site_type.provision_plan(make_site(type_name))
    normal = [s for s in provision.steps if type(s).__name__ == "EnsureNginxSite"]
    assert [s for s in resume.steps if type(s).__name__ == "EnsureNginxSite"] == normal


@pytest.mark.parametrize("type_name", ["wordpress", "laravel"])
def test_deprovision_undoes_provision_in_reverse(site_types, type_name):
    site = make_site(type_name)
    kinds = [type(s).__name__ for s in site_types[type_name].deprovision_plan(site).steps]
    order = ["RemoveNginxSite", "RemovePhpPool", "DropDatabase", "RemovePath", "RemoveSystemUser"]
    assert list(dict.fromkeys(k for k in kinds if k in order)) == order  # first of each kind
    assert kinds[1] == "ReloadService"


@pytest.mark.parametrize("type_name", ["wordpress", "laravel"])
def test_php_types_refuse_a_site_without_its_database_password(site_types, type_name):
    with pytest.raises(ValueError, match="database password"):
        site_types[type_name].provision_plan(make_site(type_name, database_password=None))


def _file(plan, suffix):
    return next(s.content for s in plan.steps if isinstance(s, PutFile) and s.path.endswith(suffix))


def test_wordpress_salts_are_per_site_and_stable(site_types):
    wordpress = site_types["wordpress"]
    config = _file(wordpress.provision_plan(make_site("wordpress")), "/wp-config.php")
    other = _file(
        wordpress.provision_plan(make_site("wordpress", id="another-site")), "/wp-config.php"
    )
    salts = re.findall(r"define\('(\w+_(?:KEY|SALT))', '([0-9a-f]{128})'\);", config)
    assert len(salts) == 8 and len({value for _, value in salts}) == 8
    assert all(value not in other for _, value in salts)


def test_wordpress_escapes_values_in_php(site_types):
    options = dict(CASES[3][2])
    plan = site_types["wordpress"].provision_plan(make_site("wordpress", options))
    script = _file(plan, "/.chom-install.php")
    assert "'Acme\\'s \"Blog\"'" in script
    assert "'it\\'s-a-long\\\\secret'" in script
    config = _file(
        site_types["wordpress"].provision_plan(make_site("wordpress", database_password="a'b\\c")),
        "/wp-config.php",
    )
    assert "define('DB_PASSWORD', 'a\\'b\\\\c');" in config


def test_laravel_app_key_is_32_bytes_per_site(site_types):
    import base64

    laravel = site_types["laravel"]
    env = _file(laravel.provision_plan(make_site("laravel")), "/.env")
    other = _file(laravel.provision_plan(make_site("laravel", id="another-site")), "/.env")
    (key,) = re.findall(r"^APP_KEY=base64:(\S+)$", env, re.MULTILINE)
    assert len(base64.b64decode(key)) == 32
    assert key not in other
    env = _file(laravel.provision_plan(make_site("laravel", database_password='p"$x\\')), "/.env")
    assert 'DB_PASSWORD="p\\"\\$x\\\\"\n' in env


@pytest.mark.parametrize(
    ("type_name", "options", "probe"),
    [
        ("html", {}, HealthProbe("/", 200, "served by CHOM")),
        ("html", {"index_html": "<p>mine</p>"}, HealthProbe("/", 200, None)),
        ("wordpress", {}, HealthProbe("/wp-admin/install.php", 200, "WordPress")),
        ("wordpress", CASES[3][2], HealthProbe("/wp-login.php", 200, "WordPress")),
        ("laravel", {}, HealthProbe("/", 200, "Hello from Laravel")),
        ("laravel", {"git_url": "https://example.org/a.git"}, HealthProbe("/", 200, None)),
    ],
)
def test_health_probe(site_types, type_name, options, probe):
    site = make_site(type_name, options)
    assert site_types[type_name].health_probe(site) == probe
    if probe.expect_text and type_name == "html":
        assert probe.expect_text in _file(site_types["html"].provision_plan(site), "/index.html")
