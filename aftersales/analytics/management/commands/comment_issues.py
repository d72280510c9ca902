"""`aftersales comment_issues --period YYYY-MM|YYYY-Qn|YYYY [--store CODE]`: read the customers' comments of a
period again (each month of it, every store or one) and print what was found per store-month as JSON lines.
The nightly job does this for what changed; this is for a lexicon change or a repair.  Bad input: exit 2."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from aftersales.analytics.comment_issues import comments_scan
from aftersales.analytics.periods import Period, PeriodError
from aftersales.organisation.models import Store


class Command(BaseCommand):
    help = "Read the customers' comments of a period again and store the issues found (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", metavar="PERIOD", required=True, help="YYYY-MM, YYYY-Qn or YYYY")
        parser.add_argument("--store", metavar="CODE", help="one store by its code (default: every store)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = Period.parse(options["period"])
        except PeriodError as exc:
            raise CommandError(f"--period: {exc}", returncode=2) from exc
        stores = Store.objects.order_by("code")
        if options["store"]:
            stores = stores.filter(code=options["store"])
            if not stores.exists():
                raise CommandError(f"--store: no store with the code {options['store']!r}.", returncode=2)
        for store in stores:
            for month in period.months():
                result = comments_scan(store=store, period=month)
                self.stdout.write(json.dumps({**result.as_dict(), "store": store.code}, ensure_ascii=False))
