"""The roster and a technician's page: who sees them, the forms (bad input names the field and writes nothing),
another store's technician answers like a missing one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from aftersales.config.testing import make_user
from aftersales.organisation.choices import Role
from aftersales.staff.models import Certificate, GradeRecord, TrainingRecord
from aftersales.staff.tests.conftest import frozen, grade, hv_certificate

pytestmark = pytest.mark.django_db
D = dt.date
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def rows():
    return (GradeRecord.objects.count(), Certificate.objects.count(), TrainingRecord.objects.count())


@pytest.fixture
def records(shop):
    with frozen(2026, 6, 1, 10, 0):
        grade(shop.senior, shop.cast.mia, "senior", D(2024, 3, 1))
        hv_certificate(shop.senior, shop.cast.mia, issued=D(2023, 7, 1), expires=D(2026, 6, 20))
        hv_certificate(shop.junior, shop.cast.mia, issued=D(2020, 7, 1), expires=D(2026, 5, 1), number="OLD")
    return shop


class RosterTests:
    def test_the_manager_sees_grades_certificate_states_and_training(self, client, records):
        shop = records
        client.force_login(shop.cast.mia)
        with frozen(2026, 6, 1, 10, 0):
            html = client.get(reverse("staff:roster"), **EN).content.decode()
        assert "Senior (level 3)" in html and "since 2024-03-01" in html
        assert 'data-state="expiring"' in html  # expires in 19 days (lead 30)
        assert 'data-state="expired"' in html
        assert "Sam" in html and "Jun" in html and "Fred" in html and "Alice" not in html

    @pytest.mark.parametrize(("who", "status"), [("alice", 403), ("tom", 403), ("grace", 200), ("foreman", 200)])
    def test_who_may_read(self, client, shop, who, status):
        client.force_login(shop.foreman if who == "foreman" else getattr(shop.cast, who))
        assert client.get(reverse("staff:roster")).status_code == status


class PersonPageTests:
    def test_record_a_grade_a_certificate_and_training_through_the_forms(self, client, records):
        shop = records
        client.force_login(shop.cast.mia)
        url = reverse("staff:person", args=[shop.junior.pk])
        with frozen(2026, 6, 1, 10, 0):
            response = client.post(
                url, {"form": "grade", "grade-grade": "intermediate", "grade-effective_from": "2026-05-20"}, **EN
            )
            assert response.status_code == 302
            response = client.post(
                url,
                {
                    "form": "certificate",
                    "certificate-kind": "hv_electrician",
                    "certificate-number": "T310115",
                    "certificate-issuer": "上海市应急管理局",
                    "certificate-issued_on": "2026-05-01",
                    "certificate-expires_on": "2032-05-01",
                },
                **EN,
            )
            assert response.status_code == 302
            response = client.post(
                url,
                {
                    "form": "training",
                    "training-course": "高压安全",
                    "training-hours": "8",
                    "training-finished_on": "2026-05-28",
                    "training-result": "passed",
                    "training-score": "88",
                },
                **EN,
            )
            assert response.status_code == 302
            html = client.get(url, **EN).content.decode()
        assert 'data-grade="intermediate"' in html
        assert "T310115" in html and "高压安全" in html and 'id="hv"' in html
        assert "Valid HV electrician certificate" in html

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"form": "grade", "grade-grade": "senior", "grade-effective_from": "2026-06-05"}, "Effective from:"),
            ({"form": "grade", "grade-grade": "boss", "grade-effective_from": "2026-05-05"}, "Technician grade:"),
            (
                {
                    "form": "certificate",
                    "certificate-kind": "hv_electrician",
                    "certificate-number": "OLD",  # taken
                    "certificate-issuer": "x",
                    "certificate-issued_on": "2026-05-01",
                },
                "Certificate number:",
            ),
            (
                {
                    "form": "certificate",
                    "certificate-kind": "hv_electrician",
                    "certificate-number": "N1",
                    "certificate-issuer": "x",
                    "certificate-issued_on": "2026-05-01",
                    "certificate-expires_on": "2026-04-01",
                },
                "Expires on:",
            ),
            (
                {
                    "form": "training",
                    "training-course": "课",
                    "training-hours": "0",
                    "training-finished_on": "2026-05-28",
                    "training-result": "passed",
                },
                "Hours:",
            ),
        ],
    )
    def test_bad_input_is_shown_next_to_the_named_field_and_nothing_is_written(self, client, records, data, message):
        client.force_login(records.cast.mia)
        before = rows()
        with frozen(2026, 6, 1, 10, 0):
            response = client.post(reverse("staff:person", args=[records.junior.pk]), data, **EN)
        assert response.status_code == 400
        assert message in response.content.decode()
        assert rows() == before

    def test_a_foreman_reads_but_may_not_record(self, client, records):
        client.force_login(records.foreman)
        url = reverse("staff:person", args=[records.junior.pk])
        html = client.get(url).content.decode()
        assert "Record a grade" not in html
        before = rows()
        response = client.post(url, {"form": "grade", "grade-grade": "senior", "grade-effective_from": "2026-05-05"})
        assert response.status_code == 403
        assert rows() == before

    def test_another_stores_technician_is_not_found(self, client, records):
        other = make_user("hz-tech", Role.TECHNICIAN, store=records.cast.store_b)
        client.force_login(records.cast.mia)
        before = rows()
        url = reverse("staff:person", args=[other.pk])
        assert client.get(url).status_code == 404
        assert (
            client.post(
                url, {"form": "grade", "grade-grade": "senior", "grade-effective_from": "2026-05-05"}
            ).status_code
            == 404
        )
        assert client.get(reverse("staff:person", args=[records.cast.alice.pk])).status_code == 404  # no technician
        assert rows() == before


class OwnPageTests:
    def test_a_technician_reads_their_own_page_only_and_records_nothing(self, client, records):
        shop = records
        client.force_login(shop.senior)
        own = reverse("staff:person", args=[shop.senior.pk])
        response = client.get(own, **EN)
        assert response.status_code == 200
        assert "T3101" in response.content.decode() and "Record a grade" not in response.content.decode()
        assert client.get(reverse("staff:person", args=[shop.junior.pk])).status_code == 404
        before = rows()
        data = {"form": "grade", "grade-grade": "senior_technician", "grade-effective_from": "2026-05-05"}
        assert client.post(own, data).status_code == 403
        assert rows() == before
        client.force_login(shop.cast.alice)  # an advisor has no qualifications page, not even their own
        assert client.get(reverse("staff:person", args=[shop.cast.alice.pk])).status_code == 404
