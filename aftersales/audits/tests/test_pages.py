"""The audit pages: who sees which page and button (the audited store never sees an audit in progress — 404; an
external auditor only their own; the quality department all), the auditor's checklist through the pages from the
first answer to the submitted score and its findings, bad input named next to the field with nothing written, and
bounded query counts on the list and the checklist."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from aftersales.audits import services
from aftersales.audits.choices import AuditKind, AuditStatus, FindingStatus
from aftersales.audits.models import Audit, AuditAnswer, AuditChecklist, AuditPhoto, Finding
from aftersales.config.testing import make_user
from aftersales.core import clock
from aftersales.feedback.models import Capa
from aftersales.organisation.choices import Role

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
HX = {"HTTP_HX_REQUEST": "true"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# Weights 2, 1, 1 (n.a. allowed), 3: A pass, B fail, C n.a., D pass → (2 + 3) / (2 + 1 + 3) × 100 = 83.33.
ITEMS = [
    {"text": "电话三声内接听", "text_en": "Answers within three rings", "weight": Decimal(2), "allows_na": False},
    {
        "text": "主动问候并自我介绍",
        "text_en": "Greets and introduces themselves",
        "weight": Decimal(1),
        "allows_na": False,
    },
    {"text": "提供休息区饮品", "text_en": "Offers a drink in the lounge", "weight": Decimal(1), "allows_na": True},
    {"text": "解释报价明细", "text_en": "Explains the estimate line by line", "weight": Decimal(3), "allows_na": False},
]


def divmod_quarter() -> tuple[int, int]:
    today = clock.today()
    return today.year, (today.month - 1) // 3 + 1


class World:
    def __init__(self, cast: Any) -> None:
        self.cast = cast
        self.quality = make_user("quinn", Role.QUALITY, group=cast.group)
        self.sally = make_user("sally", Role.AUDITOR, group=cast.group)
        self.sam = make_user("sam", Role.AUDITOR, group=cast.group)
        self.checklist = services.checklist_save(
            by=self.quality,
            group=cast.group,
            kind=AuditKind.MYSTERY_SHOPPER,
            title="神秘顾客到店",
            items=[dict(item) for item in ITEMS],
        )
        self.items = list(self.checklist.items.order_by("position"))
        self.audit = self.plan(cast.store_a, self.sally)

    def plan(self, store: Any, auditor: Any) -> Audit:
        return services.audit_plan(
            by=self.quality,
            store=store,
            kind=AuditKind.MYSTERY_SHOPPER,
            checklist=self.checklist,
            auditor=auditor,
            due_date=clock.today() + dt.timedelta(days=10),
        )

    def fill(self, audit: Audit, by: Any, results: tuple[str, ...] = ("pass", "fail", "na", "pass")) -> Audit:
        services.audit_start(audit=audit, by=by)
        for item, result in zip(self.items, results, strict=True):
            services.audit_answer(
                audit=audit, by=by, item=item, result=result, note="没有问候" if result == "fail" else ""
            )
        return services.audit_submit(audit=audit, by=by, channel="visit")


@pytest.fixture
def world(cast):
    return World(cast)


def _answer(client, audit, item, result, note="", **extra):
    return client.post(
        reverse("audits:answer", args=[audit.pk, item.pk]),
        {f"item-{item.pk}-result": result, f"item-{item.pk}-note": note, **extra},
        **EN,
        **HX,
    )


class WhoSeesWhatTests:
    def test_the_store_manager_cannot_open_an_audit_before_it_is_submitted(self, client, world):
        client.force_login(world.cast.mia)
        for name in ("audits:audit-detail", "audits:fill"):
            assert client.get(reverse(name, args=[world.audit.pk])).status_code == 404
        services.audit_start(audit=world.audit, by=world.sally)
        assert client.get(reverse("audits:audit-detail", args=[world.audit.pk])).status_code == 404
        assert client.post(reverse("audits:submit", args=[world.audit.pk]), {"channel": "visit"}).status_code == 404
        html = client.get(reverse("audits:list"), **EN).content.decode()
        assert f'id="audit-{world.audit.pk}"' not in html
        assert "No submitted audits of your store yet." in html

    def test_after_submission_the_store_sees_score_and_findings_but_no_buttons(self, client, world):
        world.fill(world.audit, world.sally)
        client.force_login(world.cast.mia)
        html = client.get(reverse("audits:list"), **EN).content.decode()
        assert f'id="audit-{world.audit.pk}"' in html and 'data-score="83.33"' in html and 'data-findings="1"' in html
        detail = client.get(reverse("audits:audit-detail", args=[world.audit.pk]), **EN).content.decode()
        assert 'id="audit-score" data-score="83.33"' in detail
        assert "Greets and introduces themselves" in detail and "没有问候" in detail
        assert 'id="start-audit"' not in detail and 'id="submit-audit"' not in detail
        # the fill page of a submitted audit is its page
        assert client.get(reverse("audits:fill", args=[world.audit.pk])).status_code == 302

    def test_a_shopper_sees_only_their_own_audits(self, client, world):
        other = world.plan(world.cast.store_b, world.sam)
        client.force_login(world.sally)
        html = client.get(reverse("audits:list"), **EN).content.decode()
        assert f'id="mine-{world.audit.pk}"' in html and f'id="mine-{other.pk}"' not in html
        assert client.get(reverse("audits:fill", args=[other.pk])).status_code == 404
        assert client.get(reverse("audits:fill", args=[world.audit.pk])).status_code == 200
        for name in ("audits:findings", "audits:plan-current", "audits:checklists"):
            assert client.get(reverse(name)).status_code == 403, name

    def test_the_quality_department_sees_every_audit_with_status_tabs(self, client, world):
        other = world.plan(world.cast.store_b, world.sam)
        client.force_login(world.quality)
        html = client.get(reverse("audits:list"), **EN).content.decode()
        assert f'id="audit-{world.audit.pk}"' in html and f'id="audit-{other.pk}"' in html
        assert 'data-status="planned">Planned <span class="badge text-bg-light">2</span>' in html
        only_b = client.get(reverse("audits:list"), {"store": "HZ01"}, **EN).content.decode()
        assert f'id="audit-{world.audit.pk}"' not in only_b and f'id="audit-{other.pk}"' in only_b
        submitted = client.get(reverse("audits:list"), {"status": "submitted"}, **EN).content.decode()
        assert f'id="audit-{other.pk}"' not in submitted
        # the quality department may open the checklist of any audit, and is offered the cancel form
        fill = client.get(reverse("audits:fill", args=[world.audit.pk]), **EN).content.decode()
        assert 'id="start-audit"' in fill and 'id="cancel"' in fill

    def test_an_advisor_has_no_audit_pages(self, client, world):
        client.force_login(world.cast.alice)
        for name in ("audits:list", "audits:findings", "audits:checklists", "audits:plan-current"):
            assert client.get(reverse(name)).status_code == 403, name

    def test_the_shopper_is_not_offered_cancel(self, client, world):
        client.force_login(world.sally)
        html = client.get(reverse("audits:fill", args=[world.audit.pk]), **EN).content.decode()
        assert 'id="start-audit"' in html and 'id="cancel"' not in html
        response = client.post(reverse("audits:cancel", args=[world.audit.pk]), {"reason": "不想去"})
        assert response.status_code == 403
        world.audit.refresh_from_db()
        assert world.audit.status == AuditStatus.PLANNED


class FillFlowTests:
    def test_answers_then_submit_then_score_and_findings(self, client, world, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        client.force_login(world.sally)
        audit = world.audit
        assert client.post(reverse("audits:start", args=[audit.pk])).status_code == 302
        page = client.get(reverse("audits:fill", args=[audit.pk]), **EN).content.decode()
        assert "0 / 4 answered" in page and 'capture="environment"' in page and 'accept="image/*"' in page
        # n.a. is offered only where the item allows it
        assert page.count('data-verdict="na"') == 1
        a, b, c, d = world.items
        response = _answer(client, audit, a, "pass")
        html = response.content.decode()
        assert response.status_code == 200 and 'data-result="pass"' in html
        assert 'hx-swap-oob="true"' in html and "1 / 4 answered" in html and 'data-score="100.00"' in html
        photo = SimpleUploadedFile("waiting.png", PNG, content_type="image/png")
        assert _answer(client, audit, b, "fail", "没有问候", **{f"item-{b.pk}-photos": photo}).status_code == 200
        assert _answer(client, audit, c, "na").status_code == 200
        html = _answer(client, audit, d, "pass").content.decode()
        assert "4 / 4 answered" in html and 'data-score="83.33"' in html
        assert AuditPhoto.objects.filter(answer__audit=audit).count() == 1
        response = client.post(
            reverse("audits:submit", args=[audit.pk]),
            {"channel": "phone", "performed_at": (clock.now() - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")},
            **EN,
        )
        assert response.status_code == 302 and response["Location"] == reverse("audits:audit-detail", args=[audit.pk])
        audit.refresh_from_db()
        assert audit.status == AuditStatus.SUBMITTED and audit.score == Decimal("83.33") and audit.channel == "phone"
        # the store's manager reads it now, with the finding and the photo
        client.force_login(world.cast.mia)
        detail = client.get(reverse("audits:audit-detail", args=[audit.pk]), **EN).content.decode()
        finding = Finding.objects.get(audit=audit)
        assert f'id="finding-{finding.pk}"' in detail and "Greets and introduces themselves" in detail
        photo_pk = AuditPhoto.objects.get(answer__audit=audit).pk
        assert f'src="{reverse("audits:photo", args=[photo_pk])}"' in detail
        assert client.get(reverse("audits:photo", args=[photo_pk])).status_code == 200
        findings = client.get(reverse("audits:findings"), **EN).content.decode()
        assert f'id="finding-{finding.pk}"' in findings

    def test_a_photo_of_an_audit_in_progress_is_hidden_from_the_store(self, client, world, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        services.audit_start(audit=world.audit, by=world.sally)
        photo = SimpleUploadedFile("a.png", PNG, content_type="image/png")
        answer = services.audit_answer(
            audit=world.audit, by=world.sally, item=world.items[0], result="pass", photos=[photo]
        )
        pk = answer.photos.get().pk
        client.force_login(world.cast.mia)
        assert client.get(reverse("audits:photo", args=[pk])).status_code == 404
        client.force_login(world.quality)
        assert client.get(reverse("audits:photo", args=[pk])).status_code == 200

    def test_without_javascript_an_answer_posts_and_comes_back_to_the_item(self, client, world):
        services.audit_start(audit=world.audit, by=world.sally)
        client.force_login(world.sally)
        item = world.items[0]
        response = client.post(
            reverse("audits:answer", args=[world.audit.pk, item.pk]), {f"item-{item.pk}-result": "pass"}, **EN
        )
        assert response.status_code == 302 and response["Location"].endswith(f"#item-{item.pk}")

    def test_close_a_finding_and_open_a_capa_from_two_alike(self, client, world):
        world.fill(world.audit, world.sally)
        second = world.fill(world.plan(world.cast.store_a, world.sam), world.sam)
        first, other = Finding.objects.filter(audit__in=[world.audit, second]).order_by("pk")
        client.force_login(world.cast.mia)  # the store manager runs CAPAs in the store
        html = client.get(reverse("audits:findings"), **EN).content.decode()
        assert 'id="capa-open"' in html and f'value="{first.pk}"' in html
        response = client.post(
            reverse("audits:findings-capa"), {"findings": [first.pk, other.pk], "title": "接待问候不到位"}, **EN
        )
        capa = Capa.objects.get(title="接待问候不到位")
        assert response.status_code == 302 and response["Location"] == reverse("feedback:capa-detail", args=[capa.pk])
        assert set(Finding.objects.filter(capa=capa).values_list("pk", flat=True)) == {first.pk, other.pk}
        response = client.post(
            reverse("audits:finding-close", args=[first.pk]),
            {f"close-{first.pk}-resolution": "已培训前台问候话术", "next": reverse("audits:findings")},
            **EN,
        )
        assert response.status_code == 302
        first.refresh_from_db()
        assert first.status == FindingStatus.CLOSED and first.resolution == "已培训前台问候话术"

    def test_an_overdue_finding_is_highlighted(self, client, world):
        world.fill(world.audit, world.sally)
        finding = Finding.objects.get(audit=world.audit)
        Finding.objects.filter(pk=finding.pk).update(due_date=clock.today() - dt.timedelta(days=1))
        client.force_login(world.cast.mia)
        html = client.get(reverse("audits:findings"), {"status": "overdue"}, **EN).content.decode()
        assert f'id="finding-{finding.pk}" data-status="open" data-overdue="1"' in html
        closed = client.get(reverse("audits:findings"), {"status": "closed"}, **EN).content.decode()
        assert f'id="finding-{finding.pk}"' not in closed


class BadInputTests:
    @pytest.fixture
    def running(self, client, world):
        services.audit_start(audit=world.audit, by=world.sally)
        client.force_login(world.sally)
        return world

    def test_a_result_out_of_the_list_is_named_and_writes_nothing(self, client, running):
        item = running.items[0]
        html = _answer(client, running.audit, item, "maybe").content.decode()
        assert "Result:" in html and 'data-error="1"' in html
        assert not AuditAnswer.objects.exists()

    def test_not_applicable_where_the_item_forbids_it(self, client, running):
        html = _answer(client, running.audit, running.items[0], "na").content.decode()
        assert "This item cannot be marked not applicable." in html
        assert not AuditAnswer.objects.exists()

    def test_a_file_that_is_not_a_photo(self, client, running, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        item = running.items[0]
        bad = SimpleUploadedFile("x.png", b"MZ not an image", content_type="image/png")
        html = _answer(client, running.audit, item, "pass", **{f"item-{item.pk}-photos": bad}).content.decode()
        assert "Photos:" in html and "Only photos" in html
        assert not AuditAnswer.objects.exists()

    def test_submit_before_every_item_is_answered_says_what_is_left(self, client, running):
        _answer(client, running.audit, running.items[0], "pass")
        response = client.post(reverse("audits:submit", args=[running.audit.pk]), {"channel": "visit"}, **EN)
        assert response.status_code == 400
        assert "Answer every item: 3 left" in response.content.decode()
        running.audit.refresh_from_db()
        assert running.audit.status == AuditStatus.IN_PROGRESS

    def test_a_mystery_shopper_must_say_the_channel_and_no_future_visit(self, client, running):
        for item, result in zip(running.items, ("pass", "pass", "pass", "pass"), strict=True):
            _answer(client, running.audit, item, result)
        response = client.post(reverse("audits:submit", args=[running.audit.pk]), {"channel": ""}, **EN)
        assert response.status_code == 400 and "Channel: A mystery shopper says how they met the store" in (
            response.content.decode()
        )
        future = (clock.now() + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
        response = client.post(
            reverse("audits:submit", args=[running.audit.pk]), {"channel": "visit", "performed_at": future}, **EN
        )
        assert response.status_code == 400 and "Visited or called at:" in response.content.decode()
        assert Audit.objects.get(pk=running.audit.pk).status == AuditStatus.IN_PROGRESS

    def test_a_failed_item_without_a_note_is_refused_at_submission(self, client, running):
        for item, result in zip(running.items, ("fail", "pass", "pass", "pass"), strict=True):
            _answer(client, running.audit, item, result)
        page = client.get(reverse("audits:fill", args=[running.audit.pk]), **EN).content.decode()
        assert "data-needs-note" in page
        response = client.post(reverse("audits:submit", args=[running.audit.pk]), {"channel": "visit"}, **EN)
        assert response.status_code == 400 and "a failed item needs a note" in response.content.decode()
        assert not Finding.objects.exists()

    def test_closing_a_finding_needs_what_was_done(self, client, world):
        world.fill(world.audit, world.sally)
        finding = Finding.objects.get()
        client.force_login(world.cast.mia)
        response = client.post(reverse("audits:finding-close", args=[finding.pk]), {}, **EN)
        assert response.status_code == 400 and "What was done:" in response.content.decode()
        assert Finding.objects.get().status == FindingStatus.OPEN

    def test_a_capa_needs_ticked_findings_and_a_title(self, client, world):
        world.fill(world.audit, world.sally)
        finding = Finding.objects.get()
        client.force_login(world.cast.mia)
        response = client.post(reverse("audits:findings-capa"), {"title": "x"}, **EN)
        assert response.status_code == 400 and "Tick at least one finding." in response.content.decode()
        response = client.post(reverse("audits:findings-capa"), {"findings": [finding.pk], "title": ""}, **EN)
        assert response.status_code == 400 and "CAPA title:" in response.content.decode()
        assert not Capa.objects.exists()


class PlanPageTests:
    def test_the_quality_department_plans_an_audit_on_the_quarters_grid(self, client, world):
        client.force_login(world.quality)
        response = client.get(reverse("audits:plan-current"))
        assert response.status_code == 302
        url = response["Location"]
        html = client.get(url, **EN).content.decode()
        assert 'id="plan-SH01"' in html and f">{world.audit}</a>" in html
        count = Audit.objects.count()
        response = client.post(
            url,
            {
                "form": "plan",
                "plan-store": world.cast.store_b.pk,
                "plan-kind": "mystery_shopper",
                "plan-checklist": world.checklist.pk,
                "plan-auditor": world.sam.pk,
                "plan-due_date": (clock.today() + dt.timedelta(days=5)).isoformat(),
            },
            **EN,
        )
        assert response.status_code == 302
        planned = Audit.objects.latest("pk")
        assert Audit.objects.count() == count + 1 and planned.store == world.cast.store_b
        assert planned.auditor == world.sam and planned.plan is not None

    def test_bad_plan_and_draw_input_is_named(self, client, world):
        client.force_login(world.quality)
        url = client.get(reverse("audits:plan-current"))["Location"]
        count = Audit.objects.count()
        html = client.post(url, {"form": "plan", "plan-kind": "audit"}, **EN).content.decode()
        assert "Store: This field is required." in html and "Kind: Select a valid choice." in html
        response = client.post(
            url,
            {
                "form": "plan",
                "plan-store": world.cast.store_a.pk,
                "plan-kind": "record_check",
                "plan-checklist": world.checklist.pk,
            },
            **EN,
        )
        assert response.status_code == 400  # a mystery-shopper checklist for a record check
        response = client.post(url, {"form": "draw", "draw-store": world.cast.store_a.pk, "draw-size": "0"}, **EN)
        html = response.content.decode()
        assert response.status_code == 400 and "Sample size:" in html
        assert Audit.objects.count() == count

    def test_a_store_manager_may_not_open_the_plan(self, client, world):
        client.force_login(world.cast.mia)
        assert client.get(reverse("audits:plan", args=[2026, 2])).status_code == 403


class ChecklistPageTests:
    def test_everyone_who_reads_audits_sees_the_items_and_weights(self, client, world):
        client.force_login(world.cast.mia)
        html = client.get(reverse("audits:checklists"), **EN).content.decode()
        assert f'id="checklist-{world.checklist.pk}"' in html and "Explains the estimate line by line" in html
        assert "× 3" in html and 'id="checklist-new"' not in html

    def test_the_quality_department_edits_a_checklist(self, client, world):
        client.force_login(world.quality)
        url = reverse("audits:checklist-edit", args=[world.checklist.pk])
        form = client.get(url, **EN)
        assert form.status_code == 200
        data = {
            "checklist-kind": "mystery_shopper",
            "checklist-title": "神秘顾客到店（二版）",
            "checklist-description": "",
            "items-TOTAL_FORMS": "3",
            "items-INITIAL_FORMS": "0",
            "items-0-text": "电话三声内接听",
            "items-0-weight": "2",
            "items-1-text": "离店时送别",
            "items-1-weight": "1.5",
            "items-1-allows_na": "on",
            "items-2-text": "",
            "items-2-weight": "",
        }
        response = client.post(url, data, **EN)
        assert response.status_code == 302
        world.checklist.refresh_from_db()
        assert world.checklist.title == "神秘顾客到店（二版）"
        assert list(world.checklist.items.values_list("weight", "allows_na")) == [
            (Decimal("2.00"), False),
            (Decimal("1.50"), True),
        ]

    def test_an_item_needs_its_text_and_a_weight_above_zero(self, client, world):
        client.force_login(world.quality)
        url = reverse("audits:checklist-new")
        data = {
            "checklist-kind": "internal",
            "checklist-title": "内部审核",
            "items-TOTAL_FORMS": "2",
            "items-INITIAL_FORMS": "0",
            "items-0-text": "",
            "items-0-weight": "2",
            "items-1-text": "工位整洁",
            "items-1-weight": "0",
        }
        response = client.post(url, data, **EN)
        html = response.content.decode()
        assert response.status_code == 400 and "Item: Write what the auditor checks." in html
        assert "Weight: Ensure this value is greater than or equal to 0.01." in html
        assert not AuditChecklist.objects.filter(kind="internal").exists()

    def test_another_groups_checklist_is_not_found(self, client, world):
        outsider = make_user("quentin", Role.QUALITY, group=world.cast.other_group)
        client.force_login(outsider)
        url = reverse("audits:checklist-edit", args=[world.checklist.pk])
        assert client.get(url).status_code == 404
        assert client.post(url, {"checklist-kind": "mystery_shopper", "checklist-title": "篡改"}).status_code == 404
        world.checklist.refresh_from_db()
        assert world.checklist.title == "神秘顾客到店"
        # their own quarter's plan shows none of the other group's audits
        html = client.get(reverse("audits:plan", args=[*divmod_quarter()]), **EN).content.decode()
        assert "SH01" not in html and str(world.audit) not in html

    def test_the_defaults_are_installed_from_the_empty_page(self, client, cast):
        quality = make_user("quinn", Role.QUALITY, group=cast.group)
        client.force_login(quality)
        html = client.get(reverse("audits:checklists"), **EN).content.decode()
        assert 'id="install-defaults"' in html
        assert client.post(reverse("audits:checklists-defaults")).status_code == 302
        assert set(AuditChecklist.objects.values_list("kind", flat=True)) == set(AuditKind.values)


class QueryCountTests:
    def test_the_list_does_not_grow_with_the_audits(self, client, world, django_assert_max_num_queries):
        for _ in range(6):
            world.fill(world.plan(world.cast.store_b, world.sam), world.sam)
        client.force_login(world.quality)
        with django_assert_max_num_queries(16):
            response = client.get(reverse("audits:list"), {"quarter": ""}, **EN)
        assert response.content.decode().count('class="list-group-item" id="audit-') == 7

    def test_the_fill_page_does_not_grow_with_the_items(self, client, world, django_assert_max_num_queries):
        services.audit_start(audit=world.audit, by=world.sally)
        for item in world.items:
            services.audit_answer(audit=world.audit, by=world.sally, item=item, result="pass")
        client.force_login(world.sally)
        with django_assert_max_num_queries(16):
            response = client.get(reverse("audits:fill", args=[world.audit.pk]), **EN)
        assert "4 / 4 answered" in response.content.decode()
