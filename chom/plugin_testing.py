"""A small test kit for plugin authors: build a site, render its plans, apply them for real.

```python
from chom.plugin_testing import apply_locally, make_site, plan_as_data
```

`apply_locally` compiles the plan exactly as CHOM does for a VPS and runs it on this machine
under a temporary root, with service reloads, nginx tests and user management switched off, so a
plugin's files land where its plan says and a second apply reports nothing changed.
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from types import SimpleNamespace

from chom.integration.executor import StepOutcome, apply_plan
from chom.integration.transports.local import LocalTransport, paths_under, sandbox_profile
from chom.plugin_api import Plan, SiteContext
from chom.services.site_profile import paths_for


def make_site(
    *,
    domain: str = "example.com",
    type: str = "html",
    php_version: str | None = None,
    options: dict | None = None,
    root: str | Path = "/",
    database_password: str | None = "test-password",  # noqa: S107  (a test kit's fixed value)
    site_id: str = "00000000-0000-4000-8000-000000000001",
) -> SiteContext:
    """A `SiteContext` as the core builds it, for a VPS whose filesystem is under `root`
    (`/`: the Debian layout of a real server)."""
    return SiteContext(
        id=site_id,
        domain=domain,
        type=type,
        php_version=php_version,
        options=options or {},
        paths=paths_for(uuid.UUID(site_id), domain, paths_under(str(root))),
        database_password=database_password,
    )


def plan_as_data(plan: Plan) -> list[dict]:
    """Each step as `{"step": class name, **fields}`: stable, JSON-ready, good for golden files."""
    return [{"step": type(step).__name__, **dataclasses.asdict(step)} for step in plan.steps]


def local_profile(root: str | Path) -> dict:
    """A VPS profile that keeps everything under `root`; databases are not created."""
    profile = sandbox_profile(str(root))
    profile["commands"] = {**profile["commands"], "mysql": ["true"]}
    return profile


def apply_locally(plan: Plan, root: str | Path) -> list[StepOutcome]:
    """Apply `plan` on this machine with the profile of `local_profile(root)`."""
    profile = local_profile(root)
    transport = LocalTransport(vps=SimpleNamespace(settings={"root": str(root)}),
                               config={"CHOM_LOCAL_VPS_ROOT": str(root)})
    return apply_plan(transport, plan, profile)
