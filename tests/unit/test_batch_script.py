"""Several plans compiled into ONE bash program (a batch), applied for real on this machine."""

import subprocess

import pytest

from chom.integration.batch import apply_batch, compile_batch
from chom.integration.executor import TransportError
from chom.integration.plan_script import Profile
from chom.integration.transports.local import LocalTransport
from chom.plugin_api import (
    EnsureDirectory,
    EnsureNginxSite,
    Plan,
    PutFile,
    ReloadService,
    RemovePath,
    RunCommand,
)
from chom.services.operators import local_vps_settings


@pytest.fixture
def vps(tmp_path):
    settings = local_vps_settings(str(tmp_path))
    # Every reload leaves a line in reloads.log, so the test can count them.
    log = tmp_path / "reloads.log"
    settings["commands"]["nginx_reload"] = ["bash", "-c", f"echo nginx >> {log}"]
    settings["commands"]["php_fpm_reload"] = ["bash", "-c", f"echo php-$0 >> {log}",
                                              "{php_version}"]
    tests = tmp_path / "nginx-tests.log"
    settings["commands"]["nginx_test"] = ["bash", "-c", f"echo test >> {tests}"]
    transport = LocalTransport(vps=type("V", (), {"settings": settings}),
                               config={"CHOM_LOCAL_VPS_ROOT": str(tmp_path)})
    return tmp_path, settings, transport


def _nginx_tests(root):
    path = root / "nginx-tests.log"
    return len(path.read_text().split()) if path.exists() else 0


def _reloads(root):
    path = root / "reloads.log"
    return path.read_text().split() if path.exists() else []


def _site(root, name, *extra, reloads=(ReloadService("nginx"),)):
    web = root / "var/www" / name
    return Plan("provision", (
        EnsureDirectory(str(web)),
        PutFile(str(web / "index.html"), f"<h1>{name}</h1>\n"),
        *extra,
        EnsureNginxSite(f"{name}.conf", "server { listen 80; }\n"),
        *reloads,
    ))


def test_every_group_is_applied_and_nginx_reloads_once(vps):
    root, settings, transport = vps
    plans = [_site(root, f"s{i}.example.com") for i in range(5)]
    began, seen = [], []
    results = apply_batch(transport, plans, settings, on_begin=lambda g, n: began.append((g, n)),
                          on_step=lambda g, outcome: seen.append((g, outcome.index)))
    assert [r.error for r in results] == [None] * 5
    assert all([o.result for o in r.outcomes] == ["changed"] * 4 for r in results)
    assert _reloads(root) == ["nginx"]
    assert _nginx_tests(root) == 1  # one `nginx -t` for the five server blocks
    for i in range(5):
        assert (root / f"var/www/s{i}.example.com/index.html").read_text() \
            == f"<h1>s{i}.example.com</h1>\n"
        assert (root / f"etc/nginx/sites-enabled/s{i}.example.com.conf").exists()
    # Each group's steps are reported in order, begin before outcome.
    for g in range(5):
        assert [n for gg, n in began if gg == g] == [1, 2, 3, 4]
        assert [n for gg, n in seen if gg == g] == [1, 2, 3, 4]
    # Applying again converges; the reload still runs (an interrupted run must be finished).
    again = apply_batch(transport, plans, settings)
    assert all([o.result for o in r.outcomes] == ["unchanged"] * 3 + ["changed"]
               for r in again)
    assert _reloads(root) == ["nginx", "nginx"]


def test_a_failing_step_ends_its_own_group_only(vps):
    root, settings, transport = vps
    plans = [
        _site(root, "a.example.com"),
        _site(root, "b.example.com", RunCommand(("bash", "-c", "echo boom >&2; exit 1"))),
        _site(root, "c.example.com"),
    ]
    results = apply_batch(transport, plans, settings)
    assert results[0].error is None and results[2].error is None
    failure = results[1].error
    assert failure.step_index == 3 and "boom" in str(failure)
    assert [o.result for o in results[1].outcomes] == ["changed", "changed", "failed"]
    assert not (root / "etc/nginx/sites-enabled/b.example.com.conf").exists()
    assert (root / "etc/nginx/sites-enabled/c.example.com.conf").exists()
    assert _reloads(root) == ["nginx"]


