"""Referrals recorded at registration and counted per member of staff for the advisor's scorecard (SPEC §7)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from aftersales.config.testing import make_customer, unique_mobile
from aftersales.crm.selectors import referral_counts
from aftersales.crm.tests.conftest import SHANGHAI

pytestmark = pytest.mark.django_db

MAY = dt.datetime(2026, 5, 1, tzinfo=SHANGHAI)
JUNE = dt.datetime(2026, 6, 1, tzinfo=SHANGHAI)


def test_referrals_are_recorded_at_registration_and_counted_per_staff_member_in_the_period(cast):
    with time_machine.travel(dt.datetime(2026, 5, 10, 10, tzinfo=SHANGHAI), tick=False):
        friend = make_customer(cast.store_a, name="老客户", phone="13900001234")
        make_customer(cast.store_a, name="甲", referred_by_staff="alice")
        make_customer(cast.store_a, name="乙", referred_by_staff="alice", referred_by_phone="139 0000 1234")
        make_customer(cast.store_a, name="丙", referred_by_staff="bob")
        make_customer(cast.store_b, name="丁", referred_by_staff="carol")  # another store
    with time_machine.travel(dt.datetime(2026, 6, 2, 10, tzinfo=SHANGHAI), tick=False):
        make_customer(cast.store_a, name="戊", referred_by_staff="alice")  # another month
    counts = referral_counts(store_ids=[cast.store_a.pk], start=MAY, end=JUNE)
    assert counts.by_staff == {cast.alice.pk: 2, cast.bob.pk: 1}
    assert counts.by_customers == 1
    assert friend.referrals.get().name == "乙"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"referred_by_phone": "13911112222"}, "referred_by_phone"),  # nobody of the group has this number
        ({"referred_by_phone": "12345"}, "referred_by_phone"),
        ({"referred_by_staff": "carol"}, "referred_by_staff"),  # staff of another store
        ({"referred_by_staff": "nobody"}, "referred_by_staff"),
    ],
)
def test_an_unknown_referrer_is_refused_naming_the_field_and_writes_nothing(cast, fields, field):
    with pytest.raises(ValidationError) as caught:
        make_customer(cast.store_a, name="新客", phone=unique_mobile(), **fields)
    assert field in caught.value.message_dict
    assert not cast.store_a.customers.filter(name="新客").exists()
