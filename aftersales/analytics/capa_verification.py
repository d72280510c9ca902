"""A CAPA's effect measured by the KPI catalogue instead of typed numbers (issue 12 part 5).

- **before**: the KPI for the CAPA's store over the full month before the CAPA was opened (the month that
  showed the problem; the month of opening is partly before and partly after);
- **after**: the KPI over the latest month that has closed and that began after the last corrective action was
  done (a month during which actions were still being taken would mix both states).  Until such a month has
  closed there is no "after" and nothing can be recorded.
The figures are `kpi_figures` of the store's scope, the same the dashboards show; feedback's
`capa_kpi_verify` stores them (feedback, a layer below, never imports the catalogue)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.analytics.catalogue import KpiResult
from aftersales.analytics.periods import Period
from aftersales.analytics.selectors import kpi_figures, scope_for_store
from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.feedback.choices import CapaStatus
from aftersales.feedback.models import Capa
from aftersales.feedback.services import capa_kpi_verify
from aftersales.feedback.transitions import CAPA


@dataclass(frozen=True)
class Plan:
    before_period: Period
    after_period: Period | None  # None: no month has closed since the actions were done
    actions_done_at: dt.datetime | None  # the last action's done time (None: not all done)
    before: KpiResult | None = None
    after: KpiResult | None = None


def periods_for(capa: Capa, *, now: dt.datetime) -> tuple[Period, Period | None, dt.datetime | None]:
    opened = timezone.localtime(capa.created_at).date()
    before = Period.containing(opened).previous()
    undone = capa.actions.filter(done_at__isnull=True).exists()
    last_done = None if undone else capa.actions.aggregate(last=Max("done_at"))["last"]
    after = None
    if last_done is not None:
        first_after = Period.containing(timezone.localtime(last_done).date()).shift(1)
        latest_closed = Period.containing(timezone.localtime(now).date()).previous()
        if latest_closed >= first_after:
            after = latest_closed
    return before, after, last_done


def verification_plan(*, capa: Capa, key: str | None, now: dt.datetime | None = None) -> Plan:
    now = now or clock.now()
    before_period, after_period, last_done = periods_for(capa, now=now)
    if not key:
        return Plan(before_period, after_period, last_done)
    scope = scope_for_store(capa.store)
    before = kpi_figures(scope, before_period, keys=[key], now=now)[key]
    after = kpi_figures(scope, after_period, keys=[key], now=now)[key] if after_period else None
    return Plan(before_period, after_period, last_done, before, after)


def may_record(*, capa: Capa, user: Any) -> bool:
    return capa.status == CapaStatus.VERIFYING and CAPA.may(CAPA.get("edit"), actor=user, store_id=capa.store_id)


def capa_verify_from_catalogue(*, capa: Capa, key: str, by: Any, now: dt.datetime | None = None) -> Capa:
    """Compute the KPI before and after and store them on the CAPA through feedback's service."""
    now = now or clock.now()
    plan = verification_plan(capa=capa, key=key or None, now=now)
    if not key:
        raise ApplicationError(_("Choose a KPI of the catalogue."))
    if plan.after_period is None or plan.after is None or plan.before is None:
        raise ApplicationError(
            _("There is no closed month after the corrective actions were done yet; verify once one has closed.")
        )
    return capa_kpi_verify(
        capa=capa,
        by=by,
        kpi_key=key,
        before=plan.before.value,
        after=plan.after.value,
        before_period=str(plan.before_period),
        after_period=str(plan.after_period),
    )
