#!/usr/bin/env bash
# Prometheus (with promtool), Alertmanager (with amtool) and the node exporter from Debian: the
# observability tests start their own instances on free loopback ports, with their own config
# and data directories.
set -euo pipefail
"$(dirname "$0")/apt-ensure.sh" ensure-observability \
  prometheus prometheus-alertmanager prometheus-node-exporter \
  -- /usr/bin/prometheus /usr/bin/promtool /usr/bin/prometheus-alertmanager /usr/bin/amtool \
  /usr/bin/prometheus-node-exporter
