"""`aftersales segment`: the JSON contract, the table, counting each customer in one store, a bad --store."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from aftersales.config.testing import make_vehicle
from aftersales.crm.services import tiers_compute
from aftersales.crm.tests.conftest import AS_OF, customer_with, visit
from aftersales.customers.choices import Powertrain

pytestmark = pytest.mark.django_db

THRESHOLDS = {
    "tier_window_months": 12,
    "tier_d_recency_days": 180,
    "tier_c_recency_days": 30,
    "tier_a_recency_days": 90,
    "tier_a_min_visits": 4,
    "tier_a_min_amount": "15000.00",
}


def segment(*args: str) -> str:
    out = StringIO()
    call_command("segment", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def population(cast):
    """SH01: an A (NEV owner), a C, a customer without a visit; HZ01: a D.  A customer registered at SH01 whose
    last visit was at HZ01 counts in HZ01 (a B)."""
    loyal = customer_with(cast.store_a, [(5, "3750.00"), (6, "3750.00"), (7, "3750.00"), (8, "3750.00")], name="a")
    make_vehicle(loyal, powertrain=Powertrain.BEV)
    customer_with(cast.store_a, [(3, "100.00")], name="c")
    customer_with(cast.store_a, [], name="none")
    customer_with(cast.store_b, [(300, "100.00")], name="d")
    moved = customer_with(cast.store_a, [(100, "100.00")], name="moved")
    visit(moved, AS_OF - dt.timedelta(days=20), store=cast.store_b)
    customer_with(cast.store_c, [(3, "100.00")], name="other group")
    tiers_compute(as_of=AS_OF)
    return cast


class SegmentJsonTests:
    def test_it_prints_the_contract(self, population):
        data = json.loads(segment("--json"))
        assert data == {
            "as_of": "2026-06-30",
            "thresholds": THRESHOLDS,
            "stores": [
                {"code": "BJ01", "tiers": {"A": 0, "B": 0, "C": 1, "D": 0, "none": 0}, "nev": 0},
                {"code": "HZ01", "tiers": {"A": 0, "B": 1, "C": 0, "D": 1, "none": 0}, "nev": 0},
                {"code": "SH01", "tiers": {"A": 1, "B": 0, "C": 1, "D": 0, "none": 1}, "nev": 1},
            ],
        }

    def test_one_store_with_its_own_thresholds(self, population):
        from aftersales.organisation.models import SettingValue

        SettingValue.objects.create(
            group=population.group, store=population.store_b, key="tier_a_min_amount", value="9000"
        )
        data = json.loads(segment("--store", "HZ01", "--json"))
        assert data["thresholds"] == {**THRESHOLDS, "tier_a_min_amount": "9000.00"}
        assert data["stores"] == [{"code": "HZ01", "tiers": {"A": 0, "B": 1, "C": 0, "D": 1, "none": 0}, "nev": 0}]

    def test_the_stores_add_up_to_every_customer(self, population):
        from aftersales.customers.models import Customer

        data = json.loads(segment("--json"))
        assert sum(sum(row["tiers"].values()) for row in data["stores"]) == Customer.objects.count()

    def test_recompute_as_of_another_day(self, population):
        data = json.loads(segment("--json", "--recompute", "--as-of", "2026-07-31"))
        assert data["as_of"] == "2026-07-31"
        # 31 more days: the C customer (R 34) is a B now, and the A customer's R (36) still keeps them in A.
        assert data["stores"][2]["tiers"] == {"A": 1, "B": 1, "C": 0, "D": 0, "none": 1}


class SegmentTableTests:
    def test_it_prints_a_readable_table(self, population):
        text = segment()
        assert "Customer tiers as of 2026-06-30" in text
        assert "tier_a_min_amount      15000.00" in text
        lines = {line.split()[0]: line.split() for line in text.splitlines() if line[:4] in {"SH01", "HZ01", "all "}}
        assert lines["SH01"][1:] == ["1", "0", "1", "0", "1", "3", "1"]
        assert lines["all"][1:] == ["1", "1", "2", "1", "1", "6", "1"]


class SegmentErrorTests:
    def test_an_unknown_store_names_the_option(self, population):
        with pytest.raises(CommandError, match="--store: no store with the code 'XX99'"):
            segment("--store", "XX99", "--json")

    def test_as_of_without_recompute_is_refused(self, population):
        with pytest.raises(CommandError, match="--as-of needs --recompute"):
            segment("--as-of", "2026-07-31")

    def test_a_bad_store_exits_non_zero_from_the_console(self, population, tmp_path):
        """The console script path: Django turns the CommandError into a message on stderr and exit code 1."""
        from django.core.management import ManagementUtility

        with pytest.raises(SystemExit) as exited:
            ManagementUtility(["aftersales", "segment", "--store", "NOPE"]).execute()
        assert exited.value.code == 1
