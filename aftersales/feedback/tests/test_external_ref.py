"""`external_source` + `external_ref` on complaints and suggestions (a call-centre ticket, a Dianping review):
kept and answered, unique per source in the dealer group (the second is 409 `duplicate_external_ref` naming the
first), the lists filtered by them; on PostgreSQL two stores posting one reference at the same moment keep one."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from aftersales.config.testing import make_customer, race
from aftersales.feedback import services
from aftersales.feedback.models import Complaint, Suggestion

COMPLAINTS = "/api/v1/complaints"
SUGGESTIONS = "/api/v1/suggestions"


def post(client, url, body, headers):
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def complaint(customer, store="SH01", **extra):
    return {
        "store": store,
        "customer": customer.pk,
        "channel": "online_review",
        "category": "attitude",
        "priority": "important",
        "description": "点评：前台态度冷淡",
        **extra,
    }


def suggestion(customer, store="SH01", **extra):
    return {"store": store, "customer": customer.pk, "channel": "phone", "description": "希望周末延长营业", **extra}


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def people(cast, api_token):
    """Alice's customer at store A, Carol's at store B (the same dealer group), with their tokens."""
    return (
        make_customer(cast.store_a, by=cast.alice),
        api_token(cast.alice),
        make_customer(cast.store_b, by=cast.carol),
        api_token(cast.carol),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "body"), [(COMPLAINTS, complaint), (SUGGESTIONS, suggestion)])
class ExternalRefTests:
    def test_it_is_kept_and_answered(self, client, people, url, body):
        customer, as_alice, *_ = people
        response = post(client, url, body(customer, external_source="Dianping", external_ref="r-88"), as_alice)
        assert response.status_code == 201, response.content
        data = response.json()
        assert (data["external_source"], data["external_ref"]) == ("dianping", "r-88")
        assert client.get(f"{url}/{data['id']}", **as_alice).json()["external_ref"] == "r-88"
        plain = post(client, url, body(customer), as_alice).json()
        assert (plain["external_source"], plain["external_ref"]) == ("", "")

    def test_the_second_with_the_pair_is_409_naming_the_first(self, client, people, url, body):
        customer, as_alice, *_ = people
        first = post(client, url, body(customer, external_source="dianping", external_ref="r-1"), as_alice).json()
        again = post(client, url, body(customer, external_source="dianping", external_ref="r-1"), as_alice)
        assert again.status_code == 409, again.content
        assert again.json()["code"] == "duplicate_external_ref"
        assert again.json()["existing_id"] == first["id"]
        model = Complaint if url == COMPLAINTS else Suggestion
        assert model.objects.count() == 1

    def test_unique_in_the_dealer_group_not_only_the_store(self, client, people, url, body):
        customer_a, as_alice, customer_b, as_carol = people
        first = post(client, url, body(customer_a, external_source="callcenter", external_ref="C-7"), as_alice).json()
        at_b = post(client, url, body(customer_b, "HZ01", external_source="callcenter", external_ref="C-7"), as_carol)
        assert at_b.status_code == 409 and at_b.json()["existing_id"] == first["id"]

    def test_another_source_may_use_the_same_ref(self, client, people, url, body):
        customer, as_alice, *_ = people
        first = post(client, url, body(customer, external_source="callcenter", external_ref="9"), as_alice)
        second = post(client, url, body(customer, external_source="dianping", external_ref="9"), as_alice)
        assert first.status_code == second.status_code == 201

    @pytest.mark.parametrize(
        ("extra", "field"),
        [
            ({"external_ref": "r-2"}, "external_source"),
            ({"external_source": "dianping"}, "external_ref"),
            ({"external_source": "点评", "external_ref": "r-2"}, "external_source"),
            ({"external_source": "dianping", "external_ref": "r" * 101}, "external_ref"),
        ],
    )
    def test_a_bad_pair_is_422_naming_the_field(self, client, people, url, body, extra, field):
        customer, as_alice, *_ = people
        response = post(client, url, body(customer, **extra), as_alice)
        assert response.status_code == 422, response.content
        assert response.json()["code"] == "validation_error"
        assert field in response.json()["errors"]

    def test_the_list_filters_by_source_and_reference(self, client, people, url, body):
        customer, as_alice, customer_b, as_carol = people
        wanted = post(client, url, body(customer, external_source="dianping", external_ref="r-5"), as_alice).json()
        post(client, url, body(customer, external_source="dianping", external_ref="r-6"), as_alice)
        post(client, url, body(customer, external_source="callcenter", external_ref="r-5"), as_alice)
        post(client, url, body(customer_b, "HZ01", external_source="meituan", external_ref="r-5"), as_carol)

        def ids(query):
            response = client.get(f"{url}?{query}", **as_alice)
            assert response.status_code == 200, response.content
            return {item["id"] for item in response.json()["items"]}

        assert ids("external_source=dianping&external_ref=r-5") == {wanted["id"]}
        assert len(ids("external_ref=r-5")) == 2  # not store B's
        assert len(ids("external_source=dianping")) == 2


@pytest.mark.django_db
def test_the_complaint_and_the_suggestion_services_take_the_pair(cast):
    customer = make_customer(cast.store_a, by=cast.alice)
    logged = services.complaint_log(
        store=cast.store_a,
        customer=customer,
        channel="phone",
        category="waiting",
        priority="general",
        description="等太久",
        by=cast.alice,
        external_source="callcenter",
        external_ref="A-1",
    )
    noted = services.suggestion_log(
        store=cast.store_a,
        customer=customer,
        channel="phone",
        description="增加休息区",
        by=cast.alice,
        external_source="callcenter",
        external_ref="A-1",  # a complaint and a suggestion are counted apart
    )
    assert (logged.external_ref, noted.external_ref) == ("A-1", "A-1")


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writers")
@pytest.mark.parametrize("attempt", range(3))
def test_two_stores_posting_one_reference_at_once_keep_one(people, attempt):
    customer_a, as_alice, customer_b, as_carol = people
    sends = [
        (complaint(customer_a, external_source="callcenter", external_ref=f"R-{attempt}"), as_alice),
        (complaint(customer_b, "HZ01", external_source="callcenter", external_ref=f"R-{attempt}"), as_carol),
    ]

    def send(index):
        body, headers = sends[index]
        response = post(Client(), COMPLAINTS, body, {**headers, "HTTP_ACCEPT_LANGUAGE": "en"})
        return response.status_code, response.json()

    results = race(send, 2, at=timezone.now())
    assert sorted(status for status, _body in results) == [201, 409], results
    kept = Complaint.objects.get()
    refused = next(body for status, body in results if status == 409)
    assert refused["code"] == "duplicate_external_ref" and refused["existing_id"] == kept.pk
