"""Messages kept as module constants (so tests can assert them exactly) are translated when shown: each is marked
with gettext_noop so the catalogue extracts it.  A constant left unmarked would reach a Chinese page in English."""

import ast
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext

PACKAGE = Path(__file__).resolve().parents[2]


def _constants_translated_at_use() -> list[tuple[str, str, str]]:
    """(module, name, text) of every upper-case string constant that code passes to _() by name."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        used = {
            node.args[0].id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "_"
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id.isupper()
        }
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if name in used:
                    value = node.value
                    if isinstance(value, ast.Call) and value.args and isinstance(value.args[0], ast.Constant):
                        value = value.args[0]
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        found.append((str(path.relative_to(PACKAGE)), name, value.value))
    return found


CONSTANTS = _constants_translated_at_use()


def test_the_walk_finds_the_known_constants():
    names = {name for _module, name, _text in CONSTANTS}
    assert {"LINK_INVALID", "SLOT_FULL", "INVALID_MOVE"} <= names


@pytest.mark.parametrize(("module", "name", "text"), CONSTANTS)
def test_each_constant_has_a_chinese_translation(module, name, text):
    with translation.override("zh-hans"):
        assert gettext(text) != text, f"{module}: {name} is shown in English on Chinese pages"
