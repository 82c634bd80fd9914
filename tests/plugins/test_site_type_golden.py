"""Golden files for every site type's plans, as pyinfra tests its operations.

Each file under `golden/<type>/` holds one plan: its action, the lines `describe()` shows, and
every step's fields. After an intended change, rewrite them with `CHOM_UPDATE_GOLDEN=1` and
review the diff.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest
from plugin_cases import ACTIONS, CASES, DOMAIN, make_site

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CHOM_UPDATE_GOLDEN") == "1"


def render(plan) -> dict:
    return {
        "action": plan.action,
        "describe": plan.describe(),
        "steps": [{"step": type(step).__name__, **dataclasses.asdict(step)} for step in plan.steps],
    }


def golden_cases() -> list:
    cases = []
    for type_name, case, options in CASES:
        for action in ACTIONS if case == "default" else ("provision",):
            name = action if case == "default" else f"{action}-{case}"
            cases.append(pytest.param(type_name, action, options, name, id=f"{type_name}/{name}"))
    return cases


@pytest.mark.parametrize(("type_name", "action", "options", "name"), golden_cases())
def test_plan_matches_golden_file(site_types, type_name, action, options, name):
    plan = site_types[type_name].plan_for(action, make_site(type_name, options))
    assert plan.action == action
    rendered = json.dumps(render(plan), indent=2) + "\n"
    path = GOLDEN / type_name / f"{name}.json"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered)
    assert path.exists(), f"{path} is missing: run with CHOM_UPDATE_GOLDEN=1 to write it"
    assert json.loads(rendered) == json.loads(path.read_text())


# Only an app from git has something to deploy.
DEPLOYS = {("laravel", "git")}


@pytest.mark.parametrize(("type_name", "case", "options"), CASES,
                         ids=[f"{t}/{c}" for t, c, _ in CASES])
def test_deploy_plan_matches_golden_file_or_there_is_none(site_types, type_name, case, options):
    plan = site_types[type_name].plan_for("deploy", make_site(type_name, options))
    if (type_name, case) not in DEPLOYS:
        assert plan is None
        return
    assert plan.action == "deploy"
    _check_golden(GOLDEN / type_name / f"deploy-{case}.json", render(plan))


def _check_golden(path: Path, data: dict) -> None:
    rendered = json.dumps(data, indent=2) + "\n"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered)
    assert path.exists(), f"{path} is missing: run with CHOM_UPDATE_GOLDEN=1 to write it"
    assert json.loads(rendered) == json.loads(path.read_text())


RESTORE_SOURCES = {"restore": DOMAIN, "restore-clone": "old-home.example.org"}


@pytest.mark.parametrize("name", sorted(RESTORE_SOURCES))
@pytest.mark.parametrize("type_name", sorted({case[0] for case in CASES}))
def test_restore_plan_matches_golden_file(site_types, type_name, name):
    plan = site_types[type_name].restore_plan(make_site(type_name),
                                              source_domain=RESTORE_SOURCES[name])
    assert plan.action == "restore"
    _check_golden(GOLDEN / type_name / f"{name}.json", render(plan))


@pytest.mark.parametrize("type_name", sorted({case[0] for case in CASES}))
def test_backup_parts_match_golden_file(site_types, type_name):
    parts = site_types[type_name].backup_parts(make_site(type_name))
    names = [part.name for part in parts]
    assert len(names) == len(set(names))  # each part is one object of the backup
    _check_golden(GOLDEN / type_name / "backup-parts.json", {
        "describe": [part.describe() for part in parts],
        "parts": [{"part": type(part).__name__, **dataclasses.asdict(part)} for part in parts],
    })
