"""Early warnings judge a month only once its figure has settled for the KPI (issue 12 review): on 1 April, March's
first-time fix counts the comebacks so far and leaves every order still in its 30-day window out, so it reads far
worse than it will be; the sweep judges first-time fix on the latest month whose window has closed, and raises the
warning (once, with the month judged as its period) when that month settles red."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from aftersales.analytics import warnings
from aftersales.analytics.catalogue import all_kpis
from aftersales.analytics.kpis_common import RULES, ShareRule
from aftersales.analytics.models import KpiAlert
from aftersales.analytics.periods import LOCAL_TZ, Period
from aftersales.analytics.selectors import kpi_figures, scope_for_store
from aftersales.analytics.snapshots import SETTLE_AFTER, kpi_settled_at, latest_settled_month
from aftersales.analytics.tests.test_kpi_hand_computed import at, order
from aftersales.config.testing import make_customer, make_vehicle
from aftersales.organisation.settings_catalogue import SETTINGS
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.models import ConcernCategory

FTF = "first_time_fix_percent"
MARCH = Period.parse("2026-03")
DEFAULTS = {s.key: s.default for s in SETTINGS}


def local(month: int, day: int, hour: int = 4) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=LOCAL_TZ)


def ftf_alerts() -> list[tuple[str, str, Decimal | None]]:
    return [(a.period, a.kind, a.value) for a in KpiAlert.objects.filter(key=FTF, store__isnull=False).order_by("pk")]


def brakes() -> ConcernCategory:
    return ConcernCategory.objects.get_or_create(
        group=None, code="brakes", defaults={"name_zh_hans": "刹车", "name_en": "Brakes"}
    )[0]


def build_march(cast: Any) -> Any:
    """Three repair orders (A, B, C) delivered 10 March 15:00, brakes; A's comeback arrives 20 March.  Returns B's
    vehicle: its comeback arrives on 8 April (day 29), created then by `b_comes_back`.  C never comes back.
    Settled: 1 of 3 fixed first time = 33.33 % (red against 95)."""
    vehicles = {}
    for name in "ABC":
        vehicles[name] = make_vehicle(make_customer(cast.store_a, name=name))
        order(
            cast.store_a,
            vehicles[name],
            "repair",
            S.DELIVERED,
            at(3, 10, 9),
            concern_category=brakes(),
            delivered_at=at(3, 10, 15),
        )
    order(cast.store_a, vehicles["A"], "repair", S.RECEPTION, at(3, 20), concern_category=brakes())
    return vehicles["B"]


def b_comes_back(cast: Any, vehicle: Any) -> None:
    order(cast.store_a, vehicle, "repair", S.RECEPTION, at(4, 8), concern_category=brakes())


@pytest.mark.django_db
def test_first_time_fix_is_judged_only_once_its_month_has_settled_and_warns_once(cast: Any) -> None:
    b = build_march(cast)
    scope = scope_for_store(cast.store_a)
    # On 1 April March reads 0 % (A's comeback, B and C pending): red, but not settled — no warning.
    early = kpi_figures(scope, MARCH, keys=[FTF], now=local(4, 1))[FTF]
    assert (early.value, early.numerator, early.denominator, early.pending) == (Decimal("0.00"), 0, 1, 2)
    assert early.status == "red"
    with time_machine.travel(local(4, 1), tick=False):
        warnings.warnings_sweep()
    assert ftf_alerts() == []
    b_comes_back(cast, b)
    # 30 April, 23:00: C's window (delivered 10 March) closed long ago, but a 31 March delivery's has not: March
    # is still not judged.
    with time_machine.travel(local(4, 30, 23), tick=False):
        warnings.warnings_sweep()
    assert ftf_alerts() == []
    # 1 May: March has settled at 33.33 % (C fixed; A and B came back): red, raised for March.
    with time_machine.travel(local(5, 1), tick=False):
        warnings.warnings_sweep()
    assert ftf_alerts() == [("2026-03", "red", Decimal("33.33"))]
    # The next days raise nothing more.
    with time_machine.travel(local(5, 2), tick=False):
        warnings.warnings_sweep()
    assert ftf_alerts() == [("2026-03", "red", Decimal("33.33"))]


@pytest.mark.django_db
def test_a_named_month_is_judged_only_for_the_kpis_settled_for_it(cast: Any) -> None:
    b_comes_back(cast, build_march(cast))
    raised = warnings.warnings_sweep(now=local(4, 2), period=MARCH)
    assert FTF not in {a.key for a in raised}  # first-time fix of March not settled on 2 April
    warnings.warnings_sweep(now=local(5, 1), period=MARCH)
    assert ftf_alerts() == [("2026-03", "red", Decimal("33.33"))]


def test_each_kpi_with_a_running_clock_has_its_settle_delay() -> None:
    """A KPI whose rule leaves records pending while a clock runs must say how long after the period that clock
    can run, or the sweep would judge it unsettled."""
    keys = {kpi.key for kpi in all_kpis()}
    with_clock = {key for key, rule in RULES.items() if isinstance(rule, ShareRule) and rule.pending is not None}
    assert with_clock - set(SETTLE_AFTER) == set()
    assert set(SETTLE_AFTER) <= keys


def test_settle_moments_with_the_default_settings() -> None:
    def moment(key: str) -> dt.datetime:
        return kpi_settled_at(key, MARCH, DEFAULTS)

    assert moment(FTF) == local(5, 1, 0)  # 30 days after 1 April 00:00
    assert moment("win_back_rate_percent") == local(6, 30, 0)  # 90 days
    assert moment("follow_up_within_24h_percent") == local(4, 2, 0)
    assert moment("csat_percent") == local(4, 1, 0)  # no clock: the month's end
    # The months judged on 2 May, 04:00.
    now = local(5, 2)
    assert str(latest_settled_month("csat_percent", DEFAULTS, now)) == "2026-04"
    assert str(latest_settled_month(FTF, DEFAULTS, now)) == "2026-03"
    assert str(latest_settled_month("win_back_rate_percent", DEFAULTS, now)) == "2026-01"
    assert str(latest_settled_month(FTF, DEFAULTS, local(4, 30, 23))) == "2026-02"
