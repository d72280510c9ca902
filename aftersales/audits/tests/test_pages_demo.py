"""The audit pages on the demo's quarter of audits (every kind, samples, findings, a CAPA): each page renders for
the quality department, the store manager and the mystery shopper, and a spot check shows its sampled order."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from aftersales.audits.choices import AuditStatus
from aftersales.audits.models import Audit, Finding
from aftersales.audits.selectors_pages import quarter_of

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def demo(db):
    args = ["--stores", "2", "--customers", "40", "--months", "4", "--seed", "7", "--no-progress"]
    call_command("seed", *args, stdout=StringIO(), stderr=StringIO())


def test_every_audit_page_renders_on_the_demo(client, demo):
    users = get_user_model().objects
    assert Audit.objects.filter(status=AuditStatus.SUBMITTED).exists()
    client.force_login(users.get(username="quality"))
    for name in ("audits:list", "audits:findings", "audits:checklists"):
        assert client.get(reverse(name), **EN).status_code == 200, name
    for audit in Audit.objects.order_by("pk"):
        page = "audits:audit-detail" if audit.status in ("submitted", "cancelled") else "audits:fill"
        response = client.get(reverse(page, args=[audit.pk]), **EN)
        assert response.status_code == 200, (page, audit.pk)
        if audit.order_id:
            assert audit.order.number in response.content.decode()
    for year, quarter in {quarter_of(a.submitted_at.date()) for a in Audit.objects.exclude(submitted_at=None)}:
        html = client.get(reverse("audits:plan", args=[year, quarter]), **EN).content.decode()
        assert 'id="grid"' in html
    finding = Finding.objects.order_by("pk").first()
    assert client.get(reverse("audits:finding-detail", args=[finding.pk]), **EN).status_code == 200
    client.force_login(users.get(username="manager"))
    html = client.get(reverse("audits:list"), **EN).content.decode()
    assert "data-score=" in html
    assert 'data-status="in_progress"' not in html and 'data-status="planned"' not in html
    client.force_login(users.get(username="shopper"))
    assert client.get(reverse("audits:list"), **EN).status_code == 200
