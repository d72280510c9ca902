#!/usr/bin/env bash
# Installs Debian packages the tests need, only when missing: chromium (driven by Playwright; never
# downloaded by Playwright), CJK fonts so Chinese renders in screenshots, gettext for the catalogues,
# the PostgreSQL client tools for the backup tests.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
command -v msgfmt >/dev/null 2>&1 || missing+=(gettext)
command -v pg_dump >/dev/null 2>&1 || missing+=(postgresql-client)  # aftersales backup/restore on PostgreSQL
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "Installing Debian packages: ${missing[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq "${missing[@]}" > /dev/null
