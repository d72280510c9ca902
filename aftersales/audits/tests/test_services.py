"""Audits through their services (issue 16): the score with weights and n.a. items (hand-computed), findings from
failed items (owner, due date, inbox), what a submission refuses, checklists that never change under an answered
audit, CAPA from findings, closing findings and the overdue sweep under a controlled clock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from aftersales.audits import services
from aftersales.audits.choices import AuditKind, AuditStatus, FindingStatus
from aftersales.audits.models import Audit, AuditAnswer, AuditChecklist, AuditPhoto, Finding
from aftersales.audits.tasks import findings_overdue
from aftersales.core.models import AuditEntry
from aftersales.feedback.models import Capa
from aftersales.notifications.models import InboxItem
from aftersales.organisation.services import settings_update

from .conftest import answer_all, frozen, small_checklist

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def inbox(user):
    return list(InboxItem.objects.filter(recipient=user).order_by("pk").values_list("kind", flat=True))


def planned(scene, checklist, *, auditor=None, kind=AuditKind.INTERNAL, store=None):
    return services.audit_plan(
        by=scene.quinn, store=store or scene.store, kind=kind, checklist=checklist, auditor=auditor
    )


def running(scene, checklist, *, auditor=None, kind=AuditKind.INTERNAL):
    audit = planned(scene, checklist, auditor=auditor, kind=kind)
    return services.audit_start(audit=audit, by=auditor or scene.quinn)


class ScoreTests:
    def test_weights_3_2_1_4_pass_fail_na_pass_is_77_78(self):
        # (3 + 4) / (3 + 2 + 4) × 100 = 700 / 9 = 77.777… → 77.78
        answers = [(3, "pass"), (2, "fail"), (1, "na"), (4, "pass")]
        assert services.audit_score(answers) == Decimal("77.78")

    def test_all_passed_is_100_all_failed_is_0_and_half_up_rounding(self):
        assert services.audit_score([(1, "pass"), (2, "na")]) == Decimal("100.00")
        assert services.audit_score([(1, "fail"), (2, "na")]) == Decimal("0.00")
        # 1 / 8 × 100 = 12.5 exactly; 2 / 3 × 100 = 66.666… → 66.67
        assert services.audit_score([(1, "pass"), (7, "fail")]) == Decimal("12.50")
        assert services.audit_score([(Decimal("0.5"), "pass"), (Decimal("0.25"), "fail")]) == Decimal("66.67")

    def test_nothing_applicable_has_no_score(self):
        assert services.audit_score([(3, "na"), (1, "na")]) is None
        assert services.audit_score([]) is None


class SubmitTests:
    def test_the_submitted_audit_is_scored_and_each_failed_item_is_a_finding_in_the_owners_inbox(self, scene):
        mia = scene.cast.mia
        with frozen(2026, 3, 2, 10, 0):
            audit = running(scene, small_checklist(scene))
            answer_all(audit, scene.quinn, ["pass", "fail", "na", "pass"])
            audit = services.audit_submit(audit=audit, by=scene.quinn, summary="整体良好")
        assert audit.status == AuditStatus.SUBMITTED and audit.score == Decimal("77.78")
        finding = Finding.objects.get(audit=audit)
        assert finding.text == "第2项" and finding.answer.result == "fail"
        assert finding.owner == mia and finding.store == scene.store
        assert finding.due_date == dt.date(2026, 3, 16)  # submitted + audit_finding_days (14)
        assert inbox(mia) == ["audit_finding_opened", "audit_submitted"]
        text = InboxItem.objects.get(recipient=mia, kind="audit_submitted").text_en
        assert "77.78" in text and "1 finding" in text
        assert inbox(scene.cast.alice) == []  # an advisor is not told
        assert AuditEntry.objects.filter(action="audit.submit", object_id=str(audit.pk)).exists()

    def test_the_due_date_follows_the_setting(self, scene):
        settings_update(
            group=scene.cast.group, store=scene.store, changes={"audit_finding_days": 7}, by=scene.cast.grace
        )
        with frozen(2026, 3, 2, 10, 0):
            audit = running(scene, small_checklist(scene))
            answer_all(audit, scene.quinn, ["fail", "pass", "pass", "pass"])
            services.audit_submit(audit=audit, by=scene.quinn)
        assert Finding.objects.get(audit=audit).due_date == dt.date(2026, 3, 9)

    def test_a_named_owner_gets_the_finding(self, scene):
        with frozen(2026, 3, 2, 10, 0):
            audit = running(scene, small_checklist(scene))
            answer_all(audit, scene.quinn, ["fail", "pass", "pass", "pass"])
            services.audit_submit(audit=audit, by=scene.quinn, finding_owner=scene.cast.alice)
        assert Finding.objects.get(audit=audit).owner == scene.cast.alice
        assert inbox(scene.cast.alice) == ["audit_finding_opened"]
        assert inbox(scene.cast.mia) == ["audit_submitted"]

    @pytest.mark.parametrize(
        ("results", "notes", "field", "message"),
        [
            (["pass", "pass", "pass"], {}, "answers", "Answer every item: 1 left (4)."),
            (["pass", "fail", "na", "pass"], {1: ""}, "answers", "Say what was wrong: a failed item needs a note."),
            (["na", "na", "na", "pass"], {}, None, None),  # scored: 100
        ],
    )
    def test_incomplete_answers_are_refused_and_nothing_is_written(self, scene, results, notes, field, message):
        with frozen(2026, 3, 2, 10, 0):
            audit = running(scene, small_checklist(scene))
            items = list(audit.checklist.items.order_by("position"))
            for index, result in enumerate(results):
                note = notes.get(index, "门口无人迎接" if result == "fail" else "")
                services.audit_answer(audit=audit, by=scene.quinn, item=items[index], result=result, note=note)
            if field is None:
                assert services.audit_submit(audit=audit, by=scene.quinn).score == Decimal("100.00")
                return
            with pytest.raises(ValidationError) as caught:
                services.audit_submit(audit=audit, by=scene.quinn)
        assert caught.value.message_dict == {field: [message]}
        audit.refresh_from_db()
        assert audit.status == AuditStatus.IN_PROGRESS and audit.score is None
        assert not Finding.objects.exists() and inbox(scene.cast.mia) == []

    def test_not_applicable_only_where_the_item_allows_it(self, scene):
        with frozen(2026, 3, 2, 10, 0):
            audit = running(scene, small_checklist(scene))
            last = audit.checklist.items.order_by("position").last()
            with pytest.raises(ValidationError) as caught:
                services.audit_answer(audit=audit, by=scene.quinn, item=last, result="na")
        assert caught.value.message_dict == {"result": ["This item cannot be marked not applicable."]}
        assert not AuditAnswer.objects.exists()

    def test_nothing_applicable_is_refused(self, scene):
        with frozen(2026, 3, 2, 10, 0):
            checklist = services.checklist_save(
                by=scene.quinn,
                group=scene.cast.group,
                kind=AuditKind.INTERNAL,
                title="全可不适用",
                items=[{"text": "甲", "weight": 1}, {"text": "乙", "weight": 2}],
            )
            audit = running(scene, checklist)
            answer_all(audit, scene.quinn, ["na", "na"])
            with pytest.raises(ValidationError) as caught:
                services.audit_submit(audit=audit, by=scene.quinn)
        assert caught.value.message_dict == {
            "answers": ["Every item is marked not applicable: there is nothing to score."]
        }

    def test_a_mystery_shopper_says_the_channel_and_a_video_check_the_recording(self, scene):
        checklist = scene.checklists[AuditKind.MYSTERY_SHOPPER]
        with frozen(2026, 3, 2, 10, 0):
            audit = running(scene, checklist, auditor=scene.sam, kind=AuditKind.MYSTERY_SHOPPER)
            answer_all(audit, scene.sam, ["pass"] * checklist.items.count())
            with pytest.raises(ValidationError) as caught:
                services.audit_submit(audit=audit, by=scene.sam, video_reference="摄像头3")
            assert set(caught.value.message_dict) == {"channel", "video_reference"}
            with pytest.raises(ValidationError) as caught:
                services.audit_submit(
                    audit=audit, by=scene.sam, channel="visit", performed_at=dt.datetime(2026, 3, 3, 9, 0)
                )
            assert caught.value.message_dict == {"performed_at": ["The visit or call cannot be in the future."]}
            audit = services.audit_submit(audit=audit, by=scene.sam, channel="phone")
        assert audit.channel == "phone" and audit.score == Decimal("100.00")

    def test_photos_are_images_within_the_size_limit(self, scene):
        with frozen(2026, 3, 2, 10, 0):
            audit = running(scene, small_checklist(scene))
            item = audit.checklist.items.order_by("position").first()
            text = SimpleUploadedFile("x.png", b"not an image at all", content_type="image/png")
            with pytest.raises(ValidationError) as caught:
                services.audit_answer(audit=audit, by=scene.quinn, item=item, result="fail", note="脏", photos=[text])
            assert list(caught.value.message_dict) == ["photos"]
            assert not AuditAnswer.objects.exists()
            photo = SimpleUploadedFile("dirty.png", PNG, content_type="image/png")
            answer = services.audit_answer(
                audit=audit, by=scene.quinn, item=item, result="fail", note="休息区不洁", photos=[photo]
            )
        assert AuditPhoto.objects.get(answer=answer).file.name.endswith(".png")
        assert "dirty" not in AuditPhoto.objects.get(answer=answer).file.name


class ChecklistTests:
    def test_the_defaults_are_installed_once_per_kind(self, scene):
        again = services.checklists_install_defaults(group=scene.cast.group)
        assert sorted(c.pk for c in again) == sorted(c.pk for c in scene.checklists.values())
        assert AuditChecklist.objects.filter(group=scene.cast.group).count() == 4

    def test_the_mystery_shopper_items_are_the_customer_facing_sop_items(self, scene):
        items = list(scene.checklists[AuditKind.MYSTERY_SHOPPER].items.all())
        keys = {(item.step, item.sop_item_key) for item in items}
        assert ("reception", "walk_around") in keys and ("delivery", "explain_work") in keys
        assert ("booking", "greet_name") in keys and ("follow_up", "introduce") in keys
        assert ("repair", "record_batches") not in keys and ("booking", "prepare_parts") not in keys  # not seen
        assert all(item.allows_na and item.text and item.text_en for item in items)
        walk_around = next(item for item in items if item.sop_item_key == "walk_around")
        assert walk_around.weight == 3

    def test_the_record_and_video_checks_check_what_the_issue_names(self, scene):
        record = {i.sop_item_key for i in scene.checklists[AuditKind.RECORD_CHECK].items.all()}
        assert {"damage_photos", "approval_before_work", "record_batches", "explain_work"} <= record
        video = {i.sop_item_key for i in scene.checklists[AuditKind.VIDEO_CHECK].items.all()}
        assert {"greet", "walk_around", "explain_work"} <= video

    def test_an_unanswered_checklist_changes_in_place_an_answered_one_is_replaced(self, scene):
        checklist = small_checklist(scene)
        changed = small_checklist(scene, weights=(1, 1))
        assert changed.pk == checklist.pk and changed.items.count() == 2
        with frozen(2026, 3, 2, 10, 0):
            audit = running(scene, changed)
            services.audit_answer(audit=audit, by=scene.quinn, item=changed.items.first(), result="pass")
        replaced = small_checklist(scene, weights=(2, 2, 2))
        assert replaced.pk != checklist.pk and replaced.previous_id == checklist.pk
        checklist.refresh_from_db()
        assert not checklist.is_active and checklist.items.count() == 2  # the answered items stay
        assert replaced.items.count() == 3 and replaced.title == checklist.title

    def test_bad_items_are_refused_naming_the_field_and_nothing_is_written(self, scene):
        before = AuditChecklist.objects.count()
        with pytest.raises(ValidationError) as caught:
            services.checklist_save(
                by=scene.quinn,
                group=scene.cast.group,
                kind="spot",
                title="",
                items=[{"text": "甲", "weight": 0}, {"text": "", "weight": "x", "step": "wash"}],
            )
        assert set(caught.value.message_dict) == {
            "kind",
            "title",
            "items.0.weight",
            "items.1.text",
            "items.1.weight",
            "items.1.step",
        }
        assert AuditChecklist.objects.count() == before

    def test_only_the_quality_department_keeps_checklists(self, scene):
        for person in (scene.cast.mia, scene.cast.grace, scene.sam):
            with pytest.raises(PermissionDenied):
                small_checklist(scene.__class__(**{**scene.__dict__, "quinn": person}))


class FindingTests:
    @pytest.fixture
    def findings(self, scene):
        with frozen(2026, 3, 2, 10, 0):
            audit = running(scene, small_checklist(scene))
            answer_all(audit, scene.quinn, ["fail", "fail", "pass", "pass"])
            services.audit_submit(audit=audit, by=scene.quinn)
        return list(Finding.objects.filter(audit=audit).order_by("pk"))

    def test_the_owner_closes_a_finding_with_what_was_done(self, scene, findings):
        with pytest.raises(PermissionDenied):
            services.finding_close(finding=findings[0], by=scene.cast.alice, resolution="已整改")
        with pytest.raises(ValidationError) as caught:
            services.finding_close(finding=findings[0], by=scene.cast.mia, resolution=" ")
        assert list(caught.value.message_dict) == ["resolution"]
        with frozen(2026, 3, 5, 10, 0):
            closed = services.finding_close(finding=findings[0], by=scene.cast.mia, resolution="已重新培训")
        assert closed.status == FindingStatus.CLOSED and closed.closed_by == scene.cast.mia

    def test_several_findings_open_one_capa(self, scene, findings):
        with pytest.raises(PermissionDenied):
            services.findings_open_capa(by=scene.sam, findings=findings, title="迎接不到位")
        with frozen(2026, 3, 3, 10, 0):
            capa = services.findings_open_capa(by=scene.cast.mia, findings=findings, title="迎接不到位")
        assert capa.store == scene.store and capa.findings_ref == " ".join(f"F-{f.pk}" for f in findings)
        assert set(Finding.objects.filter(capa=capa).values_list("pk", flat=True)) == {f.pk for f in findings}
        with pytest.raises(ValidationError) as caught:  # already has its CAPA
            services.findings_open_capa(by=scene.cast.mia, findings=findings[:1], title="再来一次")
        assert list(caught.value.message_dict) == ["findings"]
        assert Capa.objects.count() == 1

    def test_findings_of_two_stores_open_no_capa(self, scene, findings):
        with frozen(2026, 3, 2, 11, 0):
            other = planned(scene, small_checklist(scene), store=scene.cast.store_b)
            other = services.audit_start(audit=other, by=scene.quinn)
            answer_all(other, scene.quinn, ["fail", "pass", "pass", "pass"])
            services.audit_submit(audit=other, by=scene.quinn)
        mixed = [findings[0], Finding.objects.get(audit=other)]
        with pytest.raises(ValidationError) as caught:
            services.findings_open_capa(by=scene.cast.grace, findings=mixed, title="两店")
        assert list(caught.value.message_dict) == ["findings"]
        assert not Capa.objects.exists()

    def test_the_overdue_sweep_tells_the_owner_and_the_manager_once(self, scene, findings):
        services.findings_open_capa(by=scene.cast.mia, findings=findings[1:], title="培训")
        services.finding_close(finding=findings[1], by=scene.cast.mia, resolution="已处理")
        with frozen(2026, 3, 16, 8, 50):  # the due day itself: not yet overdue
            assert services.finding_overdue_sweep() == 0
        with frozen(2026, 3, 17, 8, 50):
            assert findings_overdue.call_local() == 1
            assert services.finding_overdue_sweep() == 0
        assert inbox(scene.cast.mia).count("audit_finding_overdue") == 1
        findings[0].refresh_from_db()
        assert findings[0].overdue_alerted_at is not None
        item = InboxItem.objects.get(recipient=scene.cast.mia, kind="audit_finding_overdue")
        assert "2026-03-16" in item.text_en and "第1项" in item.text_en
        with frozen(2026, 3, 30, 8, 50):
            assert services.finding_overdue_sweep() == 0


class AuditRecordTests:
    def test_one_shot_record_scores_and_raises_findings(self, scene):
        checklist = small_checklist(scene)
        items = list(checklist.items.order_by("position"))
        answers = [
            {"item": items[0].pk, "result": "pass"},
            {"item": items[1].pk, "result": "fail", "note": "报价未说明工时"},
            {"item": items[2].pk, "result": "na"},
            {"item": items[3].pk, "result": "pass"},
        ]
        with frozen(2026, 3, 2, 10, 0):
            audit = services.audit_record(
                by=scene.quinn, store=scene.store, kind="internal", checklist=checklist, answers=answers
            )
        assert audit.status == AuditStatus.SUBMITTED and audit.score == Decimal("77.78")
        assert audit.auditor == scene.quinn
        assert [f.answer.item_id for f in Finding.objects.filter(audit=audit)] == [items[1].pk]

    def test_bad_answers_are_named_by_their_index_and_nothing_is_written(self, scene):
        checklist = small_checklist(scene)
        items = list(checklist.items.order_by("position"))
        other = scene.checklists[AuditKind.VIDEO_CHECK].items.first()
        answers = [
            {"item": items[0].pk, "result": "maybe"},
            {"item": other.pk, "result": "pass"},
            {"item": items[2].pk, "result": "fail"},
            {"item": items[3].pk, "result": "na"},
        ]
        with pytest.raises(ValidationError) as caught:
            services.audit_record(
                by=scene.quinn, store=scene.store, kind="internal", checklist=checklist, answers=answers
            )
        assert set(caught.value.message_dict) == {
            "answers.0.result",
            "answers.1.item",
            "answers.2.note",
            "answers.3.result",
        }
        assert not Audit.objects.exists() and not AuditAnswer.objects.exists()
