"""Who may do what with an audit (issue 16, the rulebook), written out by hand from the issue rather than read from
`transitions.py`: the audited store cannot see or edit an audit before it is submitted; an auditor works only on
their own audits and comes from outside the store; spot-check samples are random, reproducible and never drawn by
the audited store."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from aftersales.audits import selectors, services
from aftersales.audits.choices import AuditKind, AuditStatus
from aftersales.audits.models import Audit, AuditAnswer, SpotCheckSample
from aftersales.audits.transitions import AUDIT, FINDING, audit_moves_for, finding_moves_for
from aftersales.config.testing import make_user
from aftersales.notifications.models import InboxItem
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Membership
from aftersales.organisation.permissions import Capability as C

from .conftest import delivered, frozen, small_checklist

pytestmark = pytest.mark.django_db


def names(moves):
    return [m.name for m in moves]


class TableTests:
    def test_the_audit_moves_and_who_makes_them(self):
        expected = {
            "plan": ({C.MANAGE_AUDITS}, set()),
            "record": ({C.MANAGE_AUDITS, C.PERFORM_AUDITS}, set()),
            "assign": ({C.MANAGE_AUDITS}, set()),
            "start": ({C.MANAGE_AUDITS}, {C.PERFORM_AUDITS}),
            "answer": ({C.MANAGE_AUDITS}, {C.PERFORM_AUDITS}),
            "submit": ({C.MANAGE_AUDITS}, {C.PERFORM_AUDITS}),
            "cancel": ({C.MANAGE_AUDITS}, set()),
        }
        assert {m.name: (set(m.capabilities), set(m.own_capabilities)) for m in AUDIT.moves} == expected
        assert AUDIT.get("cancel").needs_reason
        # VIEW_AUDITS (the audited store, the group's management) makes no move at all.
        assert not any(C.VIEW_AUDITS in m.capabilities | m.own_capabilities for m in AUDIT.moves)

    def test_the_finding_moves(self):
        close = FINDING.get("close")
        assert set(close.capabilities) == {C.MANAGE_CAPA} and close.needs_reason
        assert set(FINDING.get("open_capa").capabilities) == {C.MANAGE_CAPA}
        assert FINDING.get("overdue").parties == {"system"}


@pytest.fixture
def running(scene):
    """An internal audit of store A by the quality department, two items answered of four."""
    with frozen(2026, 3, 2, 10, 0):
        audit = services.audit_plan(
            by=scene.quinn, store=scene.store, kind="internal", checklist=small_checklist(scene)
        )
        audit = services.audit_start(audit=audit, by=scene.quinn)
        items = list(audit.checklist.items.order_by("position"))
        for item in items[:2]:
            services.audit_answer(audit=audit, by=scene.quinn, item=item, result="pass")
    return audit


class AuditedStoreTests:
    def test_the_store_sees_nothing_before_submission_and_everything_after(self, scene, running):
        mia, grace = scene.cast.mia, scene.cast.grace
        for user in (mia, grace, scene.cast.alice, scene.sam):
            assert running not in selectors.audits_for(user)
            with pytest.raises(Http404):
                selectors.audit_detail(user=user, pk=running.pk)
        assert running in selectors.audits_for(scene.quinn)
        with frozen(2026, 3, 2, 11, 0):
            items = list(running.checklist.items.order_by("position"))
            for item in items[2:]:
                services.audit_answer(audit=running, by=scene.quinn, item=item, result="fail", note="未执行")
            services.audit_submit(audit=running, by=scene.quinn)
        for user in (mia, grace):  # VIEW_AUDITS
            assert selectors.audit_detail(user=user, pk=running.pk) == running
            assert selectors.findings_for(user).count() == 2
        for user in (scene.cast.alice, scene.sam):  # no VIEW_AUDITS; not the auditor
            assert running not in selectors.audits_for(user)
            assert not selectors.findings_for(user).exists()

    def test_the_store_cannot_edit_an_audit_in_any_state(self, scene, running):
        mia = scene.cast.mia
        item = running.checklist.items.order_by("position").last()
        attempts = {
            "answer": lambda: services.audit_answer(audit=running, by=mia, item=item, result="pass"),
            "submit": lambda: services.audit_submit(audit=running, by=mia),
            "cancel": lambda: services.audit_cancel(audit=running, by=mia, reason="不同意"),
            "assign": lambda: services.audit_assign(audit=running, by=mia, auditor=mia),
        }
        for name, attempt in attempts.items():
            with pytest.raises(PermissionDenied):
                attempt()
            assert AuditAnswer.objects.filter(audit=running).count() == 2, name
        running.refresh_from_db()
        assert running.status == AuditStatus.IN_PROGRESS
        for user in (mia, scene.cast.grace, scene.cast.alice):
            assert audit_moves_for(audit=running, user=user) == []
        assert names(audit_moves_for(audit=running, user=scene.quinn)) == ["assign", "answer", "submit", "cancel"]

    def test_a_submitted_audit_offers_no_move_and_its_finding_its_owner_the_close(self, scene, running):
        with frozen(2026, 3, 2, 11, 0):
            items = list(running.checklist.items.order_by("position"))
            services.audit_answer(audit=running, by=scene.quinn, item=items[2], result="na")
            services.audit_answer(audit=running, by=scene.quinn, item=items[3], result="fail", note="缺记录")
            services.audit_submit(audit=running, by=scene.quinn, finding_owner=scene.cast.alice)
        running.refresh_from_db()
        assert audit_moves_for(audit=running, user=scene.quinn) == []
        finding = running.findings.get()
        assert names(finding_moves_for(finding=finding, user=scene.cast.alice)) == ["close"]  # her own
        assert names(finding_moves_for(finding=finding, user=scene.cast.bob)) == []  # not his
        assert names(finding_moves_for(finding=finding, user=scene.cast.mia)) == ["close", "open_capa"]
        assert finding in selectors.findings_for(scene.cast.alice)  # the owner reads her own finding
        assert not selectors.findings_for(scene.cast.bob).exists()


class AuditorTests:
    def test_a_shopper_works_only_on_their_own_audits(self, scene):
        checklist = scene.checklists[AuditKind.MYSTERY_SHOPPER]
        with frozen(2026, 3, 2, 10, 0):
            audit = services.audit_plan(
                by=scene.quinn, store=scene.store, kind="mystery_shopper", checklist=checklist, auditor=scene.sam
            )
            assert audit in selectors.my_audits(scene.sam) and audit not in selectors.audits_for(scene.sue)
            with pytest.raises(PermissionDenied):
                services.audit_start(audit=audit, by=scene.sue)
            assert names(audit_moves_for(audit=audit, user=scene.sue)) == []
            assert names(audit_moves_for(audit=audit, user=scene.sam)) == ["start"]
            services.audit_start(audit=audit, by=scene.sam)
            with pytest.raises(PermissionDenied):
                services.audit_cancel(audit=audit, by=scene.sam, reason="不想做")
        assert InboxItem.objects.filter(recipient=scene.sam, kind="audit_assigned").count() == 1

    def test_an_auditor_from_the_audited_store_is_refused(self, scene):
        insider = make_user("ivy", Role.AUDITOR, group=scene.cast.group)
        Membership.objects.create(user=insider, group=scene.cast.group, store=scene.store, role=Role.ADVISOR)
        checklist = scene.checklists[AuditKind.MYSTERY_SHOPPER]
        with pytest.raises(ValidationError) as caught:
            services.audit_plan(
                by=scene.quinn, store=scene.store, kind="mystery_shopper", checklist=checklist, auditor=insider
            )
        assert caught.value.message_dict == {
            "auditor": ["An auditor comes from outside the audited store: this person works there."]
        }
        # The same person audits another store of the group.
        other = services.audit_plan(
            by=scene.quinn, store=scene.cast.store_b, kind="mystery_shopper", checklist=checklist, auditor=insider
        )
        assert other.auditor == insider
        # An advisor of another store may not audit at all; recording an audit of one's own store is refused.
        with pytest.raises(ValidationError) as caught:
            services.audit_plan(
                by=scene.quinn,
                store=scene.cast.store_b,
                kind="mystery_shopper",
                checklist=checklist,
                auditor=scene.cast.alice,
            )
        assert caught.value.message_dict == {"auditor": ["This person may not audit this store."]}
        items = [{"item": i.pk, "result": "pass"} for i in checklist.items.all()]
        with pytest.raises(PermissionDenied):
            services.audit_record(
                by=insider,
                store=scene.store,
                kind="mystery_shopper",
                checklist=checklist,
                answers=items,
                channel="visit",
            )
        assert Audit.objects.filter(store=scene.store).count() == 0

    def test_only_the_quality_department_plans(self, scene):
        checklist = scene.checklists[AuditKind.INTERNAL]
        for user in (scene.cast.mia, scene.cast.grace, scene.sam):
            with pytest.raises(PermissionDenied):
                services.audit_plan(by=user, store=scene.store, kind="internal", checklist=checklist)
        assert not Audit.objects.exists()


class SamplingTests:
    @pytest.fixture
    def february(self, scene):
        """Six orders of store A delivered in February 2026 (one at 23:30 on the 28th, China time), one on 1 March,
        one of store B."""
        orders = [delivered(scene.store, dt.date(2026, 2, day)) for day in (1, 3, 9, 14, 20)]
        orders.append(delivered(scene.store, dt.date(2026, 2, 28), hour=23))
        delivered(scene.store, dt.date(2026, 3, 1), hour=0)
        delivered(scene.cast.store_b, dt.date(2026, 2, 10))
        return orders

    def test_the_same_seed_draws_the_same_orders_and_the_stored_seed_redraws_them(self, scene, february):
        population = [o.pk for o in february]
        assert services.sample_orders(population_ids=population, seed=42, size=3) == services.sample_orders(
            population_ids=list(reversed(population)), seed=42, size=3
        )
        with frozen(2026, 3, 5, 10, 0):
            sample = services.sample_draw(
                by=scene.quinn, store=scene.store, kind="record_check", month=dt.date(2026, 2, 17), size=3, seed=42
            )
        assert sample.month == dt.date(2026, 2, 1) and sample.population == 6 and sample.seed == 42
        assert sample.order_ids == services.sample_orders(population_ids=population, seed=42, size=3)
        audits = Audit.objects.filter(sample=sample).order_by("pk")
        assert [a.order_id for a in audits] == sample.order_ids
        assert {a.status for a in audits} == {AuditStatus.PLANNED} and {a.kind for a in audits} == {"record_check"}

    def test_a_seed_left_out_is_generated_stored_and_redraws_the_sample(self, scene, february):
        with frozen(2026, 3, 5, 10, 0):
            sample = services.sample_draw(
                by=scene.quinn, store=scene.store, kind="video_check", month=dt.date(2026, 2, 1), size=2
            )
        population = [o.pk for o in february]
        assert sample.order_ids == services.sample_orders(population_ids=population, seed=sample.seed, size=2)
        assert 0 <= sample.seed < 2**63

    def test_the_audited_store_cannot_draw_or_choose(self, scene, february):
        for user in (scene.cast.mia, scene.cast.alice, scene.sam):
            with pytest.raises(PermissionDenied), frozen(2026, 3, 5, 10, 0):
                services.sample_draw(
                    by=user, store=scene.store, kind="record_check", month=dt.date(2026, 2, 1), size=2, seed=1
                )
        # Even an administrator who works in the store does not draw its sample.
        insider = make_user("root", Role.ADMIN, group=scene.cast.group)
        Membership.objects.create(user=insider, group=scene.cast.group, store=scene.store, role=Role.MANAGER)
        with pytest.raises(PermissionDenied), frozen(2026, 3, 5, 10, 0):
            services.sample_draw(
                by=insider, store=scene.store, kind="record_check", month=dt.date(2026, 2, 1), size=2, seed=1
            )
        # A spot check of an order nobody drew is refused.
        with pytest.raises(ValidationError) as caught:
            services.audit_plan(
                by=scene.quinn,
                store=scene.store,
                kind="record_check",
                checklist=scene.checklists[AuditKind.RECORD_CHECK],
                order=february[0],
            )
        assert list(caught.value.message_dict) == ["order"]
        assert not SpotCheckSample.objects.exists() and not Audit.objects.exists()

    def test_one_sample_per_month_within_the_population(self, scene, february):
        with frozen(2026, 3, 5, 10, 0):
            with pytest.raises(ValidationError) as caught:
                services.sample_draw(
                    by=scene.quinn, store=scene.store, kind="record_check", month=dt.date(2026, 2, 1), size=7
                )
            assert caught.value.message_dict == {"size": ["Only 6 orders were delivered in this month."]}
            with pytest.raises(ValidationError) as caught:
                services.sample_draw(
                    by=scene.quinn, store=scene.store, kind="internal", month=dt.date(2026, 4, 1), size=0
                )
            assert set(caught.value.message_dict) == {"kind", "month", "size"}
            services.sample_draw(
                by=scene.quinn, store=scene.store, kind="record_check", month=dt.date(2026, 2, 1), size=1
            )
            with pytest.raises(ValidationError) as caught:
                services.sample_draw(
                    by=scene.quinn, store=scene.store, kind="record_check", month=dt.date(2026, 2, 1), size=1
                )
            assert list(caught.value.message_dict) == ["month"]
        assert SpotCheckSample.objects.count() == 1

    def test_a_sampled_order_is_audited_through_its_planned_audit(self, scene, february):
        checklist = scene.checklists[AuditKind.RECORD_CHECK]
        with frozen(2026, 3, 5, 10, 0):
            sample = services.sample_draw(
                by=scene.quinn, store=scene.store, kind="record_check", month=dt.date(2026, 2, 1), size=1, seed=7
            )
            order = february[[o.pk for o in february].index(sample.order_ids[0])]
            answers = [{"item": i.pk, "result": "pass"} for i in checklist.items.all()]
            audit = services.audit_record(
                by=scene.quinn,
                store=scene.store,
                kind="record_check",
                checklist=checklist,
                answers=answers,
                order=order,
            )
        assert Audit.objects.filter(sample=sample).get() == audit and audit.status == AuditStatus.SUBMITTED
