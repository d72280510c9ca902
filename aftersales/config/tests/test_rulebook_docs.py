"""docs/rulebook.md is the rulebook as the code declares it."""

from pathlib import Path

from aftersales.config.management.commands.rulebook import all_lifecycles, as_markdown

DOC = Path(__file__).resolve().parents[3] / "docs" / "rulebook.md"


def test_the_document_is_the_commands_output():
    assert DOC.read_text(encoding="utf-8") == as_markdown(), "run: aftersales rulebook > docs/rulebook.md"


def test_every_lifecycle_of_the_service_process_is_listed():
    names = {lifecycle.name for lifecycle in all_lifecycles()}
    assert {"repair_order", "appointment", "estimate_line", "deferred_work"} <= names
