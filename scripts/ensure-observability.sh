#!/usr/bin/env bash
# Make sure Prometheus (with promtool), Alertmanager (with amtool) and the node exporter from
# Debian are installed: the observability tests start their own instances on free loopback
# ports, with their own config and data directories. Nothing is started here, and the package
# scripts are kept from starting the system services. Idempotent; quick when all is present.
set -euo pipefail

PACKAGES=(prometheus prometheus-alertmanager prometheus-node-exporter)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [ "$status" != installed ]; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "ensure-observability: must run as root to install ${missing[*]}" >&2
    exit 1
  fi
  echo "ensure-observability: installing ${missing[*]}"
  # Keep maintainer scripts from starting the daemons (policy-rc.d exit 101: action forbidden).
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 0755 "$policy"
    own_policy=1
  fi
  cleanup() { if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi; }
  trap cleanup EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for binary in /usr/bin/prometheus /usr/bin/promtool /usr/bin/prometheus-alertmanager \
              /usr/bin/amtool /usr/bin/prometheus-node-exporter; do
  if [ ! -x "$binary" ]; then
    echo "ensure-observability: $binary is missing after install" >&2
    exit 1
  fi
done
