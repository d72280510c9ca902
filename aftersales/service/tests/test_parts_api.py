"""The parts endpoints: receipts, a part's stock, issues (409 when stock would go negative), bad input by field."""

import json

import pytest

from aftersales.config.testing import make_user
from aftersales.organisation.choices import Role
from aftersales.parts import services as parts
from aftersales.parts.models import Batch, Movement
from aftersales.service import services
from aftersales.service.models import LinePartIssue
from aftersales.service.tests.conftest import frozen, inspect, open_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(client):
    """The assertions read English messages; without the header a request is answered in Chinese (the default)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


RECEIPT = {
    "store": "SH01",
    "part": "BP-2201",
    "quantity": "3",
    "supplier": "广汽本田配件中心",
    "batch_number": "L2602",
    "source_voucher": "INV-88",
    "certificate_checked": True,
    "unit_cost": "120.00",
    "received_on": "2026-02-27",
    "production_date": "2026-01-05",
    "warranty_months": 24,
}


@pytest.fixture
def clerk(shop):
    user = make_user("pia", Role.PARTS_CLERK, store=shop.store)
    parts.part_save(group=shop.store.group, by=user, code="BP-2201", name="前刹车片", category="oem")
    return user


def post(client, path, body, headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def test_receive_then_read_the_stock(client, shop, clerk, api_token):
    headers = api_token(clerk)
    with frozen(2026, 3, 2, 9, 0):
        response = post(client, "/api/v1/parts/receipts", RECEIPT, headers)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["part"], body["store"], body["batch_number"], body["on_hand"]) == ("BP-2201", "SH01", "L2602", "3.00")
    assert body["receipt_number"].startswith("GR")
    stock = client.get("/api/v1/parts/bp-2201/stock?store=SH01", **headers).json()
    assert (stock["on_hand"], stock["low"], [b["batch_number"] for b in stock["batches"]]) == ("3.00", False, ["L2602"])
    assert client.get("/api/v1/parts/NOPE/stock?store=SH01", **headers).status_code == 404
    assert client.get("/api/v1/parts/BP-2201/stock?store=BJ01", **headers).status_code == 422
    assert client.get("/api/v1/parts/BP-2201/stock", **headers).status_code == 422


def test_a_bad_receipt_is_422_naming_the_fields_and_writes_nothing(client, shop, clerk, api_token):
    body = {**RECEIPT, "quantity": "-1", "received_on": "2030-01-01", "part": "NOPE"}
    with frozen(2026, 3, 2, 9, 0):
        response = post(client, "/api/v1/parts/receipts", body, api_token(clerk))
        assert response.status_code == 422
        assert {"quantity", "received_on"} <= set(response.json()["errors"])
        response = post(client, "/api/v1/parts/receipts", {**RECEIPT, "certificate_checked": False}, api_token(clerk))
        assert response.status_code == 422
        assert set(response.json()["errors"]) == {"certificate_checked"}
        response = post(client, "/api/v1/parts/receipts", {**RECEIPT, "part": "NOPE"}, api_token(clerk))
        assert response.json()["errors"] == {"part": ["No part with this code or barcode in the catalogue."]}
    assert not Batch.objects.exists() and not Movement.objects.exists()


def test_only_the_parts_people_receive(client, shop, clerk, api_token):
    with frozen(2026, 3, 2, 9, 0):
        assert post(client, "/api/v1/parts/receipts", RECEIPT, api_token(shop.advisor)).status_code == 403
        assert post(client, "/api/v1/parts/receipts", RECEIPT, api_token(shop.cast.carol)).status_code == 422


def test_issue_to_an_order_and_409_when_stock_would_go_negative(client, shop, clerk, api_token):
    headers = api_token(clerk)
    with frozen(2026, 3, 2, 9, 0):
        post(client, "/api/v1/parts/receipts", RECEIPT, headers)
        order = open_order(shop)
        inspect(shop, order)
        line = services.estimate_line_add(
            order=order,
            by=shop.advisor,
            kind="part",
            description="前刹车片",
            part_number="BP-2201",
            unit_price="380",
            quantity=5,
        )
        services.estimate_send(estimate=line.estimate, by=shop.advisor)
        services.estimate_line_decide(line=line, decision="approved", channel="desk", by=shop.advisor)
        response = post(client, "/api/v1/parts/issues", {"order": order.pk, "part": "BP-2201", "quantity": 2}, headers)
        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["line"], body["issued"], body["line_issued"], body["on_hand"]) == (
            line.pk,
            [{"batch": "L2602", "quantity": "2.00"}],
            "2.00",
            "1.00",
        )
        response = post(client, "/api/v1/parts/issues", {"order": order.pk, "part": "BP-2201", "quantity": 2}, headers)
        assert response.status_code == 409
        assert response.json()["detail"] == "Only 1 件 of BP-2201 in stock; 2 asked for."
        response = post(client, "/api/v1/parts/issues", {"order": order.pk, "part": "BP-2201", "quantity": 0}, headers)
        assert response.status_code == 422 and "quantity" in response.json()["errors"]
        response = post(client, "/api/v1/parts/issues", {"order": 999999, "part": "BP-2201", "quantity": 1}, headers)
        assert response.status_code == 404
    assert LinePartIssue.objects.count() == 1
