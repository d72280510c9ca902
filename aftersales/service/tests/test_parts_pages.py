"""The parts clerk's pages through the browser's requests: stock and scan, goods receipt (bad input names the field
and writes nothing), the catalogue, a part's page with stocktake and safety stock, the issue page and the vehicle's
parts ledger; who may see and do what."""

import pytest
from django.urls import reverse

from aftersales.config.testing import make_user
from aftersales.organisation.choices import Role
from aftersales.parts import services as parts
from aftersales.parts.models import Batch, Part, Stock
from aftersales.service import services
from aftersales.service.models import LinePartIssue
from aftersales.service.tests.conftest import frozen, inspect, open_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(client):
    """The assertions read English messages; without the header a request is answered in Chinese (the default)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


RECEIPT = {
    "code": "6901234567892",
    "quantity": "4",
    "batch_number": "L2602",
    "supplier": "广汽本田配件中心",
    "source_voucher": "INV-88",
    "unit_cost": "120",
    "received_on": "2026-03-01",
    "certificate_checked": "on",
}


@pytest.fixture
def clerk(shop):
    user = make_user("pia", Role.PARTS_CLERK, store=shop.store)
    parts.part_save(
        group=shop.store.group, by=user, code="BP-2201", name="前刹车片", category="oem", barcode="6901234567892"
    )
    return user


def test_receive_on_a_phone_by_barcode_then_see_the_stock(client, shop, clerk):
    client.force_login(clerk)
    with frozen(2026, 3, 2, 9, 0):
        page = client.get(reverse("parts:receive"))
        assert page.status_code == 200 and 'inputmode="decimal"' in page.content.decode()
        response = client.post(reverse("parts:receive"), RECEIPT)
        assert response.status_code == 302
        stock = client.get(reverse("parts:stock")).content.decode()
    batch = Batch.objects.get()
    assert (batch.batch_number, batch.quantity, batch.part.code) == ("L2602", 4, "BP-2201")
    assert "BP-2201" in stock and "前刹车片" in stock


def test_a_bad_receipt_shows_each_field_and_writes_nothing(client, shop, clerk):
    client.force_login(clerk)
    with frozen(2026, 3, 2, 9, 0):
        response = client.post(
            reverse("parts:receive"),
            {**RECEIPT, "quantity": "-2", "unit_cost": "x", "received_on": "2026-03-09", "certificate_checked": ""},
        )
        assert response.status_code == 400
        form = response.context["form"]
        assert set(form.errors) == {"quantity", "unit_cost", "received_on", "certificate_checked"}
        response = client.post(reverse("parts:receive"), {**RECEIPT, "code": "NOPE"})
        assert response.context["form"].errors == {"code": ["No part with this code or barcode in the catalogue."]}
    assert not Batch.objects.exists() and not Stock.objects.exists()


def test_scanning_a_code_opens_the_part(client, shop, clerk):
    client.force_login(shop.advisor)  # an advisor reads the stock
    response = client.get(reverse("parts:stock"), {"q": "6901234567892", "scan": "1"})
    part = Part.objects.get(code="BP-2201")
    assert response.status_code == 302 and response["Location"] == reverse("parts:part", args=[part.pk])
    response = client.get(reverse("parts:stock"), {"q": "NOPE", "scan": "1"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "No part with this code or barcode in the catalogue." in response.content.decode()


def test_only_the_parts_people_receive_and_keep_the_catalogue(client, shop, clerk):
    client.force_login(shop.advisor)
    assert client.get(reverse("parts:receive")).status_code == 403
    assert client.get(reverse("parts:part-new")).status_code == 403
    assert client.get(reverse("service:parts-issue")).status_code == 403
    client.force_login(shop.cast.otto)  # another group's manager: our catalogue part does not exist for him
    part = Part.objects.get(code="BP-2201")
    assert client.get(reverse("parts:part", args=[part.pk])).status_code == 404


def test_the_catalogue_form(client, shop, clerk):
    client.force_login(clerk)
    response = client.post(reverse("parts:part-new"), {"code": "bp-2201", "name": "", "category": "oem", "unit": "件"})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name"}
    response = client.post(
        reverse("parts:part-new"), {"code": "bp-2201", "name": "刹车片", "category": "oem", "unit": "件"}
    )
    assert response.context["form"].errors == {"code": ["The catalogue already has a part with this code."]}
    response = client.post(
        reverse("parts:part-new"),
        {"code": "oil-5w30", "name": "机油 5W-30 4L", "category": "oem", "unit": "桶", "is_core": "on"},
    )
    part = Part.objects.get(code="OIL-5W30")
    assert response["Location"] == reverse("parts:part", args=[part.pk]) and part.is_core


def test_stocktake_and_safety_stock_from_the_part_page(client, shop, clerk):
    client.force_login(clerk)
    with frozen(2026, 3, 2, 9, 0):
        client.post(reverse("parts:receive"), RECEIPT)
        batch = Batch.objects.get()
        page = client.get(reverse("parts:part", args=[batch.part_id])).content.decode()
        assert "L2602" in page and "INV-88" in page
        client.post(reverse("parts:stocktake", args=[batch.pk]), {"counted": "3", "reason": "破损1件"})
        client.post(reverse("parts:stock-settings", args=[batch.part_id, shop.store.pk]), {"safety_stock": "5"})
        response = client.post(
            reverse("parts:stocktake", args=[batch.pk]),
            {"counted": "", "reason": ""},
            follow=True,
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert "Counted on the shelf" in response.content.decode()
    stock = Stock.objects.get()
    assert (stock.on_hand, stock.safety_stock, stock.is_low) == (3, 5, True)


def test_issue_and_return_from_the_issue_page_and_the_vehicles_ledger(client, shop, clerk):
    with frozen(2026, 3, 2, 9, 0):
        client.force_login(clerk)
        client.post(reverse("parts:receive"), RECEIPT)
        order = open_order(shop)
        inspect(shop, order)
        line = services.estimate_line_add(
            order=order,
            by=shop.advisor,
            kind="part",
            description="前刹车片",
            part_number="BP-2201",
            unit_price="380",
            quantity=2,
        )
        services.estimate_send(estimate=line.estimate, by=shop.advisor)
        services.estimate_line_decide(line=line, decision="approved", channel="desk", by=shop.advisor)
        waiting = client.get(reverse("service:parts-issue")).content.decode()
        assert order.number in waiting
        page = client.get(reverse("service:parts-issue"), {"order": order.number}).content.decode()
        assert f'id="line-{line.pk}"' in page and "Oldest first (FIFO)" in page
        response = client.post(
            reverse("service:parts-line-issue", args=[line.pk]),
            {"quantity": "3"},
            follow=True,
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert "quantity: The line needs 2 more; issue at most that." in response.content.decode()
        client.post(reverse("service:parts-line-issue", args=[line.pk]), {"quantity": "2"})
        assert LinePartIssue.objects.get().quantity == 2
        batch = Batch.objects.get()
        client.post(reverse("service:parts-line-return", args=[line.pk]), {"batch": batch.pk, "quantity": "1"})
        ledger = client.get(reverse("service:vehicle-parts", args=[shop.vehicle.pk])).content.decode()
    assert [i.quantity for i in LinePartIssue.objects.order_by("id")] == [2, -1]
    assert "L2602" in ledger and "INV-88" in ledger and order.number in ledger
