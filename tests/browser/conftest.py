"""Browser tests: the console served on loopback with a real RQ worker and the test fleet,
driven through Debian's Chromium by Playwright."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from tests.browser.harness import ARTIFACTS, Browsers, ConsoleServer, ensure_chromium
from tests.fleet import plugin as _fleet_plugin
from tests.workers import RqWorkers, acme_env


def pytest_configure(config):
    if not config.pluginmanager.is_registered(_fleet_plugin):
        config.pluginmanager.register(_fleet_plugin, "tests.fleet.plugin")


@pytest.fixture(scope="session")
def chromium():
    return ensure_chromium()


@pytest.fixture(scope="module")
def rq_workers(app, pebble, tmp_path_factory):
    """An rq-mode app with CSRF on (as in production) and one worker that can reach pebble."""
    with RqWorkers(tmp_path_factory.mktemp("rq-browser"), acme_env(pebble),
                   CHOM_JOB_RETRY_INTERVALS=[1], WTF_CSRF_ENABLED=True).running() as workers:
        yield workers


@pytest.fixture(scope="module")
def console(rq_workers, smtp_server):
    """The base URL of the console, served by the rq-mode app on a free loopback port; its
    mail (invitations) goes to the aiosmtpd server, with links back to this console."""
    with ConsoleServer(rq_workers.app) as server:
        rq_workers.app.config.update(MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port,
                                     CHOM_BASE_URL=server.url)
        yield server.url


@pytest.fixture(scope="module")
def playwright_driver():
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def browsers(playwright_driver, chromium, clean_app):
    """`browsers.new()` → a browser context with a fresh profile; all closed after the test.
    Tables are emptied first, as for every test."""
    made = Browsers(playwright_driver, chromium)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
