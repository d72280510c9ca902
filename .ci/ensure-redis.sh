#!/usr/bin/env bash
# Makes sure a Redis server answers on 127.0.0.1:6379 for the tests of the job worker's Redis storage
# (they use database 15 and empty it).  Uses the machine's server when one answers; otherwise installs
# Debian's redis-server and starts it in the background, in memory only (no snapshots, no append-only file).
set -euo pipefail
probe() {
  # PING over plain TCP, so no client has to be installed.
  { exec 3<>/dev/tcp/127.0.0.1/6379; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  local reply=""
  read -r -t 3 reply <&3 || true
  exec 3<&- 3>&-
  [[ "$reply" == +PONG* ]]
}
if probe; then echo "Redis answers on 127.0.0.1:6379"; exit 0; fi
echo "No Redis answers on 127.0.0.1:6379: starting Debian's"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
command -v redis-server >/dev/null 2>&1 || { $SUDO apt-get update -qq || true; $SUDO apt-get install -y -qq redis-server > /dev/null; }
redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
for _ in $(seq 1 30); do probe && { echo "Redis answers on 127.0.0.1:6379"; exit 0; }; sleep 0.5; done
echo "Redis did not start on 127.0.0.1:6379" >&2
exit 1
