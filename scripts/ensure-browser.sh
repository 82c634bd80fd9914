#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/browser/): Playwright's own browser download
# does not work on these machines, so the tests drive /usr/bin/chromium.
set -euo pipefail
"$(dirname "$0")/apt-ensure.sh" ensure-browser chromium -- /usr/bin/chromium
