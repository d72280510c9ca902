"""The zh-Hans wording follows docs/glossary.md: no word from a row's "Not" column in the catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[3]
GLOSSARY = ROOT / "docs" / "glossary.md"
CATALOGUE = ROOT / "aftersales" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def glossary_rows(text: str) -> list[dict[str, object]]:
    """The table's rows: English, the zh-Hans term(s), the forbidden words, the note."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("English", "") or set(cells[0]) <= set("-: "):
            continue
        english, term, forbidden, note = cells
        rows.append(
            {
                "english": english,
                "terms": [t for t in re.split(r"[、,/]", term) if t.strip()] + [term],
                "not": [w.strip() for w in re.split(r"[、,]", forbidden) if w.strip()],
                "note": note,
            }
        )
    return rows


def violations(rows: list[dict[str, object]], catalogue: polib.POFile) -> list[str]:
    # Every agreed term is spared, whichever row names it: 神秘顾客 (mystery shopper) holds the customer row's
    # forbidden 顾客, as 服务顾问 holds the advisor row's 顾问.
    terms = sorted({t for row in rows for t in row["terms"]}, key=len, reverse=True)  # type: ignore[attr-defined]
    found = []
    for entry in catalogue:
        if entry.obsolete:
            continue
        for text in [entry.msgstr, *entry.msgstr_plural.values()]:
            rest = text
            for term in terms:
                rest = rest.replace(term, "")
            for row in rows:
                for word in row["not"]:  # type: ignore[attr-defined]
                    if word in rest:
                        found.append(f"{row['english']}: {word!r} in {entry.msgid!r} → {text!r}")
    return found


ROWS = glossary_rows(GLOSSARY.read_text(encoding="utf-8"))


def test_the_glossary_names_the_agreed_terms():
    by_english = {row["english"]: row for row in ROWS}
    assert by_english["store manager"]["terms"][0] == "服务经理"
    assert by_english["delivery (handing the car back)"]["terms"][0] == "交车"
    assert by_english["overdue"]["terms"][0] == "已超时"
    assert "送达" in by_english["delivery (handing the car back)"]["not"]
    assert {"站长", "店长", "店总"} <= set(by_english["store manager"]["not"])


def test_the_checker_finds_a_forbidden_word_and_spares_the_term_that_contains_it():
    catalogue = polib.POFile()
    catalogue.append(polib.POEntry(msgid="Delivered", msgstr="已送达"))
    catalogue.append(polib.POEntry(msgid="advisor", msgstr="服务顾问"))
    catalogue.append(polib.POEntry(msgid="consultant", msgstr="顾问"))
    catalogue.append(polib.POEntry(msgid="%(n)s late", msgid_plural="%(n)s late", msgstr_plural={0: "%(n)s 项逾期"}))
    found = violations(ROWS, catalogue)
    assert len(found) == 3, found
    assert any("'送达'" in f for f in found)
    assert any("'顾问'" in f and "consultant" in f for f in found)
    assert any("'逾期'" in f for f in found)


@pytest.mark.skipif(not CATALOGUE.exists(), reason="no compiled catalogue in this checkout")
def test_no_forbidden_word_in_the_chinese_catalogue():
    assert violations(ROWS, polib.pofile(str(CATALOGUE))) == []
