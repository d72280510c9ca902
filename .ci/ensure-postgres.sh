#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 and writes the URL the tests use to
# .test-data/pg-url.  Uses the machine's server (trust auth) when one answers; otherwise installs and
# starts Debian's and gives the postgres role a password for TCP logins.
set -euo pipefail
mkdir -p .test-data
BIN=${BIN:-.venv/bin}
probe() {
  "$BIN/python" - "$1" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1].replace("/aftersales", "/postgres"), connect_timeout=3).close()
except Exception as exc:
    print(exc, file=sys.stderr); sys.exit(1)
PY
}
for url in "postgres://postgres@127.0.0.1:5432/aftersales" "postgres://postgres:postgres@127.0.0.1:5432/aftersales"; do
  if probe "$url" 2>/dev/null; then echo "$url" > .test-data/pg-url; exit 0; fi
done
echo "No PostgreSQL answers on 127.0.0.1:5432: installing Debian's"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
command -v pg_ctlcluster >/dev/null 2>&1 || { $SUDO apt-get update -qq || true; $SUDO apt-get install -y -qq postgresql > /dev/null; }
version=$(ls /etc/postgresql | sort -n | tail -1)
$SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
$SUDO -u postgres psql -qc "ALTER USER postgres PASSWORD 'postgres'" 2>/dev/null || su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\""
url="postgres://postgres:postgres@127.0.0.1:5432/aftersales"
probe "$url"
echo "$url" > .test-data/pg-url
