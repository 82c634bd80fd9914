"""The test fleet: real "VPS" hosts (sshd, nginx, PHP-FPM, MariaDB) in network namespaces.

`harness` brings them up, `plugin` gives tests the session-scoped `fleet` fixture.
"""
