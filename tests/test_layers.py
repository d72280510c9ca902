"""ARCHITECTURE.md's layers: an app imports only the apps on its own layer's left and below it.  The order here is
INSTALLED_APPS' order (settings.py), which is the layer order; tests and migrations are exempt."""

import ast
from pathlib import Path

from django.conf import settings

PACKAGE = Path(__file__).resolve().parents[1] / "aftersales"
ORDER = [app.split(".")[1] for app in settings.INSTALLED_APPS if app.startswith("aftersales.")]

# Older reads that reach up lazily (inside a function) to show one more panel; each is a debt to remove by moving the
# read up a layer, not a licence for new ones.
KNOWN = {
    ("crm/profile.py", "reminders"),
    ("crm/profile.py", "campaigns"),
    ("service/demo.py", "reminders"),
}


def _upward_imports() -> set[tuple[str, str]]:
    rank = {app: position for position, app in enumerate(ORDER)}
    found = set()
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        app = relative.parts[0]
        if app not in rank or "tests" in relative.parts or "migrations" in relative.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                other = module.split(".")[1] if module.startswith("aftersales.") else None
                if other in rank and rank[other] > rank[app]:
                    found.add((relative.as_posix(), other))
    return found


def test_apps_import_only_their_layer_and_below():
    assert ORDER[0] == "core" and ORDER[-1] == "config"
    assert _upward_imports() - KNOWN == set()


def test_the_check_finds_an_upward_import():
    """The sweep is not vacuous: the known upward reads are found."""
    assert KNOWN <= _upward_imports()
