"""The sweep turns recorded facts into events once, queues one outbox message per matching subscription, and the
outbox posts each signed, retries a failing subscriber with back-off, and never posts an event again after a 2xx."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine

from aftersales.config.testing import make_vehicle
from aftersales.messaging.choices import Channel, MessageStatus, Purpose
from aftersales.messaging.models import OutboxMessage
from aftersales.messaging.services import outbox_deliver_due
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.tests.conftest import open_order, order_ready, shanghai
from aftersales.webhooks import services
from aftersales.webhooks.choices import ALL_TYPES, EventType
from aftersales.webhooks.models import WebhookDelivery, WebhookEvent
from aftersales.webhooks.tests.helpers import verify

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-the-tests-0123456789"


def subscribe(shop, url, *, store=None, types=ALL_TYPES, by=None):
    subscription, secret = services.subscription_create(
        by=by or shop.cast.grace,
        group=shop.store.group,
        store=store,
        name="CRM",
        url=url,
        event_types=list(types),
        secret=SECRET,
    )
    return subscription


def services_open_order(shop):
    return open_order(shop, vehicle=make_vehicle(shop.customer, plate="沪B54321", mileage_km=100))


def sweep(capture):
    with capture(execute=True):
        return services.webhook_sweep()


class EventTests:
    def test_the_sweep_makes_each_event_once_and_one_delivery_per_subscription(
        self, shop, subscriber, django_capture_on_commit_callbacks
    ):
        subscription = subscribe(shop, subscriber.url)
        order = order_ready(shop)
        first = sweep(django_capture_on_commit_callbacks)
        # reception (opened) → waiting → in bay → in progress → QC → washing? no: QC passed skipping washing → ready
        changes = list(order.events.order_by("at", "id").values_list("to_status", flat=True))
        statuses = WebhookEvent.objects.filter(type=EventType.ORDER_STATUS_CHANGED).order_by("occurred_at", "id")
        assert [e.payload["data"]["to_status"] for e in statuses] == changes
        assert changes[0] == S.RECEPTION and changes[-1] == S.READY
        assert WebhookEvent.objects.filter(type=EventType.ESTIMATE_ANSWERED).count() == 1
        assert first["events"] == WebhookEvent.objects.count() == first["deliveries"]

        again = sweep(django_capture_on_commit_callbacks)
        assert again == {"events": 0, "deliveries": 0}
        assert WebhookDelivery.objects.filter(subscription=subscription).count() == WebhookEvent.objects.count()
        messages = OutboxMessage.objects.filter(endpoint=subscription.endpoint)
        assert messages.count() == WebhookEvent.objects.count()
        assert set(messages.values_list("channel", "purpose", "status")) == {
            (Channel.WEBHOOK, Purpose.INTEGRATION, MessageStatus.SENT)
        }
        assert len(subscriber.received) == WebhookEvent.objects.count()

    def test_a_forgotten_mark_finds_nothing_twice(self, shop, subscriber, django_capture_on_commit_callbacks):
        subscribe(shop, subscriber.url)
        order_ready(shop)
        sweep(django_capture_on_commit_callbacks)
        count = WebhookEvent.objects.count()
        from aftersales.webhooks.models import SweepMark

        SweepMark.objects.all().delete()  # as if the marks were lost: every fact is looked at again
        assert sweep(django_capture_on_commit_callbacks) == {"events": 0, "deliveries": 0}
        assert WebhookEvent.objects.count() == count

    def test_the_payload_has_ids_codes_and_local_times_and_no_personal_data(
        self, shop, subscriber, django_capture_on_commit_callbacks
    ):
        subscribe(shop, subscriber.url, types=[EventType.ORDER_STATUS_CHANGED])
        order_ready(shop)
        sweep(django_capture_on_commit_callbacks)
        event = WebhookEvent.objects.order_by("id").first()
        payload = event.payload
        assert payload["id"] == str(event.event_id) and uuid.UUID(payload["id"])
        assert payload["type"] == "order.status_changed" and payload["store"] == shop.store.code
        assert payload["occurred_at"].endswith("+08:00") and payload["data"]["changed_at"].endswith("+08:00")
        assert payload["data"]["order"]["customer_id"] == shop.customer.pk
        text = subscriber.received[0].body.decode()
        for personal in (shop.customer.name, shop.customer.phone, shop.vehicle.plate):
            assert personal not in text

    def test_only_subscribed_types_of_the_subscribed_store_after_the_subscription(
        self, shop, subscriber, django_capture_on_commit_callbacks
    ):
        early = services_open_order(shop)  # before any subscription: never sent
        assert early.events.exists()
        other_store = subscribe(shop, subscriber.url, store=shop.cast.store_b)
        estimates_only = subscribe(shop, subscriber.url, store=shop.store, types=[EventType.ESTIMATE_ANSWERED])
        order_ready(shop)
        sweep(django_capture_on_commit_callbacks)
        assert not WebhookDelivery.objects.filter(subscription=other_store).exists()
        assert set(
            WebhookDelivery.objects.filter(subscription=estimates_only).values_list("event__type", flat=True)
        ) == {EventType.ESTIMATE_ANSWERED}
        assert subscriber.types() == [EventType.ESTIMATE_ANSWERED]


class SignatureAndRetryTests:
    def test_every_post_is_signed_with_the_subscription_secret(
        self, shop, subscriber, django_capture_on_commit_callbacks
    ):
        subscribe(shop, subscriber.url, types=[EventType.ORDER_STATUS_CHANGED])
        order_ready(shop)
        sweep(django_capture_on_commit_callbacks)
        assert subscriber.received
        for post in subscriber.received:
            assert verify(secret=SECRET, headers=post.headers, body=post.body)
            assert not verify(secret=SECRET + "x", headers=post.headers, body=post.body)
            assert post.headers["X-Aftersales-Event-Id"] == post.json["id"]
            assert post.headers["X-Aftersales-Event-Type"] == post.json["type"]
        ids = [post.json["id"] for post in subscriber.received]
        assert len(ids) == len(set(ids))

    def test_a_failing_subscriber_is_retried_with_back_off_and_never_again_after_a_2xx(
        self, shop, subscriber, django_capture_on_commit_callbacks
    ):
        start = shanghai(2026, 3, 2, 9, 0)
        with time_machine.travel(start, tick=False) as clock:
            subscription = subscribe(shop, subscriber.url, types=[EventType.COMPLAINT_OPENED])
            subscriber.answers = [500, 503]
            from aftersales.feedback.services.complaints import complaint_log

            complaint_log(
                store=shop.store,
                by=shop.advisor,
                customer=shop.customer,
                channel="phone",
                category="waiting",
                priority="general",
                description="等待时间太长",
            )
            sweep(django_capture_on_commit_callbacks)
            message = OutboxMessage.objects.get(endpoint=subscription.endpoint)
            assert (message.status, message.attempts, message.last_error) == ("pending", 1, "HTTP 500")
            assert message.next_attempt_at == start + dt.timedelta(minutes=1)

            clock.shift(dt.timedelta(seconds=59))
            assert outbox_deliver_due() == 0 and len(subscriber.received) == 1  # not due yet
            clock.shift(dt.timedelta(seconds=1))
            assert outbox_deliver_due() == 0
            message.refresh_from_db()
            assert (message.attempts, message.last_error) == (2, "HTTP 503")
            assert message.next_attempt_at == start + dt.timedelta(minutes=1 + 5)

            clock.shift(dt.timedelta(minutes=5))
            assert outbox_deliver_due() == 1
            clock.shift(dt.timedelta(hours=3))
            assert outbox_deliver_due() == 0
        message.refresh_from_db()
        assert (message.status, message.attempts) == ("sent", 3)
        assert [a.status_code for a in message.delivery_attempts.order_by("at")] == [500, 503, 200]
        bodies = {post.body for post in subscriber.received}
        assert len(subscriber.received) == 3 and len(bodies) == 1  # the same event, the same id, three tries
        assert all(verify(secret=SECRET, headers=p.headers, body=p.body) for p in subscriber.received)

    def test_pausing_withdraws_what_waits(self, shop, subscriber, django_capture_on_commit_callbacks):
        subscription = subscribe(shop, subscriber.url, types=[EventType.ORDER_STATUS_CHANGED])
        subscriber.answers = [500] * 20
        order_ready(shop)
        sweep(django_capture_on_commit_callbacks)
        assert OutboxMessage.objects.filter(endpoint=subscription.endpoint, status="pending").exists()
        services.subscription_update(subscription=subscription, by=shop.cast.grace, is_active=False)
        assert set(OutboxMessage.objects.filter(endpoint=subscription.endpoint).values_list("status", flat=True)) == {
            "suppressed"
        }

    def test_what_happens_while_paused_is_never_sent_even_after_resuming(
        self, shop, subscriber, django_capture_on_commit_callbacks
    ):
        subscription = subscribe(shop, subscriber.url, types=[EventType.ORDER_STATUS_CHANGED])
        services.subscription_update(subscription=subscription, by=shop.cast.grace, is_active=False)
        paused_order = services_open_order(shop)
        sweep(django_capture_on_commit_callbacks)
        services.subscription_update(subscription=subscription, by=shop.cast.grace, is_active=True)
        sweep(django_capture_on_commit_callbacks)
        assert subscriber.received == []
        order_ready(shop)
        sweep(django_capture_on_commit_callbacks)
        sent_orders = {post.json["data"]["order"]["id"] for post in subscriber.received}
        assert paused_order.pk not in sent_orders and len(sent_orders) == 1
