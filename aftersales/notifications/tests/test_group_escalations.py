"""What is escalated to the group reaches the group manager: the inbox, the recovery list, the home page count."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.urls import reverse

from aftersales.feedback import services as feedback_services
from aftersales.feedback.tests.conftest import LOW, deliver, grant_survey_consent, minutes
from aftersales.notifications.models import InboxItem

from .conftest import frozen, shanghai

pytestmark = pytest.mark.django_db

AT = shanghai(2026, 3, 3, 10, 0)


@pytest.fixture
def escalated(shop, agent):
    """A low score at 10:00 whose recovery nobody records: the store manager at 11:01, the group at 12:01."""
    with frozen(2026, 3, 2, 10, 0):
        order = deliver(shop)
    grant_survey_consent(shop.customer, shop.advisor)
    with time_machine.travel(AT, tick=False):
        task = feedback_services.survey_response_record(
            order=order, channel="follow_up_call", answers=LOW, by=agent
        ).recovery
    for moment in (AT + minutes(61), AT + minutes(121)):
        with time_machine.travel(moment, tick=False):
            feedback_services.feedback_sweep()
    task.refresh_from_db()
    assert task.escalated_group_at is not None
    return task


def group_count(html: str) -> int:
    return int(re.search(r'id="voice-escalated-group" data-count="(\d+)"', html).group(1))


class GroupManagerTests:
    def test_the_group_manager_opens_the_alert_and_lands_on_the_task(self, client, shop, escalated):
        item = InboxItem.objects.get(recipient=shop.cast.grace)
        client.force_login(shop.cast.grace)
        with time_machine.travel(AT + minutes(125), tick=False):
            response = client.get(reverse("notifications:inbox-open", args=[item.pk]), follow=True)
        assert response.status_code == 200
        assert response.redirect_chain == [(f"/feedback/recovery/{escalated.pk}/", 302)]
        assert response.context["may_record"] is False  # the rulebook leaves the outcome to the store
        with time_machine.travel(AT + minutes(125), tick=False):
            listing = client.get(reverse("feedback:recovery-list")).content.decode()
        assert f'data-recovery="{escalated.pk}"' in listing and 'data-escalated="group"' in listing

    def test_the_home_page_counts_what_is_escalated_to_the_group(self, client, shop, escalated):
        with time_machine.travel(AT + minutes(125), tick=False):
            client.force_login(shop.cast.grace)
            assert group_count(client.get(reverse("home")).content.decode()) == 1
            client.force_login(shop.cast.otto)  # another group: none of it
            html = client.get(reverse("home")).content.decode()
            assert 'id="voice-escalated-group"' not in html or group_count(html) == 0
            client.force_login(shop.cast.mia)
            assert group_count(client.get(reverse("home")).content.decode()) == 1
            feedback_services.recovery_record(task=escalated, by=shop.cast.mia, outcome="resolved", note="已道歉")
            client.force_login(shop.cast.grace)
            assert group_count(client.get(reverse("home")).content.decode()) == 0
