#!/usr/bin/env bash
# The packages the test fleet (tests/fleet/) needs, from Debian. Run as root. Nothing is
# started here: no systemd on these machines, the fleet harness starts every daemon itself,
# inside its own network namespace, with its own config and state directory.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "ensure-fleet: must run as root (apt-get, network namespaces)" >&2
  exit 1
fi
"$(dirname "$0")/apt-ensure.sh" ensure-fleet \
  openssh-server nginx php8.2-fpm php8.2-mysql php8.2-cli mariadb-server mariadb-client \
  wordpress wordpress-theme-twentytwentythree php-laravel-framework git iproute2 procps curl \
  pebble \
  -- /usr/sbin/sshd /usr/sbin/nginx /usr/sbin/php-fpm8.2 /usr/sbin/mariadbd \
  /usr/bin/mariadb-install-db /usr/bin/mariadb /usr/bin/mariadb-dump /usr/bin/mysqladmin \
  /usr/bin/php8.2 /usr/bin/ssh-keygen /usr/sbin/ip /usr/bin/pkill /usr/bin/git /usr/bin/curl \
  /usr/bin/pebble /usr/bin/pebble-challtestsrv
echo "ensure-fleet: fleet packages present"
