"""The plan compiled into one bash program, applied for real on this machine (local)."""

import base64
import os
import pwd
import signal
import subprocess
import time

import pytest

from chom.integration.executor import PlanFailed, apply_plan
from chom.integration.plan_script import Profile, UnsafeStep, compile_plan, step_function
from chom.log_context import correlation_id
from chom.plugin_api import (
    EnsureDatabase,
    EnsureDirectory,
    EnsureNginxSite,
    EnsureOwner,
    Plan,
    PutFile,
    ReloadService,
    RemovePath,
    RunCommand,
    RunSql,
)
from chom.services.operators import local_vps_settings


def _plan(root, marker="hello"):
    site = root / "var/www/site.example.com"
    return Plan("provision", (
        EnsureDirectory(str(site)),
        PutFile(str(site / "index.html"), f"<h1>{marker}</h1>\n"),
        RunCommand(("touch", str(site / "created-once")), creates=str(site / "created-once")),
        EnsureNginxSite("site.example.com.conf", "server { listen 80; }\n"),
        ReloadService("nginx"),
    ))


def test_first_apply_changes_second_apply_converges(vps):
    root, settings, transport = vps
    first = apply_plan(transport, _plan(root), settings)
    assert [o.result for o in first] == ["changed"] * 5
    second = apply_plan(transport, _plan(root), settings)
    # Only the reload always runs; every other step finds its work done.
    assert [o.result for o in second] == ["unchanged"] * 4 + ["changed"]
    assert (root / "var/www/site.example.com/index.html").read_text() == "<h1>hello</h1>\n"
    third = apply_plan(transport, _plan(root, marker="changed"), settings)
    assert third[1].result == "changed"


def test_hostile_values_stay_data(vps):
    root, settings, transport = vps
    hostile = str(root / "x; touch PWNED; $(touch PWNED2) `touch PWNED3`")
    plan = Plan("provision", (PutFile(hostile, "'; rm -rf / #\n$(id)\n"),))
    apply_plan(transport, plan, settings)
    assert (root / "x; touch PWNED; $(touch PWNED2) `touch PWNED3`").read_text() \
        == "'; rm -rf / #\n$(id)\n"
    assert not list(root.glob("PWNED*")) and not list(root.parent.glob("PWNED*"))


def test_failed_nginx_test_restores_the_previous_block(vps):
    root, settings, transport = vps
    apply_plan(transport, _plan(root), settings)
    conf = root / "etc/nginx/sites-enabled/site.example.com.conf"
    before = conf.read_text()
    broken = {**settings, "commands": {**settings["commands"], "nginx_test": ["false"]}}
    plan = Plan("provision", (EnsureNginxSite("site.example.com.conf", "garbage {\n"),))
    with pytest.raises(PlanFailed) as failure:
        apply_plan(transport, plan, broken)
    assert failure.value.step_index == 1
    assert "nginx" in str(failure.value)
    assert conf.read_text() == before


def test_a_failing_step_stops_the_plan_and_names_itself(vps):
    root, settings, transport = vps
    plan = Plan("provision", (
        EnsureDirectory(str(root / "a")),
        RunCommand(("false",)),
        EnsureDirectory(str(root / "never")),
    ))
    with pytest.raises(PlanFailed) as failure:
        apply_plan(transport, plan, settings)
    assert failure.value.step_index == 2
    assert not (root / "never").exists()


def test_removal_is_idempotent(vps):
    root, settings, transport = vps
    target = root / "gone"
    target.mkdir()
    plan = Plan("deprovision", (RemovePath(str(target)),))
    assert [o.result for o in apply_plan(transport, plan, settings)] == ["changed"]
    assert [o.result for o in apply_plan(transport, plan, settings)] == ["unchanged"]


@pytest.mark.parametrize("step", [
    EnsureDatabase("db`; DROP", "user", "pw"),
    EnsureDatabase("db", "user'@'%", "pw"),
    PutFile("/x", "y", mode="0644; rm -rf /"),
    ReloadService("sshd"),
])
def test_unsafe_values_are_refused_before_anything_runs(step):
    with pytest.raises(UnsafeStep):
        compile_plan(Plan("provision", (step,)), Profile(local_vps_settings("/tmp/x")))


def test_compiled_program_is_valid_bash(tmp_path):
    script = compile_plan(_plan(tmp_path), Profile(local_vps_settings(str(tmp_path))))
    assert subprocess.run(["bash", "-n"], input=script.encode(), check=False).returncode == 0


def test_progress_arrives_while_the_program_runs(vps):
    root, settings, transport = vps
    later = root / "written-by-step-3"
    seen_before_step_3 = []
    plan = Plan("provision", (
        EnsureDirectory(str(root / "a")),
        RunCommand(("sleep", "1")),
        RunCommand(("touch", str(later))),
    ))

    def on_step(outcome):
        if outcome.index == 1:
            seen_before_step_3.append(later.exists())

    began = []
    apply_plan(transport, plan, settings, on_step=on_step, on_begin=began.append)
    assert seen_before_step_3 == [False]  # step 1 was reported before step 3 ran
    assert began == [1, 2, 3]
    assert later.exists()


