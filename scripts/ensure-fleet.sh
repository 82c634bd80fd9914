#!/usr/bin/env bash
# Make sure the packages the test fleet (tests/fleet/) needs are installed, from Debian.
# Idempotent and quick when everything is present (one dpkg-query, no network). Run as root.
# Nothing is started here: no systemd on these machines, the fleet harness starts every
# daemon itself, inside its own network namespace, with its own config and state directory.
set -euo pipefail

PACKAGES=(
  openssh-server nginx php8.2-fpm php8.2-mysql php8.2-cli mariadb-server mariadb-client
  wordpress wordpress-theme-twentytwentythree php-laravel-framework git iproute2 procps curl
  pebble
)

if [ "$(id -u)" != 0 ]; then
  echo "ensure-fleet: must run as root (apt-get, network namespaces)" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [ "$status" != installed ]; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "ensure-fleet: installing ${missing[*]}"
  # Keep maintainer scripts from starting the daemons they install (invoke-rc.d honours
  # policy-rc.d's exit code 101 "action forbidden"). Leave an existing policy alone.
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

for binary in /usr/sbin/sshd /usr/sbin/nginx /usr/sbin/php-fpm8.2 /usr/sbin/mariadbd \
              /usr/bin/mariadb-install-db /usr/bin/mariadb /usr/bin/mariadb-dump \
              /usr/bin/mysqladmin /usr/bin/php8.2 \
              /usr/bin/ssh-keygen /usr/sbin/ip /usr/bin/pkill /usr/bin/git /usr/bin/curl \
              /usr/bin/pebble /usr/bin/pebble-challtestsrv; do
  if [ ! -x "$binary" ]; then
    echo "ensure-fleet: $binary is missing after install" >&2
    exit 1
  fi
done
echo "ensure-fleet: fleet packages present"
