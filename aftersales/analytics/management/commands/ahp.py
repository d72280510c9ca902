"""`aftersales ahp FILE.json`: AHP weights and consistency of a pairwise comparison matrix (ARCHITECTURE.md's public
contract, issue 13).

The file is {"matrix": [[...], ...]} (numbers as decimals or strings like "1/3"), optionally with
"method": "eigenvector" | "geometric" and "ri_table": "chinese_textbook" | "saaty_2005" | "donegan_dodd".  It prints
    {"weights": [...], "lambda_max": x, "ci": x, "cr": x, "consistent": true|false, "method": ..., "ri_table": ...,
     "ri": x}
plus "inconsistent_pairs" (rows and columns from 1, worst first, with the consistent value w_i/w_j) when CR ≥ 0.10.
Exit status: 0 consistent, 1 when CR ≥ 0.10 (the JSON is still printed), 2 on invalid input with the reason on stderr.
docs/evaluation.md explains the maths."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from aftersales.analytics.evaluation.cli import ahp_answer, read_json_object
from aftersales.analytics.evaluation.parsing import InputError


class Command(BaseCommand):
    help = "AHP weights, λmax, CI and CR of a pairwise comparison matrix in a JSON file."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE.json", help='{"matrix": [[1, 3], ["1/3", 1]]}')

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            answer = ahp_answer(read_json_object(options["file"]))
        except InputError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        self.stdout.write(json.dumps(answer, ensure_ascii=False))
        if not answer["consistent"]:
            raise CommandError(
                _("inconsistent: CR = %(cr).3f ≥ 0.10 (RI table %(table)s).")
                % {"cr": answer["cr"], "table": answer["ri_table"]},
                returncode=1,
            )
