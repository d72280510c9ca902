"""First-time fix follows the advisor's comeback decision (issue 12 review): an order failed when a later order is
linked to it as its comeback (suggested or confirmed, whatever its category), or when a later order of the same
vehicle and concern category arrived within the window and the advisor did not rule it out.  And CSI's numerator
is the same whatever order the database returns the item rows in."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pytest

from aftersales.analytics.kpis_voice import _csi
from aftersales.analytics.periods import LOCAL_TZ, Period
from aftersales.analytics.selectors import kpi_drilldown, kpi_figures, scope_for_store
from aftersales.analytics.tests.test_kpi_hand_computed import at, order
from aftersales.config.testing import make_customer, make_vehicle
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.models import ConcernCategory

FTF = "first_time_fix_percent"
MARCH = Period.parse("2026-03")
NOW = dt.datetime(2026, 5, 15, 12, 0, tzinfo=LOCAL_TZ)  # March's windows have closed


def category(code: str) -> ConcernCategory:
    names = {"name_zh_hans": code, "name_en": code}
    return ConcernCategory.objects.get_or_create(group=None, code=code, defaults=names)[0]


@pytest.mark.django_db
def test_first_time_fix_follows_the_advisors_comeback_decision(cast: Any) -> None:
    store, brakes, engine = cast.store_a, category("brakes"), category("engine")

    def delivered(name: str, day: int) -> tuple[Any, Any]:
        vehicle = make_vehicle(make_customer(store, name=name))
        first = order(
            store, vehicle, "repair", S.DELIVERED, at(3, day, 9), concern_category=brakes, delivered_at=at(3, day, 15)
        )
        return vehicle, first

    # linked: back under another category, linked by the advisor → failed (the category rule alone misses it).
    v1, linked = delivered("linked", 5)
    order(
        store,
        v1,
        "repair",
        S.RECEPTION,
        at(3, 10),
        concern_category=engine,
        comeback_of=linked,
        comeback_confirmed_at=at(3, 10, 11),
    )
    # cleared: back for brakes, the advisor ruled the comeback out → fixed first time.
    v2, cleared = delivered("cleared", 6)
    order(store, v2, "repair", S.RECEPTION, at(3, 12), concern_category=brakes, comeback_confirmed_at=at(3, 12, 11))
    # undecided: back for brakes, nobody decided yet → failed.
    v3, undecided = delivered("undecided", 7)
    order(store, v3, "repair", S.RECEPTION, at(3, 15), concern_category=brakes)
    # quiet: never back → fixed.
    _v4, quiet = delivered("quiet", 8)

    scope = scope_for_store(store)
    figure = kpi_figures(scope, MARCH, keys=[FTF], now=NOW)[FTF]
    assert (figure.value, figure.numerator, figure.denominator, figure.pending) == (Decimal("50.00"), 2, 4, 0)
    fixed = {row.pk for row in kpi_drilldown(FTF, scope, MARCH, now=NOW) if row.meets}
    assert fixed == {cleared.pk, quiet.pk}
    assert linked.pk not in fixed and undecided.pk not in fixed


def test_csi_adds_its_item_scores_in_item_order() -> None:
    """Σ of repeating fractions: in database order the 28th digit may differ between the grouped and the single
    read; in item order every permutation gives one numerator."""
    rows = [("a", 10, 3), ("b", 20, 7), ("c", 17, 6), ("d", 5, 1)]
    numerators = {_csi(list(permutation), None).numerator for permutation in itertools.permutations(rows)}
    assert len(numerators) == 1
    assert _csi(rows, None).denominator == 4
    weights = {"a": Decimal("0.3"), "b": Decimal("0.1"), "c": Decimal("0.35"), "d": Decimal("0.25")}
    weighted = {_csi(list(permutation), weights).numerator for permutation in itertools.permutations(rows)}
    assert len(weighted) == 1
