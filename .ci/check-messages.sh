#!/usr/bin/env bash
# Fails when a user-facing string has no zh-Hans translation, or the compiled catalogue is stale.
# Compares message ids (not the file's text layout), so it does not depend on how lines were wrapped.
set -euo pipefail
BIN=${1:-.venv/bin}
PO=aftersales/locale/zh_Hans/LC_MESSAGES/django.po
tmp=$(mktemp -d); trap 'cp "$tmp/committed.po" "$PO"; rm -rf "$tmp"' EXIT
cp "$PO" "$tmp/committed.po"
(cd aftersales && AFTERSALES_DATA_DIR="$tmp/data" "../$BIN/aftersales" makemessages -l zh_Hans --no-obsolete --ignore 'static/*' -v 0)
cp "$PO" "$tmp/fresh.po"
"$BIN/python" - "$tmp/committed.po" "$tmp/fresh.po" <<'PY'
import sys
import polib

committed, fresh = polib.pofile(sys.argv[1]), polib.pofile(sys.argv[2])
ids = lambda po: {(e.msgctxt, e.msgid) for e in po if not e.obsolete}
new = ids(fresh) - ids(committed)
if new:
    print(f"The zh_Hans catalogue lacks {len(new)} new strings, e.g. {sorted(m for _, m in new)[:5]}:", file=sys.stderr)
    print("run 'make messages', translate them and commit.", file=sys.stderr)
    sys.exit(1)
missing = [e.msgid for e in committed if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]
if missing:
    print(f"{len(missing)} strings lack a zh-Hans translation, e.g.: {missing[:5]}", file=sys.stderr)
    sys.exit(1)
mo = polib.mofile("aftersales/locale/zh_Hans/LC_MESSAGES/django.mo")
compiled = {(e.msgctxt, e.msgid): e.msgstr for e in mo if not e.msgid_plural}
stale = [
    e.msgid for e in committed.translated_entries()
    if not e.msgid_plural and compiled.get((e.msgctxt, e.msgid)) != e.msgstr
]
if stale:
    print(f"django.mo is older than django.po ({len(stale)} strings): run 'make messages' and commit.", file=sys.stderr)
    sys.exit(1)
print(f"zh-Hans catalogue complete: {len(committed)} strings")
PY