def test_ownership_is_left_alone_where_users_are_not_managed(vps):
    root, settings, transport = vps
    plan = Plan("provision", (EnsureDirectory(str(root / "site")),
                              EnsureOwner(str(root / "site"), "nobody-here")))
    assert [o.result for o in apply_plan(transport, plan, settings)] == ["changed", "unchanged"]


def test_the_correlation_id_reaches_the_commands_environment(vps):
    root, settings, transport = vps
    seen = root / "correlation"
    plan = Plan("provision", (
        RunCommand(("bash", "-c", f"printenv CHOM_CORRELATION_ID > {seen}")),))
    token = correlation_id.set("req-42'; touch /tmp/pwned #")
    try:
        apply_plan(transport, plan, settings)
    finally:
        correlation_id.reset(token)
    assert seen.read_text() == "req-42'; touch /tmp/pwned #\n"


def test_run_sql_goes_to_the_site_database_through_the_admin_client():
    body = step_function("f", RunSql("chom_abc", "SELECT 'x';"),
                         Profile({"commands": {"mysql": ["mysql", "-uroot"]}}))
    encoded = base64.b64encode(b"USE `chom_abc`;\nSELECT 'x';\n").decode()
    assert f"printf %s {encoded} | base64 -d | mysql -uroot || return 1" in body
    with pytest.raises(UnsafeStep):
        step_function("f", RunSql("bad name; DROP", "SELECT 1;"), Profile({}))


TRICKY_CONTENTS = ["", "no newline at the end", "two trailing newlines\n\n",
                   "quotes ' \" `x` $HOME $(id) \\ \\n %s %b\n", "ünïcødé ✓ ☃\n", "-n\n",
                   "x" * 200_000 + "\n"]


