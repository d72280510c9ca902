"""Early warnings (危机预警): entering red, three deteriorations in a row (direction-aware), raised once per KPI,
scope, period and kind however often the sweep runs, reaching the store's (or the group's) managers' inbox with
the drill-down and the CAPA links; the warnings page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.urls import reverse

from aftersales.analytics import warnings
from aftersales.analytics.catalogue import KpiResult
from aftersales.analytics.models import KpiAlert
from aftersales.analytics.periods import Period
from aftersales.config.testing import make_user
from aftersales.notifications.models import InboxItem
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Store

D = Decimal
# 2 June 2026, 04:00 in Shanghai: the last closed month is May.
NOW = dt.datetime(2026, 6, 1, 20, 0, tzinfo=dt.UTC)


def figure(key: str, value: str | None, status: str | None, target: str = "90") -> KpiResult:
    return KpiResult(
        key=key,
        value=None if value is None else D(value),
        numerator=0,
        denominator=0 if value is None else 10,
        target=D(target),
        status=status,  # type: ignore[arg-type]
    )


class FakeCatalogue:
    """kpi_figures answering from a table: {(scope label, "YYYY-MM"): {key: KpiResult}}; anything else empty."""

    def __init__(self) -> None:
        self.table: dict[tuple[str, str], dict[str, KpiResult]] = {}

    def series(self, label: str, key: str, values: dict[str, tuple[str | None, str | None]], target: str = "90"):
        for period, (value, status) in values.items():
            self.table.setdefault((label, period), {})[key] = figure(key, value, status, target)

    def __call__(self, scope, period, *, keys=None, now=None, values=None):
        return dict(self.table.get((scope.label, str(period)), {}))

    def by_store(self, scope, period, *, keys=None, now=None):
        """kpi_figures_by_store: the same table, by store code."""
        codes = dict(Store.objects.filter(pk__in=scope.store_ids).values_list("pk", "code"))
        return {pk: dict(self.table.get((code, str(period)), {})) for pk, code in codes.items()}


@pytest.fixture
def fake(monkeypatch):
    catalogue = FakeCatalogue()
    monkeypatch.setattr(warnings, "kpi_figures", catalogue)
    monkeypatch.setattr(warnings, "kpi_figures_by_store", catalogue.by_store)
    return catalogue


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


class TestRules:
    def test_worse_is_direction_aware(self):
        assert warnings.worse(D("90"), D("89"), "higher")
        assert not warnings.worse(D("90"), D("91"), "higher")
        assert warnings.worse(D("30"), D("31"), "lower")
        assert warnings.worse(D("5"), D("6"), "trend_down")
        assert not warnings.worse(None, D("6"), "lower")

    def test_three_deteriorations_that_just_reached_three(self):
        assert warnings.falling([D(95), D(94), D(93), D(92), D(91)], "higher") is False  # the 4th in a row
        assert warnings.falling([D(90), D(95), D(94), D(93), D(92)], "higher") is True
        assert warnings.falling([None, D(95), D(94), D(93), D(92)], "higher") is True
        assert warnings.falling([D(90), D(95), D(94), D(94), D(92)], "higher") is False  # equal is not worse
        assert warnings.falling([D(90), D(20), D(25), D(30), D(31)], "lower") is True
        assert warnings.falling([D(90), None, D(25), D(30), D(31)], "lower") is False  # a gap breaks the streak

    def test_the_sweep_looks_at_the_last_closed_month_in_shanghai_time(self):
        assert str(warnings.sweep_period(dt.datetime(2026, 5, 31, 16, 0, tzinfo=dt.UTC))) == "2026-05"  # 1 Jun 00:00
        assert str(warnings.sweep_period(dt.datetime(2026, 5, 31, 15, 59, tzinfo=dt.UTC))) == "2026-04"


class TestSweep:
    def test_entering_red_raises_once_and_reaches_the_store_managers_inbox(self, cast, clock, fake):
        fake.series("SH01", "csat_percent", {"2026-04": ("88.00", "amber"), "2026-05": ("70.00", "red")})
        raised = warnings.warnings_sweep()
        assert [(a.store_id, a.key, a.period, a.kind) for a in raised] == [
            (cast.store_a.pk, "csat_percent", "2026-05", "red")
        ]
        assert raised[0].value == D("70.00") and raised[0].target == D("90")
        # The second run (and the next day's) raises nothing and tells nobody twice.
        assert warnings.warnings_sweep() == []
        with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
            assert warnings.warnings_sweep() == []
        assert KpiAlert.objects.count() == 1
        items = list(InboxItem.objects.filter(kind="kpi_alert_red"))
        assert [item.recipient for item in items] == [cast.mia]  # the store's manager only
        url = urlsplit(items[0].url)
        assert url.path == "/numbers/kpi/csat_percent/"
        assert parse_qs(url.query) == {"period": ["2026-05"], "store": ["SH01"]}
        capa_path = reverse("feedback:capa-create")
        assert capa_path in items[0].text_en and "kpi=csat_percent" in items[0].text_en
        assert f"store={cast.store_a.pk}" in items[0].text_en
        assert "70.00" in items[0].text_zh_hans

    def test_red_the_period_before_raises_nothing(self, cast, clock, fake):
        fake.series("SH01", "csat_percent", {"2026-04": ("70.00", "red"), "2026-05": ("60.00", "red")})
        assert warnings.warnings_sweep() == []

    def test_three_worse_months_raise_falling_with_a_controlled_clock(self, cast, clock, fake):
        # Waiting time (lower is better): 20 → 22 → 25 → 28 minutes, all green against 30.
        fake.series(
            "SH01",
            "waiting_time_minutes",
            {
                "2026-01": ("21.00", "green"),
                "2026-02": ("20.00", "green"),
                "2026-03": ("22.00", "green"),
                "2026-04": ("25.00", "green"),
                "2026-05": ("28.00", "green"),
                "2026-06": ("29.00", "green"),
            },
            target="30",
        )
        raised = warnings.warnings_sweep()
        assert [(a.key, a.period, a.kind) for a in raised] == [("waiting_time_minutes", "2026-05", "falling")]
        text = InboxItem.objects.get(kind="kpi_alert_falling").text_en
        assert "20.00 → 22.00 → 25.00 → 28.00" in text
        # A month later the slide goes on (29 in June): a fourth deterioration does not warn again.
        with time_machine.travel(dt.datetime(2026, 7, 1, 20, 0, tzinfo=dt.UTC), tick=False):
            assert warnings.warnings_sweep() == []

    def test_before_the_third_worse_month_closes_nothing_is_raised(self, cast, fake):
        fake.series(
            "SH01",
            "waiting_time_minutes",
            {"2026-02": ("20.00", "green"), "2026-03": ("22.00", "green"), "2026-04": ("25.00", "green")},
            target="30",
        )
        # 31 May 23:00 in Shanghai: May (which would be the third) is not closed; April is the month examined.
        with time_machine.travel(dt.datetime(2026, 5, 31, 15, 0, tzinfo=dt.UTC), tick=False):
            assert warnings.warnings_sweep() == []

    def test_a_group_breach_reaches_the_group_managers(self, cast, clock, fake):
        fake.series("g1", "csat_percent", {"2026-04": ("91.00", "green"), "2026-05": ("80.00", "red")})
        raised = warnings.warnings_sweep()
        assert [(a.store_id, a.group_id, a.kind) for a in raised] == [(None, cast.group.pk, "red")]
        items = list(InboxItem.objects.filter(kind="kpi_alert_red"))
        assert [item.recipient for item in items] == [cast.grace]
        assert parse_qs(urlsplit(items[0].url).query) == {"period": ["2026-05"], "group": ["g1"]}

    def test_with_the_real_catalogue_and_no_records_nothing_is_raised(self, cast, clock):
        assert warnings.warnings_sweep() == []


class TestPage:
    def test_the_warnings_page_lists_the_stores_alerts_with_their_links(self, client, cast, clock, fake):
        fake.series("SH01", "csat_percent", {"2026-04": ("88.00", "amber"), "2026-05": ("70.00", "red")})
        fake.series("HZ01", "csat_percent", {"2026-04": ("88.00", "amber"), "2026-05": ("70.00", "red")})
        warnings.warnings_sweep()
        client.force_login(cast.mia)
        page = client.get(reverse("analytics:warnings")).content.decode()
        assert page.count('data-key="csat_percent"') == 1  # store B's is not hers
        assert "/numbers/kpi/csat_percent/?period=2026-05&amp;store=SH01" in page
        assert 'data-link="open-capa"' in page
        client.force_login(cast.grace)
        assert client.get(reverse("analytics:warnings")).content.decode().count('data-key="csat_percent"') == 2
        client.force_login(cast.otto)
        assert 'data-key="csat_percent"' not in client.get(reverse("analytics:warnings")).content.decode()
        client.force_login(cast.alice)  # an advisor does not read the store's KPIs
        assert client.get(reverse("analytics:warnings")).status_code == 403

    def test_the_open_a_capa_link_prefills_the_kpi_the_store_and_the_title(self, client, cast, clock, fake):
        fake.series("SH01", "csat_percent", {"2026-04": ("88.00", "amber"), "2026-05": ("70.00", "red")})
        alert = warnings.warnings_sweep()[0]
        client.force_login(cast.mia)
        page = client.get(warnings.capa_open_url(alert, "CSAT"))
        assert page.status_code == 200
        body = page.content.decode()
        assert 'id="capa-source-kpi"' in body and "CSAT 2026-05" in body
        response = client.post(warnings.capa_open_url(alert, "CSAT"), {"title": "CSAT fell in May"})
        assert response.status_code == 302
        from aftersales.feedback.models import Capa

        capa = Capa.objects.get()
        assert (capa.kpi_key, capa.store_id, capa.complaint_id, capa.cluster_month) == (
            "csat_percent",
            cast.store_a.pk,
            None,
            None,
        )
        warnings.link_capas()
        alert.refresh_from_db()
        assert alert.capa_id == capa.pk


def test_a_manager_of_another_store_is_not_told(cast, clock, fake):
    make_user("hank", Role.MANAGER, store=cast.store_b)
    fake.series("SH01", "csat_percent", {"2026-04": ("88.00", "amber"), "2026-05": ("70.00", "red")})
    warnings.warnings_sweep()
    assert [i.recipient.username for i in InboxItem.objects.all()] == ["mia"]


def test_the_period_examined_is_closed(cast, fake):
    assert warnings.warnings_sweep(now=NOW, period=Period.parse("2026-06")) == []
