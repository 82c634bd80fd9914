#!/usr/bin/env bash
# apt-ensure.sh NAME PACKAGE... [-- BINARY...]
# Install, from Debian, whichever of the PACKAGEs are missing, then check that each BINARY is
# there. Idempotent and quick when everything is present (one dpkg-query, no network). Nothing
# is started: the maintainer scripts are kept from starting the daemons they install (a
# temporary policy-rc.d answering 101, "action forbidden"); the tests start their own.
set -euo pipefail

name=$1
shift
packages=()
binaries=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do packages+=("$1"); shift; done
[ $# -gt 0 ] && shift
binaries=("$@")

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "$name: must run as root to install ${missing[*]}" >&2
    exit 1
  fi
  echo "$name: installing ${missing[*]}"
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

for binary in "${binaries[@]}"; do
  if [ ! -x "$binary" ]; then
    echo "$name: $binary is missing after install" >&2
    exit 1
  fi
done
