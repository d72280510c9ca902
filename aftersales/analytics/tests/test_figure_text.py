"""What a tile says its figure rests on: records for a share or a mean, billed hours for the labour rate (whose
denominator is hundredths of an hour, not a count of records)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import translation

from aftersales.analytics.catalogue import KpiResult, ensure_loaded, registered
from aftersales.analytics.selectors_dashboards import Figure


def _figure(key: str, numerator: Decimal | int, denominator: int) -> Figure:
    ensure_loaded()
    result = KpiResult(key, Decimal("1"), numerator, denominator, None, None)
    return Figure(kpi=registered(key), result=result)


def test_the_labour_rate_rests_on_billed_hours_and_a_share_on_its_records():
    with translation.override("en"):
        assert _figure("effective_labour_rate", Decimal("19490.00"), 7150).base_text == "71.50 billed hours"
        assert _figure("csat_percent", 27, 30).base_text == "27 of 30"
        assert _figure("waiting_time_minutes", Decimal("900"), 30).base_text == "based on 30"
