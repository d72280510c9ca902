"""The care pages: who may read them, who may change the playbook, and that a group sees only its own rules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from aftersales.care.models import CarePlaybook, SuggestionRule
from aftersales.care.services import care_sweep, suggestion_rules_ensure_defaults
from aftersales.core.models import AuditEntry

from .conftest import frozen, person, tiers, visits

pytestmark = pytest.mark.django_db


def test_the_care_page_shows_the_month_per_store(client, shop):
    customer, car = person(shop)
    visits(car, [dt.date(2025, 11, 1)], advisor=shop.cast.bob)
    with frozen(2026, 6, 1, 10):
        tiers(dt.date(2026, 6, 1))
        care_sweep()
        client.force_login(shop.cast.mia)
        page = client.get(reverse("care:overview"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="care-SH01"' in html and 'id="care-HZ01"' not in html
    assert 'data-kind="d_recall"><td>D · recall notice</td><td class="text-end">1</td>' in html
    assert 'data-numerator="0" data-denominator="0"' in html


def test_advisors_may_not_read_the_care_page(client, cast):
    client.force_login(cast.alice)
    assert client.get(reverse("care:overview")).status_code == 403
    assert client.get(reverse("care:playbook")).status_code == 403


def test_the_group_manager_changes_the_playbook_and_a_rule_the_store_manager_only_reads(client, cast):
    client.force_login(cast.grace)
    page = client.get(reverse("care:playbook"))
    assert page.status_code == 200 and "变速箱油更换" in page.content.decode()
    data = {
        "form": "playbook",
        "a_advisor": "on",
        "a_benefits_text": "免费洗车",
        "b_upgrade_text": "延保",
        "c_welcome_text": "礼品",
        "d_recall": "on",
    }
    assert client.post(reverse("care:playbook"), data).status_code == 302
    playbook = CarePlaybook.objects.get(group=cast.group)
    assert playbook.a_advisor and playbook.d_recall and not playbook.d_win_back
    assert playbook.a_benefits_text == "免费洗车"
    assert AuditEntry.objects.filter(action="care_playbook.save").exists()
    bad = client.post(reverse("care:playbook"), {"form": "rule", "item": "火花塞"})  # neither km nor months
    assert bad.status_code == 400 and not SuggestionRule.objects.filter(item="火花塞").exists()
    assert (
        client.post(
            reverse("care:playbook"), {"form": "rule", "item": "火花塞", "at_km": "30000", "is_active": "on"}
        ).status_code
        == 302
    )
    assert SuggestionRule.objects.filter(group=cast.group, item="火花塞", at_km=30000).exists()

    client.force_login(cast.mia)
    assert client.get(reverse("care:playbook")).status_code == 200
    assert client.post(reverse("care:playbook"), {**data, "d_win_back": "on"}).status_code == 403
    assert not CarePlaybook.objects.get(group=cast.group).d_win_back


def test_another_groups_rule_is_not_found(client, cast):
    suggestion_rules_ensure_defaults(group_id=cast.group.pk)
    theirs = SuggestionRule.objects.filter(group=cast.group).first()
    client.force_login(cast.otto)
    assert client.get(reverse("care:playbook") + f"?edit={theirs.pk}").status_code == 404
    post = {"form": "rule", "rule": theirs.pk, "item": "x", "at_km": "30000"}
    assert client.post(reverse("care:playbook"), post).status_code == 404
    assert SuggestionRule.objects.get(pk=theirs.pk).item != "x"
