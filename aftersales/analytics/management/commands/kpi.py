"""`aftersales kpi (--store CODE | --group CODE) --period YYYY-MM|YYYY-Qn|YYYY [--json]`: every KPI of KPIS.md for
a store or a dealer group and a period (ARCHITECTURE.md's public contract).

With --json it prints exactly the body of `GET /api/v1/kpis` (`selectors.kpi_json`):
    {"store": "SH01", "period": "2026-05", "kpis": {KEY: {"value", "numerator", "denominator", "target", "status"}}}
(`"store": null, "group": CODE` for a group; `mean_repair_duration_hours` maps each service type and `all` to such
an object).  Without --json: a table in the current language.  Bad input: a message naming the argument, exit 2."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from aftersales.analytics import selectors
from aftersales.analytics.catalogue import KpiResult, registered
from aftersales.analytics.periods import Period, PeriodError
from aftersales.organisation.models import DealerGroup, Store

STATUS_MARK = {"green": "●", "amber": "◐", "red": "○", None: ""}


def _bad(argument: str, message: str) -> CommandError:
    return CommandError(f"{argument}: {message}", returncode=2)


class Command(BaseCommand):
    help = "Every KPI of a store or a dealer group for a month, quarter or year."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--store", metavar="CODE", help="a store by its code")
        parser.add_argument("--group", metavar="CODE", help="a dealer group by its code (instead of --store)")
        parser.add_argument("--period", metavar="PERIOD", help="YYYY-MM, YYYY-Qn or YYYY")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args: Any, **options: Any) -> None:
        store_code, group_code = options["store"], options["group"]
        if bool(store_code) == bool(group_code):
            raise _bad("--store", _("give either --store CODE or --group CODE."))
        if not options["period"]:
            raise _bad("--period", _("required (YYYY-MM, YYYY-Qn or YYYY)."))
        try:
            period = Period.parse(options["period"])
        except PeriodError as exc:
            raise _bad("--period", str(exc)) from exc
        if store_code:
            store = Store.objects.filter(code=store_code).first()
            if store is None:
                raise _bad("--store", _("no store with the code %(code)s.") % {"code": repr(store_code)})
            scope = selectors.scope_for_store(store)
        else:
            group = DealerGroup.objects.filter(code=group_code).first()
            if group is None:
                raise _bad("--group", _("no dealer group with the code %(code)s.") % {"code": repr(group_code)})
            scope = selectors.scope_for_group(group)
        results = selectors.kpi_figures(scope, period)
        if options["json"]:
            self.stdout.write(json.dumps(selectors.kpi_json(scope, period, results), ensure_ascii=False))
            return
        self.stdout.write(f"{scope.label}  {period}")
        for key, result in results.items():
            label = str(registered(key).label)
            self._row(label, result)
            for name, part in result.extra.get("by_service_type", {}).items():
                self._row(f"  · {_service_type_label(name)}", part)

    def _row(self, label: str, result: KpiResult) -> None:
        value = "—" if result.value is None else f"{result.value}"
        target = "" if result.target is None else f"{result.target}"
        counts = f"{_plain(result.numerator)}/{result.denominator}"
        tail = result.reason or STATUS_MARK[result.status] + (
            f" {_status_label(result.status)}" if result.status else ""
        )
        self.stdout.write(f"{label:<34} {value:>10}  {target:>8}  {counts:>14}  {tail}")


def _plain(number: Any) -> str:
    return f"{round(number, 2)}" if not isinstance(number, int) else str(number)


def _status_label(status: str | None) -> str:
    return {"green": _("green"), "amber": _("amber"), "red": _("red")}.get(status or "", "")


def _service_type_label(name: str) -> str:
    from aftersales.service.choices import ServiceType

    return str(ServiceType(name).label) if name in ServiceType.values else name
