"""`aftersales fuzzy FILE.json`: fuzzy comprehensive evaluation (ARCHITECTURE.md's public contract, issue 13).

The file is {"weights": [...], "membership": [[...], ...], "operator": "weighted_average" | "max_min",
"grade_values": [...]} (membership rows may be answer counts: each row is normalised; numbers as decimals or strings
like "1/3"; operator defaults to weighted_average; grade_values default to 100/80/60/40/20 for five grades, else no
score).  It prints
    {"vector": [...], "grade_index": i, "score": x, "ties": [...], "contributions": [...], "operator": ...,
     "grade_values": [...]}
grade_index counts from 0 (best grade first); when grades tie for the maximum, "ties" lists them all and grade_index
is the first.  Exit status 0, or 2 on invalid input with the reason on stderr."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from aftersales.analytics.evaluation.cli import fuzzy_answer, read_json_object
from aftersales.analytics.evaluation.parsing import InputError


class Command(BaseCommand):
    help = "Fuzzy comprehensive evaluation of a weight vector and a membership matrix in a JSON file."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE.json", help='{"weights": [...], "membership": [[...], ...]}')

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            answer = fuzzy_answer(read_json_object(options["file"]))
        except InputError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        self.stdout.write(json.dumps(answer, ensure_ascii=False))
