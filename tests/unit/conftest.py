"""A `local`-transport VPS in a temporary folder, for the plan and probe programs' tests."""

import pytest

from chom.integration.transports.local import LocalTransport
from chom.services.operators import local_vps_settings


@pytest.fixture
def vps(tmp_path):
    """`(root, settings, transport)`: programs run for real on this machine, under `root`."""
    settings = local_vps_settings(str(tmp_path))
    return tmp_path, settings, LocalTransport(vps=type("V", (), {"settings": settings}),
                                              config={"CHOM_LOCAL_VPS_ROOT": str(tmp_path)})
