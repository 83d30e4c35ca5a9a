#!/usr/bin/env bash
# Install the servers the tests run for real, from Debian's packages:
#   influxdb  — InfluxDB 1.x, started by the test setup on free loopback ports;
#   mosquitto — Mosquitto 2 (MQTT 5, shared subscriptions), started by the scale-out test.
# Does nothing for a package whose program is already installed.
set -euo pipefail

# Debian puts mosquitto in /usr/sbin, which is not on an ordinary user's PATH.
has() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

need=()
has influxd || need+=(influxdb)
has mosquitto || need+=(mosquitto)

if [ ${#need[@]} -eq 0 ]; then
  echo "setup:test: influxd and mosquitto are installed ($(influxd version 2>/dev/null | head -1))"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup:test: need root or sudo to install: ${need[*]}" >&2; exit 1; }
  sudo="sudo"
fi

echo "setup:test: installing ${need[*]} from Debian's packages…"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
# Debian's packages may start system servers on the default ports; the tests start their own.
if command -v service >/dev/null 2>&1; then
  $sudo service influxdb stop >/dev/null 2>&1 || true
  $sudo service mosquitto stop >/dev/null 2>&1 || true
fi
echo "setup:test: done"