def test_a_broken_server_block_is_rolled_back_and_fails_only_its_group(vps):
    root, settings, transport = vps
    apply_batch(transport, [_site(root, "keep.example.com")], settings)
    conf = root / "etc/nginx/sites-enabled/keep.example.com.conf"
    before = conf.read_text()
    # `nginx -t` fails only while the broken block is on disk.
    settings["commands"]["nginx_test"] = [
        "bash", "-c", f"echo test >> {root}/nginx-tests.log; "
        f"! grep -q garbage {root}/etc/nginx/sites-enabled/*.conf"]
    broken = Plan("provision", (EnsureNginxSite("keep.example.com.conf", "garbage {\n"),
                                ReloadService("nginx")))
    plans = [_site(root, "first.example.com"), broken, _site(root, "fine.example.com")]
    tests_before = _nginx_tests(root)
    results = apply_batch(transport, plans, settings)
    assert results[1].error.step_index == 1 and "nginx" in str(results[1].error)
    assert [o.result for o in results[1].outcomes] == ["failed"]
    assert results[0].error is None and results[2].error is None
    assert [o.result for o in results[2].outcomes] == ["changed"] * 4
    assert conf.read_text() == before
    assert not list(root.glob("etc/nginx/sites-enabled/*.chom-previous"))
    for name in ("first", "fine"):
        assert (root / f"etc/nginx/sites-enabled/{name}.example.com.conf").exists()
    # The batch's one test failed; then each block was tested alone.
    assert _nginx_tests(root) - tests_before == 1 + 3
    assert _reloads(root) == ["nginx", "nginx"]


def test_no_reload_when_every_group_failed_before_it(vps):
    root, settings, transport = vps
    plans = [Plan("provision", (RunCommand(("false",)), ReloadService("nginx")))] * 2
    results = apply_batch(transport, plans, settings)
    assert [r.error.step_index for r in results] == [1, 1]
    assert _reloads(root) == []


def test_distinct_reloads_each_once_and_mid_plan_reloads_stay_in_place(vps):
    root, settings, transport = vps
    php = (ReloadService("php-fpm", php_version="8.2"), ReloadService("nginx"))
    gone = root / "var/www/gone"
    gone.mkdir(parents=True)
    deprovision = Plan("deprovision", (ReloadService("nginx"), RemovePath(str(gone))))
    plans = [_site(root, "p1.example.com", reloads=php), deprovision,
             _site(root, "p2.example.com", reloads=php)]
    results = apply_batch(transport, plans, settings)
    assert [r.error for r in results] == [None] * 3
    # The deprovision's reload ran in place (before removing what nginx served); the two
    # provisions' trailing reloads ran once each, at the end.
    assert _reloads(root) == ["nginx", "php-8.2", "nginx"]
    assert not gone.exists()
    assert [o.index for o in results[0].outcomes] == [1, 2, 3, 4, 5]


def test_a_failing_reload_fails_every_group_that_needed_it(vps):
    root, settings, transport = vps
    settings["commands"]["nginx_reload"] = ["false"]
    results = apply_batch(transport, [_site(root, "x.example.com"),
                                      _site(root, "y.example.com")], settings)
    assert [r.error.step_index for r in results] == [4, 4]


def test_a_program_cut_short_is_a_transport_error(vps, monkeypatch):
    root, settings, transport = vps
    settings["commands"]["nginx_reload"] = ["bash", "-c", "kill -9 $PPID"]
    with pytest.raises(TransportError):
        apply_batch(transport, [_site(root, "k.example.com")], settings)


def test_compiled_batch_is_valid_bash(tmp_path):
    plans = [(g, _site(tmp_path, f"v{g}.example.com")) for g in range(3)]
    script = compile_batch(plans, Profile(local_vps_settings(str(tmp_path))))
    assert subprocess.run(["bash", "-n"], input=script.encode(), check=False).returncode == 0
