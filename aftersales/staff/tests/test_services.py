"""Recording grades, certificates and training: the history and its snapshot, who may record, and bad input
(named field, nothing written)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from aftersales.config.testing import make_user
from aftersales.core.models import AuditEntry
from aftersales.organisation.choices import Role
from aftersales.organisation.models import StaffProfile
from aftersales.staff import selectors, services
from aftersales.staff.models import Certificate, GradeRecord, TrainingRecord
from aftersales.staff.tests.conftest import frozen, grade, hv_certificate

pytestmark = pytest.mark.django_db
D = dt.date


def counts():
    return (
        GradeRecord.objects.count(),
        Certificate.objects.count(),
        TrainingRecord.objects.count(),
        AuditEntry.objects.filter(action__startswith="staff.").count(),
        list(StaffProfile.objects.order_by("pk").values_list("technician_grade", flat=True)),
    )


class GradeHistoryTests:
    def test_the_grade_on_a_day_is_the_latest_record_effective_by_then_and_the_snapshot_follows(self, shop):
        mia, jun = shop.cast.mia, shop.junior
        with frozen(2026, 6, 1, 10, 0):
            grade(jun, mia, "junior", D(2024, 3, 1), evidence="Z-001")
            grade(jun, mia, "intermediate", D(2025, 9, 1))
            grade(jun, mia, "senior", D(2026, 5, 20), note="考核通过")
            assert selectors.grade_on(jun, D(2024, 2, 29)) == ""
            assert selectors.grade_on(jun, D(2024, 3, 1)) == "junior"
            assert selectors.grade_on(jun, D(2025, 8, 31)) == "junior"
            assert selectors.grade_on(jun, D(2025, 9, 1)) == "intermediate"
            assert selectors.grade_on(jun, D(2026, 5, 19)) == "intermediate"
            assert selectors.current_grade(jun) == "senior"
        assert StaffProfile.objects.get(user=jun).technician_grade == "senior"
        assert [r.grade for r in selectors.grade_history(jun)] == ["senior", "intermediate", "junior"]
        entry = AuditEntry.objects.filter(action="staff.grade_record").latest("pk")
        assert entry.actor_id == mia.pk and entry.store_id == shop.store.pk

    def test_a_back_dated_record_does_not_change_the_current_grade(self, shop):
        mia, sam = shop.cast.mia, shop.senior
        with frozen(2026, 6, 1, 10, 0):
            grade(sam, mia, "technician", D(2026, 1, 1))
            grade(sam, mia, "intermediate", D(2020, 1, 1))  # a correction of the past
        assert StaffProfile.objects.get(user=sam).technician_grade == "technician"
        assert selectors.grade_on(sam, D(2022, 1, 1)) == "intermediate"

    def test_a_person_without_history_is_read_from_the_profile(self, shop):
        assert GradeRecord.objects.filter(user=shop.senior).count() == 0
        assert selectors.grade_on(shop.senior, D(2026, 1, 1)) == "senior"

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"grade": "master"}, "grade"),
            ({"grade": ""}, "grade"),
            ({"effective_from": D(2026, 6, 2)}, "effective_from"),  # tomorrow
            ({"effective_from": D(1999, 12, 31)}, "effective_from"),
            ({"effective_from": None}, "effective_from"),
            ({"evidence": "x" * 61}, "evidence"),
            ({"note": "a\x00b"}, "note"),
        ],
    )
    def test_bad_input_names_the_field_and_writes_nothing(self, shop, fields, field):
        before = counts()
        values = {"grade": "senior", "effective_from": D(2026, 5, 1), "evidence": "", "note": ""} | fields
        with frozen(2026, 6, 1, 10, 0), pytest.raises(ValidationError) as caught:
            services.grade_record(person=shop.junior, by=shop.cast.mia, **values)
        assert list(caught.value.message_dict) == [field]
        assert counts() == before

    def test_two_records_from_the_same_day_are_refused(self, shop):
        with frozen(2026, 6, 1, 10, 0):
            grade(shop.junior, shop.cast.mia, "junior", D(2026, 1, 1))
            with pytest.raises(ValidationError) as caught:
                grade(shop.junior, shop.cast.mia, "senior", D(2026, 1, 1))
        assert list(caught.value.message_dict) == ["effective_from"]

    @pytest.mark.parametrize("who", ["alice", "tom", "foreman", "grace", "carol"])
    def test_only_a_manager_of_the_persons_store_may_record(self, shop, who):
        by = shop.foreman if who == "foreman" else getattr(shop.cast, who)
        before = counts()
        with pytest.raises(PermissionDenied):
            grade(shop.junior, by, "senior", D(2026, 1, 1))
        assert counts() == before

    def test_a_manager_of_another_store_may_not_record_for_this_stores_technician(self, shop):
        other = make_user("mike", Role.MANAGER, store=shop.cast.store_b)
        with pytest.raises(PermissionDenied):
            grade(shop.junior, other, "senior", D(2026, 1, 1))
        with pytest.raises(PermissionDenied):  # an advisor is no technician: no staff record to keep
            grade(shop.cast.alice, shop.cast.mia, "senior", D(2026, 1, 1))


class CertificateTests:
    def test_valid_on_a_day_from_issue_to_expiry_inclusive(self, shop):
        with frozen(2026, 6, 1, 10, 0):
            hv_certificate(shop.senior, shop.cast.mia, issued=D(2023, 7, 1), expires=D(2026, 6, 30))
        assert not selectors.has_valid_hv_certificate(shop.senior, D(2023, 6, 30))
        assert selectors.has_valid_hv_certificate(shop.senior, D(2023, 7, 1))
        assert selectors.has_valid_hv_certificate(shop.senior, D(2026, 6, 30))
        assert not selectors.has_valid_hv_certificate(shop.senior, D(2026, 7, 1))
        assert not selectors.has_valid_hv_certificate(shop.junior, D(2026, 6, 1))

    def test_an_oem_tier_is_not_the_hv_electrician_certificate(self, shop):
        with frozen(2026, 6, 1, 10, 0):
            services.certificate_record(
                person=shop.senior,
                by=shop.cast.mia,
                kind="oem_hv_2",
                number="VW-HV2-88",
                issuer="上汽大众",
                issued_on=D(2025, 1, 1),
                expires_on=None,
            )
        assert not selectors.has_valid_hv_certificate(shop.senior, D(2026, 6, 1))
        assert selectors.valid_certificates(shop.senior, D(2040, 1, 1)).count() == 1  # no expiry

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"kind": "driving"}, "kind"),
            ({"number": ""}, "number"),
            ({"number": "  "}, "number"),
            ({"issuer": ""}, "issuer"),
            ({"issued_on": D(2026, 6, 2)}, "issued_on"),
            ({"expires_on": D(2020, 1, 1)}, "expires_on"),  # before issue
            ({"expires_on": D(9999, 1, 1)}, "expires_on"),
            ({"kind": "other", "name": ""}, "name"),
            ({"number": "T\x1b1"}, "number"),
        ],
    )
    def test_bad_input_names_the_field_and_writes_nothing(self, shop, fields, field):
        before = counts()
        values = {
            "kind": "hv_electrician",
            "number": "T1",
            "issuer": "应急管理局",
            "issued_on": D(2023, 1, 1),
            "expires_on": D(2029, 1, 1),
            "name": "",
        } | fields
        with frozen(2026, 6, 1, 10, 0), pytest.raises(ValidationError) as caught:
            services.certificate_record(person=shop.senior, by=shop.cast.mia, **values)
        assert list(caught.value.message_dict) == [field]
        assert counts() == before

    def test_the_same_number_of_the_same_kind_is_refused(self, shop):
        with frozen(2026, 6, 1, 10, 0):
            hv_certificate(shop.senior, shop.cast.mia, issued=D(2023, 1, 1), expires=D(2029, 1, 1), number="A1")
            with pytest.raises(ValidationError) as caught:
                hv_certificate(shop.junior, shop.cast.mia, issued=D(2023, 1, 1), expires=D(2029, 1, 1), number="A1")
        assert list(caught.value.message_dict) == ["number"]


class TrainingTests:
    def test_a_course_is_recorded_with_its_hours_and_result(self, shop):
        with frozen(2026, 6, 1, 10, 0):
            record = services.training_record(
                person=shop.junior,
                by=shop.cast.mia,
                course="新能源高压安全",
                hours="16.5",
                finished_on=D(2026, 5, 30),
                result="passed",
                score=92,
            )
        assert (record.hours, record.result, record.score) == (pytest.approx(16.5), "passed", 92)

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"course": ""}, "course"),
            ({"hours": "0"}, "hours"),
            ({"hours": "1000"}, "hours"),
            ({"hours": "1.25"}, "hours"),
            ({"hours": "NaN"}, "hours"),
            ({"hours": "abc"}, "hours"),
            ({"finished_on": D(2026, 6, 2)}, "finished_on"),
            ({"result": "great"}, "result"),
            ({"score": 101}, "score"),
            ({"score": -1}, "score"),
        ],
    )
    def test_bad_input_names_the_field_and_writes_nothing(self, shop, fields, field):
        before = counts()
        values = {"course": "课程", "hours": "8", "finished_on": D(2026, 5, 1), "result": "passed"} | fields
        with frozen(2026, 6, 1, 10, 0), pytest.raises(ValidationError) as caught:
            services.training_record(person=shop.junior, by=shop.cast.mia, **values)
        assert list(caught.value.message_dict) == [field]
        assert counts() == before
