"""/api/v1/staff/*: the roster and expiring certificates of the caller's stores; recording through the services
(201), bad input 422 naming the field with nothing written, another store's technician answering like a missing one."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from aftersales.config.testing import make_user
from aftersales.organisation.choices import Role
from aftersales.staff.models import Certificate, GradeRecord, TrainingRecord
from aftersales.staff.tests.conftest import frozen, grade, hv_certificate

pytestmark = pytest.mark.django_db
D = dt.date
API = "/api/v1/staff"


def rows():
    return (GradeRecord.objects.count(), Certificate.objects.count(), TrainingRecord.objects.count())


def post(client, path, body, headers):
    return client.post(f"{API}/{path}", json.dumps(body), content_type="application/json", **headers)


class ReadTests:
    def test_the_roster_with_grades_hv_and_certificate_states(self, client, shop, api_token):
        with frozen(2026, 6, 1, 10, 0):
            grade(shop.senior, shop.cast.mia, "senior", D(2024, 3, 1))
            hv_certificate(shop.senior, shop.cast.mia, issued=D(2023, 7, 1), expires=D(2026, 6, 20))
            other = make_user("hz-tech", Role.TECHNICIAN, store=shop.cast.store_b)
            response = client.get(f"{API}/technicians", **api_token(shop.cast.mia))
            expiring = client.get(f"{API}/certificates/expiring?days=30", **api_token(shop.cast.mia))
            none_yet = client.get(f"{API}/certificates/expiring?days=10", **api_token(shop.cast.mia))
        assert response.status_code == 200
        people = {row["id"]: row for row in response.json()}
        assert other.pk not in people and shop.cast.alice.pk not in people
        sam = people[shop.senior.pk]
        assert (sam["grade"], sam["grade_since"], sam["hv_certificate_valid"]) == ("senior", "2024-03-01", True)
        assert [c["state"] for c in sam["certificates"]] == ["expiring"]
        assert [c["number"] for c in expiring.json()] == ["T3101"]
        assert none_yet.json() == []

    def test_another_stores_code_and_a_role_without_the_capability(self, client, shop, api_token):
        mia = api_token(shop.cast.mia)
        assert client.get(f"{API}/technicians?store=HZ01", **mia).status_code == 422
        assert client.get(f"{API}/technicians", **api_token(shop.cast.alice)).json() == []


class WriteTests:
    def test_record_a_grade_certificate_and_training(self, client, shop, api_token):
        headers = api_token(shop.cast.mia)
        with frozen(2026, 6, 1, 10, 0):
            g = post(
                client,
                "grades",
                {"technician": shop.junior.pk, "grade": "intermediate", "effective_from": "2026-05-01"},
                headers,
            )
            c = post(
                client,
                "certificates",
                {
                    "technician": shop.junior.pk,
                    "kind": "oem_hv_1",
                    "number": "VW-1",
                    "issuer": "上汽大众",
                    "issued_on": "2026-01-01",
                    "expires_on": "2028-01-01",
                },
                headers,
            )
            t = post(
                client,
                "training",
                {
                    "technician": shop.junior.pk,
                    "course": "高压安全",
                    "hours": "8.5",
                    "finished_on": "2026-05-30",
                    "result": "passed",
                    "score": 90,
                },
                headers,
            )
        assert (g.status_code, c.status_code, t.status_code) == (201, 201, 201), (g.json(), c.json(), t.json())
        assert g.json()["current_grade"] == "intermediate"
        assert c.json()["state"] == "valid"
        assert t.json()["hours"] == "8.5"

    @pytest.mark.parametrize(
        ("path", "body", "field"),
        [
            ("grades", {"grade": "boss", "effective_from": "2026-05-01"}, "grade"),
            ("grades", {"grade": "senior", "effective_from": "2026-07-01"}, "effective_from"),
            ("grades", {"grade": "senior", "effective_from": "2026-05-01", "note": "a\nb"}, "note"),
            (
                "certificates",
                {"kind": "hv_electrician", "number": "", "issuer": "x", "issued_on": "2026-01-01"},
                "number",
            ),
            (
                "certificates",
                {
                    "kind": "hv_electrician",
                    "number": "1",
                    "issuer": "x",
                    "issued_on": "2026-01-01",
                    "expires_on": "2025-01-01",
                },
                "expires_on",
            ),
            ("training", {"course": "c", "hours": "0", "finished_on": "2026-05-01", "result": "passed"}, "hours"),
            (
                "training",
                {"course": "c", "hours": "1", "finished_on": "2026-05-01", "result": "passed", "score": 101},
                "score",
            ),
        ],
    )
    def test_bad_input_is_422_naming_the_field(self, client, shop, api_token, path, body, field):
        before = rows()
        with frozen(2026, 6, 1, 10, 0):
            response = post(client, path, {"technician": shop.junior.pk, **body}, api_token(shop.cast.mia))
        assert response.status_code == 422, response.content
        assert list(response.json()["errors"]) == [field]
        assert rows() == before

    def test_another_stores_technician_answers_like_a_missing_one(self, client, shop, api_token):
        other = make_user("hz-tech", Role.TECHNICIAN, store=shop.cast.store_b)
        headers = api_token(shop.cast.mia)
        body = {"grade": "senior", "effective_from": "2026-05-01"}
        with frozen(2026, 6, 1, 10, 0):
            theirs = post(client, "grades", {"technician": other.pk, **body}, headers)
            missing = post(client, "grades", {"technician": 10_000_000, **body}, headers)
            foreman = post(client, "grades", {"technician": shop.junior.pk, **body}, api_token(shop.foreman))
        assert theirs.status_code == missing.status_code == foreman.status_code == 422
        assert theirs.json() == missing.json()
        assert list(theirs.json()["errors"]) == ["technician"]
        assert rows() == (0, 0, 0)
