"""The WeCom group-robot channel against a local HTTP server standing in for the robot (127.0.0.1 only)."""

from __future__ import annotations

import pytest

from aftersales.customers import crypto
from aftersales.messaging import services as messaging_services
from aftersales.messaging.models import DeliveryAttempt, OutboxMessage
from aftersales.notifications import services
from aftersales.organisation.models import Store

from .conftest import frozen, shanghai

pytestmark = pytest.mark.django_db


def alert_with_robot(cast, robot):
    Store.objects.filter(pk=cast.store_a.pk).update(wecom_webhook_url=robot.url)
    cast.store_a.refresh_from_db()
    services.staff_notify(
        store=cast.store_a,
        users=[cast.mia],
        template="suggestion_overdue",
        context={"store": "上海店", "reference": "#5", "due": "2026-03-05 23:59"},
        dedupe_key="suggestion_overdue:5",
    )
    return OutboxMessage.objects.get(channel="wecom")


class WeComRobotTests:
    def test_a_post_is_the_robot_s_text_message_and_errcode_0_is_sent(self, cast, robot):
        with frozen(2026, 3, 6, 9, 0):
            message = alert_with_robot(cast, robot)
            assert messaging_services.outbox_deliver(message_id=message.pk) is True
        assert robot.posts == [
            {
                "path": "/cgi-bin/webhook/send?key=test-robot-key-1234",
                "content_type": "application/json; charset=utf-8",
                "body": {
                    "msgtype": "text",
                    "text": {
                        "content": "建议答复超时｜#5\n"
                        "上海店：客户建议#5应于2026-03-05 23:59前作出是否采纳的决定，至今未决定。"
                    },
                },
            }
        ]
        message.refresh_from_db()
        assert (message.status, message.attempts) == ("sent", 1)
        assert DeliveryAttempt.objects.get().detail == "errcode 0"

    def test_an_errcode_is_a_failed_attempt_retried_by_the_sweep(self, cast, robot):
        robot.answers = [93000]
        with frozen(2026, 3, 6, 9, 0):
            message = alert_with_robot(cast, robot)
            assert messaging_services.outbox_deliver(message_id=message.pk) is False
        message.refresh_from_db()
        assert (message.status, message.attempts) == ("pending", 1)
        assert message.next_attempt_at == shanghai(2026, 3, 6, 9, 1)  # the first back-off: one minute
        assert message.last_error == "errcode 93000: invalid webhook url"
        assert robot.url.split("?")[1] not in message.last_error  # the key never lands in a log or a column
        with frozen(2026, 3, 6, 9, 0, 59):
            assert messaging_services.outbox_deliver_due() == 0  # not before its time
        with frozen(2026, 3, 6, 9, 1):
            assert messaging_services.outbox_deliver_due() == 1
        message.refresh_from_db()
        assert (message.status, message.attempts) == ("sent", 2)
        assert len(robot.posts) == 2
        assert list(DeliveryAttempt.objects.order_by("id").values_list("ok", flat=True)) == [False, True]

    def test_an_unreachable_robot_is_retried_too(self, cast, robot):
        with frozen(2026, 3, 6, 9, 0):
            message = alert_with_robot(cast, robot)
            Store.objects.filter(pk=cast.store_a.pk).update(wecom_webhook_url="")
            # The address was taken when the alert was queued; a closed port answers nothing.
            OutboxMessage.objects.filter(pk=message.pk).update(
                recipient_encrypted=crypto.encrypt("http://127.0.0.1:9/cgi-bin/webhook/send?key=x")
            )
            assert messaging_services.outbox_deliver(message_id=message.pk) is False
        message.refresh_from_db()
        assert (message.status, message.attempts) == ("pending", 1)
        assert message.last_error.startswith("ConnectionRefusedError") or "refused" in message.last_error.lower()
