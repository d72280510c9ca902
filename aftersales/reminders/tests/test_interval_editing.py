"""Who may change the service-interval rules (decided in the service), and bad input."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from aftersales.reminders.models import ServiceInterval
from aftersales.reminders.services import service_interval_delete, service_interval_save

pytestmark = pytest.mark.django_db

RULE = {"scope": "all", "every_km": 10_000, "every_months": 12, "first_km": 5_000, "first_months": 6}


def test_a_store_rule_needs_the_stores_settings_role_and_a_group_rule_the_groups(cast):
    with pytest.raises(PermissionDenied):
        service_interval_save(group=cast.group, store=cast.store_a, by=cast.alice, **RULE)  # an advisor
    with pytest.raises(PermissionDenied):
        service_interval_save(group=cast.group, store=None, by=cast.mia, **RULE)  # a store manager: group rule
    with pytest.raises(PermissionDenied):
        service_interval_save(group=cast.group, store=None, by=cast.otto, **RULE)  # another group's manager
    assert not ServiceInterval.objects.exists()
    store_rule = service_interval_save(group=cast.group, store=cast.store_a, by=cast.mia, **RULE)
    group_rule = service_interval_save(group=cast.group, store=None, by=cast.grace, **RULE)
    with pytest.raises(PermissionDenied):
        service_interval_delete(rule=group_rule, by=cast.mia)
    service_interval_delete(rule=store_rule, by=cast.mia)
    assert list(ServiceInterval.objects.all()) == [group_rule]


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"scope": "rocket"}, "scope"), ({"every_km": -1}, "every_km"), ({"every_months": -3}, "every_months")],
)
def test_a_bad_rule_names_the_field_and_writes_nothing(cast, changes, field):
    with pytest.raises(ValidationError) as caught:
        service_interval_save(group=cast.group, store=cast.store_a, by=cast.mia, **{**RULE, **changes})
    assert field in caught.value.message_dict
    assert not ServiceInterval.objects.exists()
