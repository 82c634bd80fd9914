"""The read-only drift probes, run for real on this machine (local transport)."""

import pytest

from chom.integration.drift import probe_plans
from chom.integration.executor import apply_plan
from chom.plugin_api import EnsureDirectory, EnsureNginxSite, Plan, PutFile
from tests.unit.test_plan_script import TRICKY_CONTENTS


def _plan(root, content):
    return Plan("provision", (
        EnsureDirectory(str(root / "site")),
        PutFile(str(root / "site/page.html"), content),
        EnsureNginxSite("site.conf", "server { listen 80; }\n"),
    ))


@pytest.mark.parametrize("content", TRICKY_CONTENTS, ids=range(len(TRICKY_CONTENTS)))
def test_applied_files_probe_ok_and_any_change_is_drift(vps, content):
    root, settings, transport = vps
    plan = _plan(root, content)
    apply_plan(transport, plan, settings)
    assert [f.drifted for f in probe_plans(transport, [plan], settings)] == [False] * 3

    page = root / "site/page.html"
    page.write_bytes(content.encode() + b"x")
    assert [f.drifted for f in probe_plans(transport, [plan], settings)] == [False, True, False]
    page.write_bytes(content.encode() + b"\x00")  # what `read` alone would not see
    assert [f.drifted for f in probe_plans(transport, [plan], settings)] == [False, True, False]
    page.unlink()
    (root / "etc/nginx/sites-enabled/site.conf").write_text("server { listen 81; }\n")
    assert [f.drifted for f in probe_plans(transport, [plan], settings)] == [False, True, True]
