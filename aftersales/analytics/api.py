"""API of the KPI catalogue: `GET /kpis` (every KPI of a store or a group for a period: the body of `aftersales kpi
--json`) and `GET /kpis/{key}/series` (one KPI over a range of periods of one kind).  Scoped: the caller needs
`view_kpis` in the store, or in every store of the group.  An unknown or unseen store / group is a 422 naming the
field (like everywhere in this API), a store seen without the capability a 403, an unknown KPI a 404."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from aftersales.analytics import selectors
from aftersales.analytics.catalogue import Scope
from aftersales.analytics.periods import Period, PeriodError
from aftersales.core.scoping import store_ids_where
from aftersales.organisation.access import require, store_by_code
from aftersales.organisation.models import DealerGroup
from aftersales.organisation.permissions import Capability, user_can

router = Router(tags=["KPIs"])
MAX_SERIES = 60  # five years of months


class ScopeIn(Schema):
    store: str | None = Field(None, max_length=16, description="a store's code")
    group: str | None = Field(None, max_length=32, description="a dealer group's code (instead of store)")


class FiguresIn(ScopeIn):
    period: str = Field(..., max_length=8, description="YYYY-MM, YYYY-Qn or YYYY")


class SeriesIn(ScopeIn):
    from_: str = Field(..., alias="from", max_length=8, description="first period (YYYY-MM, YYYY-Qn or YYYY)")
    to: str = Field(..., max_length=8, description="last period, of the same kind")


def _period(text: str, field: str) -> Period:
    try:
        return Period.parse(text)
    except PeriodError as exc:
        raise ValidationError({field: [str(exc)]}) from exc


def _scope(user: Any, filters: ScopeIn) -> Scope:
    if bool(filters.store) == bool(filters.group):
        raise ValidationError({"store": [_("Give either store or group.")]})
    if filters.store:
        store = store_by_code(user, filters.store)
        require(user, Capability.VIEW_KPIS, store_id=store.pk)
        return selectors.scope_for_store(store)
    visible = store_ids_where(user, None)
    group = DealerGroup.objects.filter(code=filters.group, stores__id__in=visible).distinct().first()
    if group is None:
        raise ValidationError({"group": [_("No dealer group with this code that you may see.")]})
    scope = selectors.scope_for_group(group)
    if not all(user_can(user, Capability.VIEW_KPIS, store_id) for store_id in sorted(scope.store_ids)):
        raise PermissionDenied(_("The group's figures need the KPI view in every store of the group."))
    return scope


@router.get("/kpis", response=dict[str, Any], summary="Every KPI of a store or a group for a period")
def kpi_figures(request: HttpRequest, filters: Query[FiguresIn]) -> Any:
    scope = _scope(request.auth, filters)
    period = _period(filters.period, "period")
    return selectors.kpi_json(scope, period, selectors.kpi_figures(scope, period))


@router.get("/kpis/{key}/series", response=dict[str, Any], summary="One KPI over a range of periods")
def kpi_series(request: HttpRequest, key: str, filters: Query[SeriesIn]) -> Any:
    if key not in selectors.known_keys():
        raise Http404
    scope = _scope(request.auth, filters)
    first, last = _period(filters.from_, "from"), _period(filters.to, "to")
    if first.kind != last.kind:
        raise ValidationError({"to": [_("from and to must be periods of the same kind.")]})
    periods = [first]
    while periods[-1] < last and len(periods) <= MAX_SERIES:
        periods.append(periods[-1].shift(1))
    if last < first or len(periods) > MAX_SERIES:
        message = _("to must not come before from, and a series holds at most %(n)s periods.")
        raise ValidationError({"to": [message % {"n": MAX_SERIES}]})
    series = selectors.kpi_series(key, scope, periods)
    body = selectors.kpi_json(scope, first, {})
    body.pop("period")
    body.pop("kpis")
    body.update(
        {
            "key": key,
            "from": str(first),
            "to": str(last),
            "series": [{"period": str(period), **selectors.public_figure(key, result)} for period, result in series],
        }
    )
    return body
