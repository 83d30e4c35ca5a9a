#!/usr/bin/env bash
# Install what the tests run for real, from Debian's packages, when it is missing:
#   influxdb       — InfluxDB 1.x, started by the test setup on free loopback ports;
#   mosquitto      — Mosquitto 2 (MQTT 5, shared subscriptions), started by the scale-out tests;
#   redis-server   — Redis, started by the test of several brokers on one Redis;
#   chromium       — headless browser of the browser tests;
#   fonts-noto-cjk — Chinese glyphs for the browser's pages and screenshots.
# Does nothing (and says so) when everything is there. Debian's packages start system services
# on the default ports; they are stopped again, since the tests start their own servers.
#
#   bash scripts/setup-test.sh            install what is missing
#   bash scripts/setup-test.sh --dry-run  say what would be installed, install nothing
set -euo pipefail

dry_run=false
case "${1:-}" in
  "") ;;
  --dry-run) dry_run=true ;;
  *) echo "usage: bash scripts/setup-test.sh [--dry-run]" >&2; exit 2 ;;
esac

# Debian puts mosquitto in /usr/sbin, which is not on an ordinary user's PATH.
has_program() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
# Fonts have no program: ask dpkg whether the package is installed.
has_package() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

need=()
has_program influxd || need+=(influxdb)
has_program mosquitto || need+=(mosquitto)
has_program redis-server || need+=(redis-server)
has_program chromium || need+=(chromium)
has_package fonts-noto-cjk || need+=(fonts-noto-cjk)

if [ ${#need[@]} -eq 0 ]; then
  echo "setup:test: influxd, mosquitto, redis-server, chromium and fonts-noto-cjk are installed"
  exit 0
fi

if $dry_run; then
  echo "setup:test: would install: ${need[*]}"
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

# Stop the system servers the packages may have started on the default ports.
for service in influxdb mosquitto redis-server; do
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $sudo systemctl stop "$service" >/dev/null 2>&1 || true
  elif command -v service >/dev/null 2>&1; then
    $sudo service "$service" stop >/dev/null 2>&1 || true
  fi
done
echo "setup:test: done"