@pytest.mark.parametrize("content", TRICKY_CONTENTS, ids=range(len(TRICKY_CONTENTS)))
def test_written_files_are_byte_exact_and_converge(vps, content):
    root, settings, transport = vps
    target = root / "site/page.html"
    plan = Plan("provision", (PutFile(str(target), content),))
    assert [o.result for o in apply_plan(transport, plan, settings)] == ["changed"]
    assert target.read_bytes() == content.encode()
    assert [o.result for o in apply_plan(transport, plan, settings)] == ["unchanged"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["page.html"]  # no leftovers


@pytest.mark.parametrize("mode", ["0644", "0600", "0640", "0755", "0700"])
def test_file_modes_are_exact_and_put_back(vps, mode):
    root, settings, transport = vps
    target = root / "conf" / "file"
    plan = Plan("provision", (PutFile(str(target), "secret\n", mode=mode),))
    apply_plan(transport, plan, settings)
    assert oct(target.stat().st_mode & 0o7777) == oct(int(mode, 8))
    target.chmod(0o666)
    assert [o.result for o in apply_plan(transport, plan, settings)] == ["unchanged"]
    assert oct(target.stat().st_mode & 0o7777) == oct(int(mode, 8))


def test_a_file_that_differs_after_a_nul_byte_is_rewritten(vps):
    root, settings, transport = vps
    target = root / "page.html"
    target.write_bytes(b"same\n\x00tail")
    plan = Plan("provision", (PutFile(str(target), "same\n"),))
    assert [o.result for o in apply_plan(transport, plan, settings)] == ["changed"]
    assert target.read_bytes() == b"same\n"


def test_a_link_at_the_path_is_replaced_not_followed(vps):
    root, settings, transport = vps
    outside = root / "outside"
    outside.write_text("untouched\n")
    target = root / "www" / "index.html"
    target.parent.mkdir()
    target.symlink_to(outside)
    apply_plan(transport, Plan("provision", (PutFile(str(target), "page\n"),)), settings)
    assert not target.is_symlink() and target.read_text() == "page\n"
    assert outside.read_text() == "untouched\n"


def test_directories_get_their_mode_when_made_and_when_found(vps):
    root, settings, transport = vps
    target = root / "a" / "b"
    plan = Plan("provision", (EnsureDirectory(str(target), mode="0750"),))
    assert [o.result for o in apply_plan(transport, plan, settings)] == ["changed"]
    assert target.stat().st_mode & 0o7777 == 0o750
    target.chmod(0o777)
    assert [o.result for o in apply_plan(transport, plan, settings)] == ["unchanged"]
    assert target.stat().st_mode & 0o7777 == 0o750


@pytest.mark.parametrize("step", [PutFile("relative/path", "x"), PutFile("/x", "nul \x00 byte")])
def test_file_steps_refuse_what_bash_cannot_write_exactly(step):
    with pytest.raises(UnsafeStep):
        compile_plan(Plan("provision", (step,)), Profile(local_vps_settings("/tmp/x")))



@pytest.fixture
def managed_vps(vps):
    """The local VPS with users managed, as on a real server (root, and `nobody` exists)."""
    root, settings, transport = vps
    return root, {**settings, "manage_system_users": True}, transport


def test_owned_files_and_directories_never_lead_root_through_a_link(managed_vps):
    root, settings, transport = managed_vps
    nobody = pwd.getpwnam("nobody").pw_uid
    outside_file, outside_dir = root / "shadow", root / "etc-like"
    outside_file.write_text("secret\n")
    outside_file.chmod(0o600)
    outside_dir.mkdir(mode=0o700)
    site = root / "site"
    site.mkdir()
    (site / "wp-config.php").symlink_to(outside_file)  # planted by the site's user
    (site / "uploads").symlink_to(outside_dir)
    plan = Plan("provision", (
        PutFile(str(site / "wp-config.php"), "<?php // config\n", owner="nobody", mode="0640"),
        EnsureDirectory(str(site / "uploads"), owner="nobody", mode="0755"),
    ))
    apply_plan(transport, plan, settings)
    config = site / "wp-config.php"
    assert not config.is_symlink() and config.read_text() == "<?php // config\n"
    assert config.stat().st_uid == nobody and config.stat().st_mode & 0o777 == 0o640
    for outside, mode in ((outside_file, 0o600), (outside_dir, 0o700)):
        assert outside.stat().st_uid == 0 and outside.stat().st_mode & 0o777 == mode
    assert outside_file.read_text() == "secret\n"
    # Applied again, unchanged: still nothing followed.
    (site / "wp-config.php").unlink()
    (site / "wp-config.php").symlink_to(outside_file)
    apply_plan(transport, plan, settings)
    assert outside_file.stat().st_uid == 0 and outside_file.stat().st_mode & 0o777 == 0o600


def test_in_a_directory_root_does_not_own_an_unchanged_files_mode_is_left(managed_vps):
    root, settings, transport = managed_vps
    nobody = pwd.getpwnam("nobody").pw_uid
    web_root = root / "www"
    (web_root / "sub").mkdir(parents=True)
    os.chown(web_root, nobody, nobody)  # the site's user may rename entries here
    plan = Plan("provision", (PutFile(str(web_root / "page.html"), "page\n"),
                              EnsureDirectory(str(web_root / "sub"), mode="0755")))
    apply_plan(transport, plan, settings)
    (web_root / "page.html").chmod(0o600)
    (web_root / "sub").chmod(0o700)
    assert [o.result for o in apply_plan(transport, plan, settings)] == ["unchanged"] * 2
    assert (web_root / "page.html").stat().st_mode & 0o777 == 0o600
    assert (web_root / "sub").stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("content", ["new\n", "old\n"], ids=["changed", "unchanged"])
def test_a_temporary_file_left_by_a_killed_program_is_swept(vps, content):
    root, settings, transport = vps
    target = root / "conf" / "site.conf"
    target.parent.mkdir()
    target.write_text("old\n")
    (root / "conf" / "site.conf.chom-4242-17").write_text("half a server blo")
    (root / "conf" / "site.conf.chom-previous").write_text("old\n")  # EnsureNginxSite's backup
    apply_plan(transport, Plan("provision", (PutFile(str(target), content),)), settings)
    assert sorted(p.name for p in target.parent.iterdir()) == ["site.conf",
                                                               "site.conf.chom-previous"]
    assert target.read_text() == content


def test_a_program_hung_up_on_mid_write_removes_its_temporary_file(tmp_path):
    """sshd hangs up on the whole session when the connection drops: the program removes the
    file it was writing before it exits."""
    fake_bin, ready = tmp_path / "bin", tmp_path / "mv-started"
    fake_bin.mkdir()
    (fake_bin / "mv").write_text(f"#!/bin/sh\ntouch {ready}\nexec sleep 60\n")
    (fake_bin / "mv").chmod(0o755)
    target = tmp_path / "www" / "index.html"
    program = compile_plan(Plan("provision", (PutFile(str(target), "page\n"),)), Profile({}))
    bash = subprocess.Popen(["bash", "-c", program], start_new_session=True,
                            env={**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}"})
    try:
        for _ in range(500):
            if ready.exists():
                break
            assert bash.poll() is None
            time.sleep(0.01)
        assert [p.name.startswith("index.html.chom-") for p in target.parent.iterdir()] == [True]
        os.killpg(bash.pid, signal.SIGHUP)
        assert bash.wait(timeout=10) == 129
    finally:
        if bash.poll() is None:
            os.killpg(bash.pid, signal.SIGKILL)
    assert list(target.parent.iterdir()) == []


def test_a_command_only_if_a_path_exists_runs_only_then(vps):
    root, settings, transport = vps
    lock, ran = root / "app" / "composer.lock", root / "app" / "installed"
    step = RunCommand(("touch", str(ran)), only_if_exists=str(lock))
    plan = Plan("deploy", (EnsureDirectory(str(root / "app")), step))
    assert [o.result for o in apply_plan(transport, plan, settings)][1] == "unchanged"
    assert not ran.exists()
    lock.write_text("{}")
    assert [o.result for o in apply_plan(transport, plan, settings)][1] == "changed"
    assert ran.exists()
