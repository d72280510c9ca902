"""staff_notify: the inbox item always, an e-mail for those with an address, one post to the store's robot."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from aftersales.messaging.models import OutboxMessage
from aftersales.notifications import services
from aftersales.notifications.models import InboxItem
from aftersales.organisation.models import Store

pytestmark = pytest.mark.django_db

CONTEXT = {
    "store": "上海店",
    "number": "R0001",
    "customer": "王五",
    "score": 3,
    "threshold": 7,
    "due": "2026-03-03 11:00",
}


def notify(cast, users, key="recovery_opened:1"):
    return services.staff_notify(
        store=cast.store_a,
        users=users,
        template="recovery_opened",
        context=CONTEXT,
        dedupe_key=key,
        url="/feedback/recovery/1/",
    )


class StaffNotifyTests:
    def test_everyone_gets_an_inbox_item_only_an_address_gets_an_e_mail(self, cast):
        get_user_model().objects.filter(pk=cast.mia.pk).update(email="mia@example.com")
        cast.mia.refresh_from_db()
        assert notify(cast, [cast.alice, cast.mia]) == 2
        items = list(InboxItem.objects.order_by("recipient_id").values_list("recipient__username", "title_zh_hans"))
        assert items == [("alice", "服务补救｜R0001"), ("mia", "服务补救｜R0001")]
        mails = list(OutboxMessage.objects.values_list("recipient_user__username", "channel", "status"))
        assert mails == [("mia", "email", "pending")]  # alice has no address: no row at all, nothing "suppressed"

    def test_the_store_s_robot_gets_one_post_per_alert(self, cast):
        Store.objects.filter(pk=cast.store_a.pk).update(
            wecom_webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abcd-1234"
        )
        cast.store_a.refresh_from_db()
        notify(cast, [cast.alice, cast.bob, cast.mia])
        post = OutboxMessage.objects.get()
        assert (post.channel, post.recipient_user, post.purpose, post.status) == ("wecom", None, "staff", "pending")
        assert post.recipient == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abcd-1234"
        assert "abcd" not in post.recipient_encrypted  # stored encrypted like every address
        assert InboxItem.objects.count() == 3

    def test_a_repeat_is_a_no_op_and_inactive_people_are_skipped(self, cast):
        get_user_model().objects.filter(pk=cast.bob.pk).update(is_active=False)
        cast.bob.refresh_from_db()
        assert notify(cast, [cast.alice, cast.bob, cast.alice]) == 1
        notify(cast, [cast.alice])
        assert list(InboxItem.objects.values_list("recipient__username", flat=True)) == ["alice"]

    def test_lazy_labels_are_rendered_in_each_language(self, cast):
        from aftersales.feedback.choices import ComplaintCategory

        services.staff_notify(
            store=cast.store_a,
            users=[cast.mia],
            template="complaint_escalated",
            context={
                "store": "上海店",
                "reference": "#7",
                "category": ComplaintCategory.WAITING.label,
                "priority": "P1",
                "owner": "Alice",
                "clock": "ack",
                "due": "10:00",
            },
            dedupe_key="complaint_escalated:7:ack",
        )
        item = InboxItem.objects.get()
        assert "(Waiting time, P1" in item.text_en and "（等待时间，P1" in item.text_zh_hans


class ReadTests:
    def test_reading_is_one_s_own_and_once(self, cast):
        notify(cast, [cast.alice, cast.bob])
        alice_item = InboxItem.objects.get(recipient=cast.alice)
        bob_item = InboxItem.objects.get(recipient=cast.bob)
        services.inbox_item_read(item=bob_item, by=cast.alice)  # not hers: nothing changes
        bob_item.refresh_from_db()
        assert bob_item.read_at is None
        first = services.inbox_item_read(item=alice_item, by=cast.alice).read_at
        assert first is not None
        assert services.inbox_item_read(item=alice_item, by=cast.alice).read_at == first

    def test_mark_all_read_touches_only_one_s_own(self, cast):
        notify(cast, [cast.alice, cast.bob], key="a")
        notify(cast, [cast.alice], key="b")
        assert services.inbox_read_all(by=cast.alice) == 2
        assert services.inbox_read_all(by=cast.alice) == 0
        assert InboxItem.objects.filter(read_at__isnull=True).get().recipient == cast.bob
