"""Who may change a group's care playbook and suggestion table (decided in the services), and bad input."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from aftersales.care.models import CarePlaybook, SuggestionRule
from aftersales.care.services import care_playbook_save, suggestion_rule_delete, suggestion_rule_save

pytestmark = pytest.mark.django_db


def test_only_a_care_manager_of_the_group_changes_the_playbook_and_the_rules(cast):
    rule = suggestion_rule_save(group=cast.group, by=cast.grace, item="刹车油更换", at_km=40_000)
    for outsider in (cast.alice, cast.tom, cast.otto):  # advisor, technician, another group's manager
        with pytest.raises(PermissionDenied):
            care_playbook_save(group=cast.group, by=outsider, b_upgrade=False)
        with pytest.raises(PermissionDenied):
            suggestion_rule_save(group=cast.group, by=outsider, item="x", at_km=1000)
        with pytest.raises(PermissionDenied):
            suggestion_rule_delete(rule=rule, by=outsider)
    assert not CarePlaybook.objects.exists()
    assert list(SuggestionRule.objects.values_list("item", flat=True)) == ["刹车油更换"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"item": "空调滤芯"}, "at_km"),  # neither a mileage nor an age
        ({"item": "", "at_km": 20_000}, "item"),
        ({"item": "x", "at_km": -5}, "at_km"),
    ],
)
def test_a_bad_rule_names_the_field_and_writes_nothing(cast, fields, field):
    with pytest.raises(ValidationError) as caught:
        suggestion_rule_save(group=cast.group, by=cast.grace, **fields)
    assert field in caught.value.message_dict
    assert not SuggestionRule.objects.exists()


def test_an_unknown_playbook_field_is_refused(cast):
    with pytest.raises(ValidationError) as caught:
        care_playbook_save(group=cast.group, by=cast.grace, nonsense=True)
    assert "nonsense" in caught.value.message_dict
    assert not CarePlaybook.objects.exists()
