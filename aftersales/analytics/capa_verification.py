"""A CAPA's effect measured by the KPI catalogue instead of typed numbers (issue 12 part 5).

- **before**: the KPI for the CAPA's store over the full month before the CAPA was opened (the month that
  showed the problem; the month of opening is partly before and partly after);
- **after**: the KPI over the latest *settled* month that began after the last corrective action was done (a
  month during which actions were still being taken would mix both states).
A month counts only once the KPI's figure of it has settled (`snapshots.kpi_settled_at`: its end + that KPI's own
window — a comeback's 30 days, a win-back's 90, a follow-up's 24 hours; without a KPI chosen, the longest of all,
`snapshots.settled_at`): before that its figure can still move,
and a verification recorded on it would be wrong.  Until both months have settled there is nothing to record
and the page says until when verification waits (`Plan.waits_until`).
The figures are `kpi_figures` of the store's scope, the same the dashboards show; feedback's
`capa_kpi_verify` stores them (feedback, a layer below, never imports the catalogue).

Who: the figures are the store's KPIs, so reading them needs VIEW_KPIS in the CAPA's store; recording them
needs MANAGE_CAPA there too (feedback's CAPA "edit" move).  Both are checked here, with the typed user, not
only by the page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.analytics.catalogue import KpiResult
from aftersales.analytics.periods import Period
from aftersales.analytics.selectors import kpi_figures, scope_for_store
from aftersales.analytics.snapshots import kpi_settled_at
from aftersales.analytics.snapshots import settled_at as settled_of_all
from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.feedback.choices import CapaStatus
from aftersales.feedback.models import Capa
from aftersales.feedback.services import capa_kpi_verify
from aftersales.feedback.transitions import CAPA
from aftersales.organisation.permissions import Capability, user_can
from aftersales.organisation.selectors import setting_values_for_store


@dataclass(frozen=True)
class Plan:
    before_period: Period
    after_period: Period | None  # None: no settled month since the actions were done (or they are not all done)
    actions_done_at: dt.datetime | None  # the last action's done time (None: not all done)
    before: KpiResult | None = None
    after: KpiResult | None = None
    # When the months to compare will have settled (None: they have, or the actions are not all done).
    waits_until: dt.datetime | None = None
    before_settled: bool = True


def may_see_figures(*, capa: Capa, user: Any) -> bool:
    """The figures are the store's KPIs: VIEW_KPIS in the CAPA's store (VIEW_FEEDBACK reads the CAPA only)."""
    return user_can(user, Capability.VIEW_KPIS, capa.store_id)


def periods_for(
    capa: Capa, *, now: dt.datetime, values: Mapping[str, Any] | None = None, key: str | None = None
) -> tuple[Period, Period | None, dt.datetime | None, dt.datetime | None]:
    """(before, after or None, last action done at, waits until or None), settled for the KPI `key` (for every
    KPI when None)."""
    values = values if values is not None else setting_values_for_store(capa.store)

    def settled_at(period: Period, values: Mapping[str, Any]) -> dt.datetime:
        return kpi_settled_at(key, period, values) if key else settled_of_all(period, values)

    opened = timezone.localtime(capa.created_at).date()
    before = Period.containing(opened).previous()
    undone = capa.actions.filter(done_at__isnull=True).exists()
    last_done = None if undone else capa.actions.aggregate(last=Max("done_at"))["last"]
    waits: list[dt.datetime] = []
    if settled_at(before, values) > now:
        waits.append(settled_at(before, values))
    after = None
    if last_done is not None:
        first_after = Period.containing(timezone.localtime(last_done).date()).shift(1)
        # The latest month that has settled: walk back from the last closed one (at most a few steps: the
        # settle days are bounded by the settings' maxima).
        candidate = Period.containing(timezone.localtime(now).date()).previous()
        while candidate >= first_after and settled_at(candidate, values) > now:
            candidate = candidate.previous()
        if candidate >= first_after:
            after = candidate
        else:
            waits.append(settled_at(first_after, values))
    waits_until = max(waits) if waits else None
    return before, after, last_done, waits_until


def verification_plan(*, capa: Capa, key: str | None, user: Any, now: dt.datetime | None = None) -> Plan:
    """The months and (with a key) the figures.  PermissionDenied without VIEW_KPIS in the CAPA's store."""
    if not may_see_figures(capa=capa, user=user):
        raise PermissionDenied(_("Your role may not do this."))
    now = now or clock.now()
    values = setting_values_for_store(capa.store)
    before_period, after_period, last_done, waits_until = periods_for(capa, now=now, values=values, key=key)
    settled = kpi_settled_at(key, before_period, values) if key else settled_of_all(before_period, values)
    before_settled = settled <= now
    if not key:
        return Plan(before_period, after_period, last_done, waits_until=waits_until, before_settled=before_settled)
    scope = scope_for_store(capa.store)
    before = kpi_figures(scope, before_period, keys=[key], now=now, values=values)[key]
    after = kpi_figures(scope, after_period, keys=[key], now=now, values=values)[key] if after_period else None
    return Plan(before_period, after_period, last_done, before, after, waits_until, before_settled)


def may_record(*, capa: Capa, user: Any) -> bool:
    return (
        capa.status == CapaStatus.VERIFYING
        and may_see_figures(capa=capa, user=user)
        and CAPA.may(CAPA.get("edit"), actor=user, store_id=capa.store_id)
    )


def capa_verify_from_catalogue(*, capa: Capa, key: str, by: Any, now: dt.datetime | None = None) -> Capa:
    """Compute the KPI before and after and store them on the CAPA through feedback's service.  Needs VIEW_KPIS
    and MANAGE_CAPA in the CAPA's store, and both months settled."""
    now = now or clock.now()
    if not (may_see_figures(capa=capa, user=by) and user_can(by, Capability.MANAGE_CAPA, capa.store_id)):
        raise PermissionDenied(_("Your role may not do this."))
    plan = verification_plan(capa=capa, key=key or None, user=by, now=now)
    if not key:
        raise ApplicationError(_("Choose a KPI of the catalogue."))
    if not plan.before_settled or plan.after_period is None or plan.after is None or plan.before is None:
        if plan.waits_until is not None:
            raise ApplicationError(
                _("The figures to compare have not settled yet; verification waits until %(date)s.")
                % {"date": timezone.localtime(plan.waits_until).date().isoformat()}
            )
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
