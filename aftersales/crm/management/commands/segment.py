"""`aftersales segment [--store CODE] [--json] [--recompute [--as-of YYYY-MM-DD]]`: tier counts per store and the
rule thresholds in force (ARCHITECTURE.md's public contract).

With --json it prints exactly:
    {"as_of": "YYYY-MM-DD",
     "thresholds": {"tier_window_months": 12, …, "tier_a_min_amount": "15000.00"},
     "stores": [{"code": "SH01", "tiers": {"A": n, "B": n, "C": n, "D": n, "none": n}, "nev": n}, …]}
`as_of` is the day the stored tiers were computed; a customer counts in the store of their last closed visit (their
registered store when they have none), so the stores add up to the group.  `thresholds` are the named store's, or
the group's when all stores are printed (a store's own override shows in the table and on the tiers page)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from aftersales.core import clock
from aftersales.crm import selectors, services
from aftersales.organisation.models import Store


def _day(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError("--as-of must be a date YYYY-MM-DD") from exc


_day.__name__ = "--as-of (YYYY-MM-DD)"


class Command(BaseCommand):
    help = "Customer tiers (RFM) per store and the rule thresholds in force."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--store", metavar="CODE", help="one store by its code (default: every store)")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
        parser.add_argument(
            "--recompute", action="store_true", help="compute every customer's tier first (as the nightly job does)"
        )
        parser.add_argument("--as-of", type=_day, default=None, help="with --recompute: the day to compute for")

    def handle(self, *args: Any, **options: Any) -> None:
        stores = list(Store.objects.select_related("group").order_by("code"))
        code = options["store"]
        if code is not None:
            stores = [s for s in stores if s.code == code]
            if not stores:
                raise CommandError(f"--store: no store with the code {code!r}")
        if not stores:
            raise CommandError("There is no store yet: run `aftersales seed` or create one first.")
        if options["as_of"] and not options["recompute"]:
            raise CommandError("--as-of needs --recompute (the stored tiers are of one day)")
        if options["recompute"]:
            summary = services.tiers_compute(as_of=options["as_of"])
            self.stderr.write(f"Computed the tiers of {summary.customers} customers as of {summary.as_of}.")
        store_ids = [s.pk for s in stores]
        as_of = selectors.tiers_as_of(store_ids=store_ids)
        if as_of is None:
            self.stderr.write("The tiers have not been computed yet: run with --recompute (or wait for the night).")
            as_of = clock.today()
        rows = selectors.tier_counts(store_ids=store_ids, with_thresholds=not options["json"])
        thresholds = selectors.group_thresholds(stores)
        if options["json"]:
            payload = {
                "as_of": as_of.isoformat(),
                "thresholds": thresholds.as_dict(),
                "stores": [{"code": row.store.code, "tiers": row.tiers, "nev": row.nev} for row in rows],
            }
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
            return
        self._table(as_of, thresholds, rows)

    def _table(self, as_of: dt.date, thresholds: services.Thresholds, rows: list[selectors.StoreTiers]) -> None:
        out = self.stdout.write
        out(f"Customer tiers as of {as_of}")
        for key, value in thresholds.as_dict().items():
            out(f"  {key:<22} {value}")
        out("")
        header = f"{'store':<8} {'A':>7} {'B':>7} {'C':>7} {'D':>7} {'none':>7} {'total':>8} {'NEV':>7}"
        out(header)
        out("-" * len(header))
        for row in rows:
            t = row.tiers
            line = (
                f"{row.store.code:<8} {t['A']:>7} {t['B']:>7} {t['C']:>7} {t['D']:>7} {t['none']:>7} "
                f"{row.total:>8} {row.nev:>7}"
            )
            if row.thresholds is not None and row.thresholds != thresholds:
                line += (
                    "  (own thresholds: "
                    + ", ".join(f"{k}={v}" for k, v in row.thresholds.as_dict().items() if thresholds.as_dict()[k] != v)
                    + ")"
                )
            out(line)
        totals = selectors.total_tiers(rows)
        out("-" * len(header))
        out(
            f"{'all':<8} {totals['A']:>7} {totals['B']:>7} {totals['C']:>7} {totals['D']:>7} {totals['none']:>7} "
            f"{sum(totals.values()):>8} {sum(row.nev for row in rows):>7}"
        )
        tiered = sum(totals.values()) - totals["none"]
        if tiered:
            shares = "  ".join(f"{k} {100 * totals[k] / tiered:.1f}%" for k in ("A", "B", "C", "D"))
            out(f"shares of customers with a tier: {shares}")
