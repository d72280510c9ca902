"""Customer links: signed, single-purpose, revocable through the order's link_nonce, expiring after the
store's customer_link_days."""

import pytest
from django.core import signing

from aftersales.core.exceptions import ApplicationError
from aftersales.organisation.rules import Party
from aftersales.service.models import RepairOrder
from aftersales.service.services import appointment_book
from aftersales.service.services.links import (
    LINK_EXPIRED,
    LINK_INVALID,
    ORDER_SALT,
    appointment_from_token,
    appointment_link_token,
    order_from_token,
    order_link_token,
)

from .conftest import frozen, open_order, set_store_setting, shanghai

pytestmark = pytest.mark.django_db


def refused(token, code, opener=order_from_token):
    with pytest.raises(ApplicationError) as caught:
        opener(token)
    assert caught.value.extra == {"code": code}
    assert caught.value.message == (LINK_EXPIRED if code == "link_expired" else LINK_INVALID)


class OrderLinkTests:
    def test_a_token_opens_its_order(self, shop):
        order = open_order(shop)
        assert order_from_token(order_link_token(order)) == order

    def test_a_tampered_token_is_refused(self, shop):
        token = order_link_token(open_order(shop))
        value, signature = token.rsplit(":", 1)
        tampered_signature = f"{value}:{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
        refused(tampered_signature, "link_invalid")
        refused(token[:-1], "link_invalid")
        refused("not-a-token", "link_invalid")

    def test_a_token_for_another_order_number_cannot_be_forged(self, shop):
        order = open_order(shop)
        forged = signing.dumps(
            {"o": order.pk + 1, "n": order.link_nonce}, salt=ORDER_SALT, key="guessed", compress=True
        )
        refused(forged, "link_invalid")

    def test_an_appointment_token_does_not_open_an_order_and_back(self, shop):
        with frozen(2026, 3, 2, 8, 0):
            appointment = appointment_book(
                store=shop.store,
                start=shanghai(2026, 3, 3, 9, 30),
                service_type="maintenance",
                channel="online",
                customer=shop.customer,
                vehicle=shop.vehicle,
                by=Party.CUSTOMER,
            )
            order = open_order(shop)
            assert appointment_from_token(appointment_link_token(appointment)) == appointment
            refused(appointment_link_token(appointment), "link_invalid")
            refused(order_link_token(order), "link_invalid", opener=appointment_from_token)

    def test_rotating_the_nonce_revokes_earlier_links(self, shop):
        order = open_order(shop)
        old = order_link_token(order)
        RepairOrder.objects.filter(pk=order.pk).update(link_nonce="f00dfeedf00dfeed")
        order.refresh_from_db()
        refused(old, "link_invalid")
        assert order_from_token(order_link_token(order)) == order

    # customer_link_days = 30: a link made at 2 March 10:00 works until 1 April 10:00 inclusive.
    @pytest.mark.parametrize(("when", "ok"), [((4, 1, 9, 59), True), ((4, 1, 10, 0), True), ((4, 1, 10, 1), False)])
    def test_the_link_expires_after_customer_link_days(self, shop, when, ok):
        with frozen(2026, 3, 2, 10, 0):
            order = open_order(shop)
            token = order_link_token(order)
        with frozen(2026, *when):
            if ok:
                assert order_from_token(token) == order
            else:
                refused(token, "link_expired")

    def test_a_shorter_store_setting_shortens_the_link(self, shop):
        set_store_setting(shop, customer_link_days=7)
        with frozen(2026, 3, 2, 10, 0):
            order = open_order(shop)
            token = order_link_token(order)
        with frozen(2026, 3, 9, 10, 0):
            assert order_from_token(token) == order
        with frozen(2026, 3, 9, 10, 1):
            refused(token, "link_expired")
