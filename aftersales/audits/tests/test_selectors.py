"""Reads: the mean score per store × kind of submitted audits (one aggregate query, the audits the reader may
see), the auditor's to-do list, and a cancelled audit that stays hidden from the store."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from aftersales.audits import selectors, services
from aftersales.audits.choices import AuditStatus

from .conftest import answer_all, frozen, small_checklist

pytestmark = pytest.mark.django_db


def submitted(scene, checklist, results, *, store=None, day=2):
    with frozen(2026, 3, day, 10, 0):
        audit = services.audit_plan(by=scene.quinn, store=store or scene.store, kind="internal", checklist=checklist)
        audit = services.audit_start(audit=audit, by=scene.quinn)
        answer_all(audit, scene.quinn, results)
        return services.audit_submit(audit=audit, by=scene.quinn)


def test_the_mean_score_per_store_and_kind_in_one_query(scene, django_assert_num_queries):
    checklist = small_checklist(scene)  # weights 3, 2, 1, 4
    submitted(scene, checklist, ["pass", "fail", "na", "pass"])  # 77.78
    submitted(scene, checklist, ["pass", "pass", "pass", "pass"], day=3)  # 100
    submitted(scene, checklist, ["fail", "pass", "pass", "pass"], store=scene.cast.store_b)  # 7 / 10 = 70
    submitted(scene, checklist, ["fail", "fail", "fail", "fail"], day=20)  # outside the range
    scene.quinn = type(scene.quinn).objects.get(pk=scene.quinn.pk)  # a fresh user: no cached stores
    with django_assert_num_queries(3):  # the user's memberships, the group's stores, the aggregate
        rows = selectors.scores_by_store_kind(scene.quinn, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 10))
    assert [(r["store"], r["kind"], r["audits"], r["mean"]) for r in rows] == [
        ("HZ01", "internal", 1, Decimal("70.00")),
        ("SH01", "internal", 2, Decimal("88.89")),  # (77.78 + 100) / 2 = 88.89
    ]
    mia_rows = selectors.scores_by_store_kind(scene.cast.mia, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))
    assert [(r["store"], r["audits"]) for r in mia_rows] == [("SH01", 3)]  # her store only


def test_a_cancelled_audit_needs_a_reason_and_stays_hidden_from_the_store(scene):
    checklist = small_checklist(scene)
    with frozen(2026, 3, 2, 10, 0):
        audit = services.audit_plan(
            by=scene.quinn, store=scene.store, kind="internal", checklist=checklist, auditor=scene.sam
        )
        assert list(selectors.my_audits(scene.sam)) == [audit]
        with pytest.raises(ValidationError) as caught:
            services.audit_cancel(audit=audit, by=scene.quinn, reason="")
        assert list(caught.value.message_dict) == ["reason"]
        audit = services.audit_cancel(audit=audit, by=scene.quinn, reason="门店装修停业")
    assert audit.status == AuditStatus.CANCELLED and audit.cancel_reason == "门店装修停业"
    assert list(selectors.my_audits(scene.sam)) == []
    assert not selectors.audits_for(scene.cast.mia).exists()
    assert selectors.audits_for(scene.quinn, status="cancelled").get() == audit
