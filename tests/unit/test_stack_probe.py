"""What `vps add` requires of a VPS's stack (the probe itself runs against the fleet in e2e)."""

import pytest

from chom.services.fleet import missing_parts

STACK = {"nginx": "/usr/sbin/nginx", "mariadb": "/usr/bin/mariadb",
         "php-fpm8.2": "/usr/sbin/php-fpm8.2"}


@pytest.mark.parametrize("bash, missing", [
    ("5.2", []), ("4.4", []), ("4.3", ["bash 4.4 or later"]), ("3.2", ["bash 4.4 or later"]),
    (None, ["bash 4.4 or later"]), ("garbage", ["bash 4.4 or later"]),
])
def test_a_vps_whose_bash_cannot_run_the_programs_is_refused(bash, missing):
    found = {**STACK, **({"bash": bash} if bash else {})}
    assert missing_parts(found) == missing


def test_each_missing_part_is_named():
    assert missing_parts({"bash": "5.2"}) == ["nginx", "database", "php-fpm"]
