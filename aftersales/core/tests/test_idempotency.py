"""`Idempotency-Key` on the API's POSTs (core/idempotency.py): a retry answers the first result, another request
with the same key is refused, a refused first try keeps nothing, keys expire after 24 hours; and on PostgreSQL,
requests racing with one key create one complaint."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from aftersales.config.management.commands.worker import schedule_description
from aftersales.config.testing import make_customer, race, unique_mobile
from aftersales.core import idempotency
from aftersales.core import tasks as core_tasks
from aftersales.core.models import IdempotencyRecord
from aftersales.customers.models import Customer
from aftersales.feedback.models import Complaint
from aftersales.organisation.models import ApiToken

CUSTOMERS = "/api/v1/customers"
COMPLAINTS = "/api/v1/complaints"


def post(client, url, body, headers, key=None):
    extra = dict(headers)
    if key is not None:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", **extra)


def customer_body(**overrides):
    return {"store": "SH01", "name": "王五", "phone": unique_mobile(), **overrides}


def complaint_body(customer, **overrides):
    return {
        "store": "SH01",
        "customer": customer.pk,
        "channel": "phone",
        "category": "waiting",
        "priority": "general",
        "description": "等待时间太长",
        **overrides,
    }


def assert_problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["status"] == status, body
    assert {"type", "title", "detail"} <= set(body)
    return body


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def as_alice(cast, api_token):
    return api_token(cast.alice)


@pytest.mark.django_db
class ReplayTests:
    def test_the_same_key_and_body_answer_the_first_result_once_written(self, client, cast, as_alice):
        body = customer_body()
        first = post(client, CUSTOMERS, body, as_alice, key="order-7f3a")
        assert first.status_code == 201, first.content
        assert idempotency.REPLAYED_HEADER not in first
        again = post(client, CUSTOMERS, body, as_alice, key="order-7f3a")
        assert again.status_code == 201
        assert again[idempotency.REPLAYED_HEADER] == "true"
        assert again["Content-Type"] == first["Content-Type"]
        assert again.json() == first.json()
        assert Customer.objects.count() == 1

    def test_json_is_compared_after_parsing(self, client, cast, as_alice):
        body = customer_body()
        first = post(client, CUSTOMERS, json.dumps(body), as_alice, key="k1")
        reordered = json.dumps(dict(reversed(list(body.items()))), indent=2, ensure_ascii=True)
        again = post(client, CUSTOMERS, reordered, as_alice, key="k1")
        assert again.status_code == 201 and again[idempotency.REPLAYED_HEADER] == "true"
        assert again.json()["id"] == first.json()["id"]

    def test_the_same_key_with_another_body_is_409(self, client, cast, as_alice):
        assert post(client, CUSTOMERS, customer_body(), as_alice, key="k2").status_code == 201
        response = post(client, CUSTOMERS, customer_body(), as_alice, key="k2")
        assert_problem(response, 409, "idempotency_key_reused")
        assert Customer.objects.count() == 1

    def test_the_same_key_on_another_path_is_409(self, client, cast, as_alice):
        customer = make_customer(cast.store_a, by=cast.alice)
        body = complaint_body(customer)
        assert post(client, COMPLAINTS, body, as_alice, key="k3").status_code == 201
        response = post(client, "/api/v1/suggestions", body, as_alice, key="k3")
        assert_problem(response, 409, "idempotency_key_reused")

    def test_keys_belong_to_the_caller(self, client, cast, api_token):
        customer = make_customer(cast.store_a, by=cast.alice)
        body = complaint_body(customer)
        by_alice = post(client, COMPLAINTS, body, api_token(cast.alice), key="shared")
        by_bob = post(client, COMPLAINTS, body, api_token(cast.bob), key="shared")
        assert by_alice.status_code == by_bob.status_code == 201
        assert idempotency.REPLAYED_HEADER not in by_bob
        assert by_alice.json()["id"] != by_bob.json()["id"]

    def test_a_revoked_token_gets_no_replay(self, client, cast, as_alice):
        body = customer_body()
        assert post(client, CUSTOMERS, body, as_alice, key="before-revoke").status_code == 201
        ApiToken.objects.filter(user=cast.alice).update(revoked_at=timezone.now())
        again = post(client, CUSTOMERS, body, as_alice, key="before-revoke")
        assert again.status_code == 401 and again.json()["code"] == "unauthenticated"
        assert idempotency.REPLAYED_HEADER not in again

    def test_a_post_that_answers_200_is_replayed_too(self, client, cast, as_alice):
        customer = make_customer(cast.store_a, by=cast.alice)
        created = post(client, COMPLAINTS, complaint_body(customer), as_alice).json()
        url = f"{COMPLAINTS}/{created['id']}/acknowledge"
        first = post(client, url, {"note": "已受理"}, as_alice, key="ack-1")
        assert first.status_code == 200, first.content
        again = post(client, url, {"note": "已受理"}, as_alice, key="ack-1")
        assert again.status_code == 200 and again[idempotency.REPLAYED_HEADER] == "true"
        assert again.json() == first.json()

    def test_without_the_header_nothing_is_kept(self, client, cast, as_alice):
        post(client, CUSTOMERS, customer_body(), as_alice)
        assert not IdempotencyRecord.objects.exists()

    def test_other_methods_and_paths_ignore_the_header(self, client, cast, as_alice):
        assert client.get(CUSTOMERS, HTTP_IDEMPOTENCY_KEY="k4", **as_alice).status_code == 200
        client.post("/accounts/login/", {"username": "x", "password": "y"}, HTTP_IDEMPOTENCY_KEY="k4")
        assert not IdempotencyRecord.objects.exists()

    def test_the_caller_is_kept_as_a_hash_only(self, client, cast, as_alice):
        post(client, CUSTOMERS, customer_body(), as_alice, key="k5")
        record = IdempotencyRecord.objects.get()
        token = as_alice["HTTP_AUTHORIZATION"].split()[-1]
        assert token not in record.scope_hash and len(record.scope_hash) == 64
        assert record.status_code == 201 and record.completed_at is not None


@pytest.mark.django_db
class RefusedFirstTryTests:
    def test_a_422_keeps_nothing_and_the_corrected_request_runs(self, client, cast, as_alice):
        bad = post(client, CUSTOMERS, customer_body(phone="12"), as_alice, key="fix-me")
        assert bad.status_code == 422
        assert not IdempotencyRecord.objects.exists()
        good = post(client, CUSTOMERS, customer_body(), as_alice, key="fix-me")
        assert good.status_code == 201 and idempotency.REPLAYED_HEADER not in good
        assert Customer.objects.count() == 1

    def test_a_403_is_not_replayed(self, client, cast, api_token):
        body = customer_body()
        for _attempt in range(2):
            response = post(client, CUSTOMERS, body, api_token(cast.tom), key="tech")
            assert response.status_code == 403 and idempotency.REPLAYED_HEADER not in response
        assert not IdempotencyRecord.objects.exists()

    def test_a_body_too_large_is_413_and_kept_nothing(self, client, cast, as_alice, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200
        response = post(client, CUSTOMERS, customer_body(address="长" * 300), as_alice, key="big")
        assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
        assert not IdempotencyRecord.objects.exists()

    def test_without_credentials_it_is_401_and_kept_nothing(self, client, cast):
        response = post(client, CUSTOMERS, customer_body(), {}, key="anon")
        assert response.status_code == 401
        assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
class KeyTests:
    @pytest.mark.parametrize("key", ["", "x" * 256, "clé", "tab\there", "键"])
    def test_a_bad_key_is_422_naming_the_header(self, client, cast, as_alice, key):
        response = post(client, CUSTOMERS, customer_body(), as_alice, key=key)
        body = assert_problem(response, 422, "validation_error")
        assert list(body["errors"]) == ["Idempotency-Key"]
        assert body["errors"]["Idempotency-Key"] == ["An idempotency key is 1 to 255 printable ASCII characters."]
        assert not Customer.objects.exists()

    def test_255_printable_characters_are_a_key(self, client, cast, as_alice):
        key = ("a-Z 0~9!" * 40)[:255]
        assert post(client, CUSTOMERS, customer_body(), as_alice, key=key).status_code == 201
        assert IdempotencyRecord.objects.get().key == key

    def test_the_message_is_in_the_callers_language(self, client, cast, as_alice):
        response = post(client, CUSTOMERS, customer_body(), {**as_alice, "HTTP_ACCEPT_LANGUAGE": "zh-hans"}, key="")
        body = assert_problem(response, 422, "validation_error")
        assert body["detail"] != "An idempotency key is 1 to 255 printable ASCII characters."


@pytest.mark.django_db
class InProgressAndExpiryTests:
    def _claimed(self, as_alice, key, *, started_at, body, path=CUSTOMERS):
        from django.test import RequestFactory

        request = RequestFactory().post(path, data=json.dumps(body), content_type="application/json", **as_alice)
        return IdempotencyRecord.objects.create(
            scope_hash=idempotency.scope_of(request),
            key=key,
            request_hash=idempotency.request_hash(request, request.body),
            path=path,
            created_at=started_at,
            started_at=started_at,
        )

    def test_a_key_still_running_is_409_in_progress(self, client, cast, as_alice):
        body = customer_body()
        self._claimed(as_alice, "busy", started_at=timezone.now() - dt.timedelta(seconds=30), body=body)
        response = post(client, CUSTOMERS, body, as_alice, key="busy")
        assert_problem(response, 409, "idempotency_in_progress")
        assert response["Retry-After"] == "1"
        assert not Customer.objects.exists()

    def test_another_body_while_running_is_409_reused(self, client, cast, as_alice):
        self._claimed(as_alice, "busy", started_at=timezone.now(), body=customer_body())
        assert_problem(post(client, CUSTOMERS, customer_body(), as_alice, key="busy"), 409, "idempotency_key_reused")

    def test_a_claim_whose_request_died_is_taken_over_after_the_lease(self, client, cast, as_alice):
        body = customer_body()
        started = timezone.now() - idempotency.LEASE - dt.timedelta(seconds=1)
        self._claimed(as_alice, "orphan", started_at=started, body=body)
        response = post(client, CUSTOMERS, body, as_alice, key="orphan")
        assert response.status_code == 201 and idempotency.REPLAYED_HEADER not in response
        record = IdempotencyRecord.objects.get()
        assert record.status_code == 201 and record.started_at > started

    def test_a_key_expires_after_24_hours(self, client, cast, as_alice):
        body = customer_body()
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            first = post(client, CUSTOMERS, body, as_alice, key="daily")
        with time_machine.travel(start + dt.timedelta(hours=23, minutes=59), tick=False):
            assert post(client, CUSTOMERS, body, as_alice, key="daily")[idempotency.REPLAYED_HEADER] == "true"
        with time_machine.travel(start + dt.timedelta(hours=24), tick=False):
            again = post(client, CUSTOMERS, body, as_alice, key="daily")
        # Run again: the customer exists now, so the service refuses the duplicate mobile number.
        assert first.status_code == 201 and again.status_code == 422
        assert idempotency.REPLAYED_HEADER not in again

    def test_the_purge_deletes_expired_keys_only(self, client, cast, as_alice):
        now = timezone.now()
        self._claimed(as_alice, "old", started_at=now - dt.timedelta(hours=24, seconds=1), body={})
        self._claimed(as_alice, "young", started_at=now - dt.timedelta(hours=23), body={})
        with time_machine.travel(now, tick=False):
            assert core_tasks.idempotency_purge.call_local() == 1
            assert core_tasks.idempotency_purge.call_local() == 0
        assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["young"]

    def test_the_purge_runs_every_hour(self):
        assert schedule_description(core_tasks.idempotency_purge.task_class()) == "every 60 minutes"


# --------------------------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writers")
@pytest.mark.parametrize("attempt", range(3))
def test_requests_racing_with_one_key_create_one_complaint(cast, api_token, attempt):
    customer = make_customer(cast.store_a, by=cast.alice)
    headers = {**api_token(cast.alice), "HTTP_ACCEPT_LANGUAGE": "en"}
    body = complaint_body(customer)

    def send(_index):
        response = post(Client(), COMPLAINTS, body, headers, key=f"race-{attempt}")
        return response.status_code, response.get(idempotency.REPLAYED_HEADER), response.json()

    results = race(send, 4, at=timezone.now())
    assert not any(isinstance(result, Exception) for result in results), results
    assert Complaint.objects.count() == 1
    complaint_id = Complaint.objects.get().pk
    ran = [r for r in results if r[0] == 201 and r[1] is None]
    assert len(ran) == 1 and ran[0][2]["id"] == complaint_id
    for status, replayed, answer in results:
        if status == 201:
            assert answer["id"] == complaint_id
        else:
            assert (status, answer["code"]) == (409, "idempotency_in_progress")
            assert replayed is None
