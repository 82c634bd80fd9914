"""docs/plugins.md documents every hook with its exact arguments, and its example runs."""

import inspect
import re
from pathlib import Path

from chom import hookspecs
from chom.plugin_api import SiteType
from chom.plugin_testing import apply_locally, make_site, plan_as_data

DOC = (Path(__file__).resolve().parents[2] / "docs/plugins.md").read_text()


def _hookspecs():
    return {name: fn for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
            if name.startswith("chom_")}


def test_every_hook_is_documented_with_its_signature():
    documented = dict(re.findall(r"^### (chom_\w+)\(([^)]*)\)$", DOC, flags=re.MULTILINE))
    specs = _hookspecs()
    assert set(documented) == set(specs)
    for name, fn in specs.items():
        arguments = [a.strip() for a in documented[name].split(",") if a.strip()]
        assert arguments == list(inspect.signature(fn).parameters), name


def test_every_hookspec_has_a_docstring():
    assert all(fn.__doc__ and len(fn.__doc__) > 40 for fn in _hookspecs().values())


def test_the_worked_example_runs_and_converges(tmp_path):
    block = re.search(r"```python\n(from chom.plugin_api import .*?)```", DOC, re.DOTALL)
    namespace: dict = {}
    exec(compile(block.group(1), "docs/plugins.md", "exec"), namespace)  # noqa: S102
    site_type = namespace["HtmlSiteType"]()
    assert isinstance(site_type, SiteType)
    assert [t.name for t in namespace["chom_register_site_types"]()] == ["html"]
    site = make_site(domain="shop.example.com", root=tmp_path)
    plan = site_type.provision_plan(site)
    assert plan_as_data(plan)[0] == {"step": "EnsureDirectory", "mode": "0755", "owner": None,
                                     "path": str(tmp_path / "var/www/shop.example.com")}
    apply_locally(plan, tmp_path)
    assert "shop.example.com" in (tmp_path / "var/www/shop.example.com/index.html").read_text()
    second = apply_locally(plan, tmp_path)
    assert [o.result for o in second[:-1]] == ["unchanged"] * (len(plan.steps) - 1)
    apply_locally(site_type.deprovision_plan(site), tmp_path)
    assert not (tmp_path / "var/www/shop.example.com").exists()
