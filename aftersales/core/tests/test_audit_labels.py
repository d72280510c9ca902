"""The audit trail reads as words: each recorded action has a label, each changed field its model's name, in the
reader's language; and the page filters by action and date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

from aftersales.core.audit import ACTION_LABELS, action_label, field_label
from aftersales.core.models import AuditEntry

SOURCE = Path(__file__).resolve().parents[2]
LITERAL = re.compile(r'action="([a-z_]+\.[a-z_]+)"')
# Actions built from a value: the values each can take.
FORMATTED = {
    'action=f"estimate.line_{decision}"': ["estimate.line_approved", "estimate.line_declined"],
    'action=f"deferred_work.{status}"': ["deferred_work.done", "deferred_work.dismissed"],
    'action=f"appointment.pickup_{name}"': [
        "appointment.pickup_collect",
        "appointment.pickup_arrive",
        "appointment.pickup_deliver_back",
    ],
}


def recorded_actions() -> set[str]:
    found: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if "audit_record" not in text:
            continue
        found.update(LITERAL.findall(text))
        for pattern, values in FORMATTED.items():
            if pattern in text:
                found.update(values)
    return found


def test_every_action_the_services_record_has_a_label():
    actions = recorded_actions()
    assert {"recovery.escalate", "customer.update", "estimate.line_declined"} <= actions  # the scan sees them
    assert sorted(actions - set(ACTION_LABELS)) == []


def test_labels_follow_the_language():
    with translation.override("en"):
        assert action_label("recovery.escalate") == "Service recovery escalated"
        assert field_label("customers.customer", "name") == "name"
        assert field_label("feedback.recoverytask", "in_time") == "in time"  # recorded, not a model field
    with translation.override("zh-hans"):
        assert action_label("recovery.escalate") == "服务补救已升级"
        assert field_label("customers.customer", "name") != "name"
    assert action_label("something.new") == "something.new"  # an unknown action shows as recorded
    assert field_label("no.such", "x_key") == "x_key"


@pytest.fixture
def entries(cast):
    AuditEntry.objects.create(
        actor=cast.mia,
        action="recovery.escalate",
        object_type="feedback.recoverytask",
        object_id="7",
        store_id=cast.store_a.pk,
        changes={"level": "store"},
    )
    AuditEntry.objects.create(
        actor=cast.mia,
        action="customer.update",
        object_type="customers.customer",
        object_id="3",
        store_id=cast.store_a.pk,
        changes={"name": ["张三", "张叁"]},
    )


def test_the_audit_page_shows_words_not_keys(client, cast, entries):
    client.force_login(cast.mia)
    body = client.get(reverse("organisation:audit"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Service recovery escalated" in body and "Customer changed" in body
    assert ">recovery.escalate<" not in body and "<code>" not in body
    assert "escalated to" in body  # the key "level" in words


def test_the_audit_page_in_chinese(client, cast, entries):
    client.force_login(cast.mia)
    body = client.get(reverse("organisation:audit"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "服务补救已升级" in body and "客户信息已修改" in body


def test_the_audit_page_filters_by_action(client, cast, entries):
    client.force_login(cast.mia)
    page = client.get(reverse("organisation:audit"), {"action": "customer.update"})
    assert [row["entry"].action for row in page.context["rows"]] == ["customer.update"]
    unknown = client.get(reverse("organisation:audit"), {"action": "nonsense", "from": "2026-13-40"})
    assert unknown.status_code == 200 and len(unknown.context["rows"]) == 2  # a bad filter is no filter
