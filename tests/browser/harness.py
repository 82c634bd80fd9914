"""The console served on loopback, and Debian's Chromium driven by Playwright.

Playwright's own browser download does not work on these machines: the tests launch
/usr/bin/chromium (installed by `scripts/ensure-browser.sh`), each browser with a fresh profile
directory and the flags that keep it from calling out on a closed network.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PHONE = {"width": 390, "height": 844}  # an iPhone 12-14's CSS viewport
TIMEOUT_MS = 30_000


def ensure_chromium() -> Path:
    """Debian's Chromium, installed with apt-get when missing (as `make test` does)."""
    if not CHROMIUM.exists():
        subprocess.run([str(ROOT / "scripts" / "ensure-browser.sh")], check=True)
    return CHROMIUM


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # one line per asset drowns a failure
        pass


class ConsoleServer:
    """`app` served by a threaded werkzeug server on 127.0.0.1, on a free port."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True,
                                  request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ConsoleServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join()
        self.server.server_close()


class Browsers:
    """Makes browser contexts, each its own Chromium with a fresh profile; closes them all."""

    def __init__(self, playwright, executable: Path) -> None:
        self.playwright = playwright
        self.executable = executable
        self.contexts: list = []
        self.profiles: list[tempfile.TemporaryDirectory] = []

    def new(self, *, resolve: dict[str, str] | None = None, viewport: dict | None = None):
        """A new browser context; `resolve` maps host names to addresses (like /etc/hosts)."""
        profile = tempfile.TemporaryDirectory(prefix="chom-browser-")
        self.profiles.append(profile)
        args = list(CHROMIUM_ARGS)
        if resolve:
            rules = ", ".join(f"MAP {name} {address}" for name, address in resolve.items())
            args.append(f"--host-resolver-rules={rules}")
        context = self.playwright.chromium.launch_persistent_context(
            profile.name, executable_path=str(self.executable), headless=True, args=args,
            viewport=viewport or {"width": 1280, "height": 900},
            ignore_https_errors=True,  # the sites' certificates come from pebble's test CA
        )
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        return context

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        for profile in self.profiles:
            profile.cleanup()
        self.contexts.clear()
        self.profiles.clear()
