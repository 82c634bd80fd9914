#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (tests/browser/): Playwright's
# own browser download does not work on these machines, so the tests drive /usr/bin/chromium.
# Idempotent and quick when present (one dpkg-query, no network). Run as root.
set -euo pipefail

if [ "$(dpkg-query -W -f='${db:Status-Status}' chromium 2>/dev/null || true)" = installed ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-browser: must run as root (apt-get)" >&2
  exit 1
fi
echo "ensure-browser: installing chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends chromium >/dev/null || {
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends chromium >/dev/null
}
