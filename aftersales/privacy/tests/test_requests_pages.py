"""The rights-request pages (list, desk form, the request's page with its clock and moves), the customer's page
behind their link, and the API's contract."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales.config.testing import make_customer, make_user, make_vehicle
from aftersales.organisation.choices import Role
from aftersales.privacy import services
from aftersales.privacy.choices import IdentityMethod, RequestStatus
from aftersales.privacy.models import RightsRequest
from aftersales.service import services as service_services
from aftersales.service.services.links import order_link_token

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 10, 10, 0, tzinfo=SH)


@pytest.fixture
def customer(cast):
    return make_customer(cast.store_a, by=cast.alice, name="李四")


def log(cast, customer, **fields):
    values = {"kind": "access", "scope": "all", "channel": "desk", "details": ""} | fields
    return services.rights_request_log(store=cast.store_a, customer=customer, by=cast.alice, **values)


def page(client, user, url, **kw):
    client.force_login(user)
    return client.get(url, kw, HTTP_ACCEPT_LANGUAGE="en")


# ------------------------------------------------------------------------------------------------ staff pages


def test_the_list_shows_open_requests_first_with_a_red_overdue_badge(client, cast, customer):
    with time_machine.travel(T0 - dt.timedelta(days=40), tick=False):
        late = log(cast, customer)
    with time_machine.travel(T0, tick=False):
        fresh = log(cast, customer, kind="copy")
        done = log(cast, customer, kind="object")
        services.rights_request_refuse(request=done, reason="重复", by=cast.mia)
        body = page(client, cast.alice, reverse("privacy:request-list"), status="all").content.decode()
    assert body.index(late.number) < body.index(fresh.number) < body.index(done.number)
    assert 'text-bg-danger countdown" data-overdue="1"' in body
    with time_machine.travel(T0, tick=False):
        kinds = page(client, cast.alice, reverse("privacy:request-list"), kind="copy").content.decode()
    assert fresh.number in kinds and late.number not in kinds


def test_the_empty_list_says_what_to_do(client, cast):
    body = page(client, cast.alice, reverse("privacy:request-list")).content.decode()
    assert 'id="request-empty"' in body and "log it here" in body


@pytest.mark.parametrize("persona", ["tom", "dan"])
def test_technicians_and_drivers_have_no_rights_request_pages(client, cast, persona):
    assert page(client, getattr(cast, persona), reverse("privacy:request-list")).status_code == 403
    assert page(client, getattr(cast, persona), reverse("privacy:request-new")).status_code == 403


def test_the_list_reads_a_bounded_number_of_queries(client, cast, customer):
    def count() -> int:
        client.force_login(cast.alice)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("privacy:request-list")).status_code == 200
        return len(queries)

    log(cast, customer)
    few = count()
    for _ in range(8):
        log(cast, customer, kind="copy")
    assert count() == few


def test_the_desk_form_names_bad_fields_and_writes_nothing(client, cast, customer):
    client.force_login(cast.alice)
    url = reverse("privacy:request-new") + f"?customer={customer.pk}"
    response = client.post(url, {"kind": "", "scope": "vehicle", "details": "", "received_at": "2099-01-01T10:00"})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-error-for="kind"' in body and 'data-error-for="received_at"' in body
    assert not RightsRequest.objects.exists()
    response = client.post(url, {"kind": "erase", "scope": "vehicle", "details": "删除车辆数据", "received_at": ""})
    r = RightsRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("privacy:request-detail", args=[r.pk])
    assert (r.kind, r.scope, r.channel, r.logged_by) == ("erase", "vehicle", "desk", cast.alice)


def test_the_request_page_shows_the_clock_and_only_the_offered_moves(client, cast, customer):
    with time_machine.travel(dt.datetime(2026, 9, 30, 16, 0, tzinfo=SH), tick=False):
        r = log(cast, customer, kind="erase", scope="vehicle")
        advisor = page(client, cast.alice, reverse("privacy:request-detail", args=[r.pk])).content.decode()
        manager = page(client, cast.mia, reverse("privacy:request-detail", args=[r.pk])).content.decode()
    assert "2026-10-20 23:59" in advisor and "10 working days" in advisor
    assert 'id="identity-form"' not in advisor and 'id="request-withdraw"' in advisor
    assert 'id="identity-form"' in manager and 'id="request-refuse"' in manager and 'id="request-answer"' not in manager


def test_the_identity_check_and_refusal_through_the_page(client, cast, customer):
    r = log(cast, customer, kind="object", details="不要自动推荐")
    client.force_login(cast.mia)
    url = reverse("privacy:request-detail", args=[r.pk])
    bad = client.post(url, {"action": "verify_identity", "method": "", "note": ""})
    assert bad.status_code == 400 and 'data-error-for="method"' in bad.content.decode()
    assert client.post(url, {"action": "verify_identity", "method": IdentityMethod.ID_DOCUMENT}).status_code == 302
    assert client.post(url, {"action": "answer", "answer": "已关闭"}).status_code == 302
    r.refresh_from_db()
    assert r.status == RequestStatus.DONE
    # an advisor posting a handler's move is refused by the rulebook
    other = log(cast, customer)
    client.force_login(cast.alice)
    refused = client.post(reverse("privacy:request-detail", args=[other.pk]), {"action": "refuse", "reason": "x"})
    assert refused.status_code == 403
    assert RightsRequest.objects.get(pk=other.pk).status == RequestStatus.RECEIVED


def test_the_request_history_reads_in_words_for_the_manager_only(client, cast, customer):
    r = log(cast, customer, kind="object")
    services.rights_request_verify_identity(request=r, method=IdentityMethod.ID_DOCUMENT, note="", by=cast.mia)
    history = reverse("organisation:audit-record", args=["privacy.rightsrequest", r.pk])
    manager = page(client, cast.mia, reverse("privacy:request-detail", args=[r.pk])).content.decode()
    advisor = page(client, cast.alice, reverse("privacy:request-detail", args=[r.pk])).content.decode()
    assert history in manager and history not in advisor  # the trail is the manager's (VIEW_AUDIT)
    text = page(client, cast.mia, history).content.decode()
    assert "Rights request logged" in text and "identity checked for a rights request" in text
    assert "rights_request.verify_identity" not in text


def test_another_stores_request_is_404(client, cast, customer):
    r = log(cast, customer)
    assert page(client, cast.carol, reverse("privacy:request-detail", args=[r.pk])).status_code == 404


# ------------------------------------------------------------------------------------------------ the customer


@pytest.fixture
def order_token(cast, customer):
    car = make_vehicle(customer, by=cast.alice, plate="沪A12345")
    order = service_services.walk_in_register(store=cast.store_a, by=cast.alice, service_type="repair", plate=car.plate)
    return order_link_token(order)


def test_the_customer_files_a_request_through_their_link(client, cast, customer, order_token):
    url = reverse("privacy:customer-request", args=["r", order_token])
    assert client.get(url).status_code == 200
    bad = client.post(url, {"kind": "sell_it", "scope": "all", "details": ""})
    assert bad.status_code == 400 and 'data-error-for="kind"' in bad.content.decode()
    assert not RightsRequest.objects.exists()
    assert client.post(url, {"kind": "copy", "scope": "all", "details": "请发我一份"}).status_code == 302
    r = RightsRequest.objects.get()
    assert (r.customer, r.channel, r.status, r.identity_method) == (customer, "link", "in_progress", "signed_link")
    assert "answer due by" in client.get(url + "?lang=en").content.decode()


def test_a_tampered_link_is_refused(client, order_token):
    response = client.get(reverse("privacy:customer-request", args=["r", order_token + "x"]))
    assert response.status_code == 403 and not RightsRequest.objects.exists()


def test_the_order_page_links_to_the_privacy_page(client, order_token):
    body = client.get(reverse("service:customer-order", args=[order_token])).content.decode()
    assert reverse("privacy:customer-request", args=["r", order_token]) in body


# ------------------------------------------------------------------------------------------------ the API


def test_api_logs_a_request_and_answers_its_clock(client, cast, customer, api_token):
    headers = api_token(cast.alice)
    with time_machine.travel(T0, tick=False):
        response = client.post(
            "/api/v1/rights-requests",
            {"customer": customer.pk, "kind": "erase", "scope": "vehicle", "details": "删除"},
            content_type="application/json",
            **headers,
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "received" and body["number"].startswith("SH01-PI-")
    assert body["due_at"] == "2026-03-24T23:59:59+08:00"  # ten working days after Tuesday 10 March
    assert RightsRequest.objects.get(pk=body["id"]).channel == "api"
    listed = client.get("/api/v1/rights-requests", **headers).json()
    assert [row["id"] for row in listed["items"]] == [body["id"]] and listed["count"] == 1
    assert client.get(f"/api/v1/rights-requests/{body['id']}", **headers).json()["number"] == body["number"]
    assert client.get(f"/api/v1/rights-requests/{body['id']}", **api_token(cast.carol)).status_code == 404


def test_api_refuses_bad_fields_and_roles(client, cast, customer, api_token):
    bad = client.post(
        "/api/v1/rights-requests",
        {"customer": customer.pk, "kind": "sell", "scope": "all", "received_at": "2099-01-01T00:00:00+08:00"},
        content_type="application/json",
        **api_token(cast.alice),
    )
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"kind"}
    future = client.post(
        "/api/v1/rights-requests",
        {"customer": customer.pk, "kind": "copy", "scope": "all", "received_at": "2099-01-01T00:00:00+08:00"},
        content_type="application/json",
        **api_token(cast.alice),
    )
    assert future.status_code == 422 and set(future.json()["errors"]) == {"received_at"}
    tech = client.post(
        "/api/v1/rights-requests",
        {"customer": customer.pk, "kind": "copy"},
        content_type="application/json",
        **api_token(cast.tom),
    )
    assert tech.status_code == 403
    other = client.post(
        "/api/v1/rights-requests",
        {"customer": customer.pk, "kind": "copy"},
        content_type="application/json",
        **api_token(cast.carol),
    )
    assert other.status_code == 422 and "customer" in other.content.decode()
    assert not RightsRequest.objects.exists()


def test_the_privacy_officer_reads_every_store_of_the_group(client, cast, customer, api_token):
    officer = make_user("pia", Role.PRIVACY_OFFICER, group=cast.group)
    r = log(cast, customer)
    assert client.get(f"/api/v1/rights-requests/{r.pk}", **api_token(officer)).status_code == 200


def test_the_customer_file_offers_the_rights_requests_to_those_who_log_them(client, cast, customer):
    url = reverse("customers:customer-detail", args=[customer.pk])
    assert 'id="rights-requests-link"' in page(client, cast.alice, url).content.decode()
    assert 'id="rights-requests-link"' not in page(client, cast.tom, url).content.decode()
    r = log(cast, customer)
    listed = page(client, cast.alice, reverse("privacy:request-list"), customer=customer.pk).content.decode()
    assert r.number in listed and f"?customer={customer.pk}" in listed


# ------------------------------------------------------------------------------------------------ export / erasure


def _checked(cast, customer, **fields):
    r = log(cast, customer, **fields)
    return services.rights_request_verify_identity(request=r, method="id_document", note="", by=cast.mia)


def test_answering_a_copy_request_produces_the_export(cast, customer):
    from aftersales.core.models import AuditEntry

    r = _checked(cast, customer, kind="copy")
    services.rights_request_answer(request=r, answer="已交付 JSON 和 PDF", by=cast.mia)
    assert RightsRequest.objects.get(pk=r.pk).status == RequestStatus.DONE
    export = AuditEntry.objects.get(action="customer.export")
    assert export.changes["rights_request"] == r.pk


def test_answering_an_erasure_anonymises_the_customer_and_keeps_the_request(cast, customer):
    r = _checked(cast, customer, kind="erase")
    services.rights_request_answer(request=r, answer="已删除", by=cast.mia)
    customer.refresh_from_db()
    r.refresh_from_db()
    assert customer.name != "李四" and r.status == RequestStatus.DONE and r.customer_id == customer.pk


def test_an_erasure_the_law_forbids_shows_its_reasons_and_is_refused_with_them(client, cast, customer, order_token):
    r = _checked(cast, customer, kind="erase")  # the customer's car is in the workshop (an open order)
    client.force_login(cast.mia)
    url = reverse("privacy:request-detail", args=[r.pk])
    response = client.post(url, {"action": "answer", "answer": "删除"}, HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert response.status_code == 409 and 'id="erasure-refusals"' in body
    customer.refresh_from_db()
    assert customer.name == "李四" and RightsRequest.objects.get(pk=r.pk).status == RequestStatus.IN_PROGRESS
    reason = services.erasure_refusals(r)[0]
    assert reason in body  # prefilled in the refusal form
    assert client.post(url, {"action": "refuse", "reason": reason}).status_code == 302
    assert RightsRequest.objects.get(pk=r.pk).refusal_reason == reason


def test_the_customers_page_is_rate_limited_like_every_public_post(client, settings, customer, order_token):
    settings.AFTERSALES_PUBLIC_POST_RATE = (2, 60)
    url = reverse("privacy:customer-request", args=["r", order_token])
    with time_machine.travel(T0, tick=False):
        for _n in range(2):
            assert client.post(url, {"kind": ""}).status_code == 400  # counted, answered normally
        response = client.post(url, {"kind": "copy", "scope": "all"})
    assert response.status_code == 429 and not RightsRequest.objects.exists()
