"""What the review of issue 16 found: the audited store's group chat never hears of a planned audit, a sampled
order's audit submitted meanwhile is not reopened (its findings would be wiped), one sample per store, kind and
month holds in the database, and opening a CAPA from findings asks for the rights before telling anything."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from aftersales.audits import services
from aftersales.audits.choices import AuditKind, AuditStatus
from aftersales.audits.models import Audit, Finding, SpotCheckSample
from aftersales.core.exceptions import ApplicationError
from aftersales.messaging.models import OutboxMessage
from aftersales.notifications.models import InboxItem
from aftersales.organisation.models import Store

from .conftest import answer_all, delivered, frozen, small_checklist

pytestmark = pytest.mark.django_db


def test_a_planned_mystery_shopper_is_not_posted_to_the_audited_stores_robot(scene):
    Store.objects.filter(pk=scene.store.pk).update(wecom_webhook_url="https://qyapi.weixin.qq.com/robot/send?key=x")
    scene.store.refresh_from_db()
    with frozen(2026, 3, 2, 10, 0):
        audit = services.audit_plan(
            by=scene.quinn,
            store=scene.store,
            kind=AuditKind.MYSTERY_SHOPPER,
            checklist=scene.checklists[AuditKind.MYSTERY_SHOPPER],
            auditor=scene.sam,
        )
    assert audit.auditor == scene.sam
    assert InboxItem.objects.filter(recipient=scene.sam, kind="audit_assigned").exists()
    assert not OutboxMessage.objects.filter(template="audit_assigned").exclude(recipient_user=scene.sam).exists()


def test_a_sampled_orders_audit_submitted_meanwhile_is_not_reopened(scene, monkeypatch):
    checklist = small_checklist(scene, kind=AuditKind.RECORD_CHECK, title="抽查小表")
    with frozen(2026, 2, 3, 10, 0):
        order = delivered(scene.store, dt.date(2026, 2, 3))
    with frozen(2026, 3, 5, 10, 0):
        sample = services.sample_draw(
            by=scene.quinn, store=scene.store, kind="record_check", month=dt.date(2026, 2, 1), size=1, seed=7
        )
        audit = Audit.objects.get(sample=sample)
        assert audit.order_id == order.pk and audit.checklist_id == checklist.pk
        services.audit_start(audit=audit, by=scene.quinn)
        answer_all(audit, scene.quinn, ["pass", "fail", "na", "pass"])
        audit = services.audit_submit(audit=audit, by=scene.quinn)
    findings = list(Finding.objects.filter(audit=audit).values_list("pk", flat=True))
    assert audit.status == AuditStatus.SUBMITTED and findings
    # The second recording found the audit open before the first one submitted it (the lost race, replayed).
    monkeypatch.setattr(services, "_open_audit_of", lambda order, kind: audit)
    answers = [{"item": i.pk, "result": "pass", "note": ""} for i in checklist.items.all()]
    with pytest.raises(ApplicationError) as caught, frozen(2026, 3, 5, 11, 0):
        services.audit_record(
            by=scene.quinn, store=scene.store, kind="record_check", checklist=checklist, answers=answers, order=order
        )
    assert caught.value.extra["code"] == "invalid_transition"
    audit.refresh_from_db()
    assert audit.status == AuditStatus.SUBMITTED
    assert list(Finding.objects.filter(audit=audit).values_list("pk", flat=True)) == findings


def test_one_sample_per_store_kind_and_month_is_a_database_rule(scene):
    row = {"store": scene.store, "kind": "record_check", "month": dt.date(2026, 2, 1), "size": 1, "population": 1}
    SpotCheckSample.objects.create(seed=1, **row)
    with pytest.raises(IntegrityError), transaction.atomic():
        SpotCheckSample.objects.create(seed=2, **row)


def test_opening_a_capa_from_another_stores_findings_is_refused_before_anything_is_said(scene):
    """Mia manages store A: with one finding of hers and one of store B she learns nothing about B's (no "choose
    findings of one store", which would confirm it exists): the rights are asked first."""
    checklist = small_checklist(scene)
    findings = []
    for store in (scene.store, scene.cast.store_b):
        with frozen(2026, 3, 2, 10, 0):
            audit = services.audit_plan(by=scene.quinn, store=store, kind=AuditKind.INTERNAL, checklist=checklist)
            services.audit_start(audit=audit, by=scene.quinn)
            answer_all(audit, scene.quinn, ["fail", "pass", "na", "pass"])
            services.audit_submit(audit=audit, by=scene.quinn)
        findings.append(Finding.objects.get(audit=audit))
    with pytest.raises(PermissionDenied):
        services.findings_open_capa(by=scene.cast.mia, findings=findings, title="两店混在一起")
    assert not Finding.objects.filter(capa__isnull=False).exists()
