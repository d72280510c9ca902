"""The demo's audits (`audits/demo.py`, run by `aftersales seed`): a quarter of audits of every kind for every
store, findings closed, open and one overdue, a CAPA from findings — and the audit KPIs read them.  Runs on SQLite
and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from aftersales.analytics.kpis_audits import KEYS
from aftersales.analytics.periods import Period
from aftersales.analytics.selectors import kpi_figures, scope_for_group
from aftersales.audits.choices import AuditKind, AuditStatus, FindingStatus
from aftersales.audits.models import Audit, Finding, SpotCheckSample
from aftersales.organisation.models import DealerGroup, Store

TODAY = dt.date(2026, 11, 20)  # Q4 is 50 days old: the demo's quarter is Q4 up to 19 November


@pytest.mark.django_db
def test_the_demo_has_a_quarter_of_audits_with_findings_and_a_capa(time_machine: Any) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC), tick=False)
    call_command(
        "seed",
        "--stores",
        "2",
        "--customers",
        "80",
        "--months",
        "4",
        "--today",
        TODAY.isoformat(),
        "--no-progress",
        stdout=StringIO(),
        stderr=StringIO(),
    )
    quarter = Period.parse("2026-Q4")
    submitted = Audit.objects.filter(status=AuditStatus.SUBMITTED)
    for store in Store.objects.all():
        kinds = set(submitted.filter(store=store).values_list("kind", flat=True))
        assert kinds == set(AuditKind.values), store.code
        assert Audit.objects.filter(store=store, status=AuditStatus.PLANNED).exists()  # next month's shopper
    assert not submitted.filter(submitted_at__lt=quarter.start).exists()
    assert not submitted.filter(submitted_at__gte=dt.datetime(2026, 11, 20, tzinfo=dt.UTC)).exists()
    assert SpotCheckSample.objects.filter(kind=AuditKind.RECORD_CHECK).count() == 2  # one per store, seed kept
    findings = Finding.objects.all()
    assert findings.filter(status=FindingStatus.CLOSED).exists()
    open_ = findings.filter(status=FindingStatus.OPEN)
    assert open_.filter(due_date__lt=TODAY).count() == 1  # one overdue
    assert open_.filter(capa__isnull=False).count() == 2  # two alike findings handed to a CAPA
    group = kpi_figures(scope_for_group(DealerGroup.objects.get()), quarter, keys=KEYS)
    assert group["audit_score"].denominator == submitted.count()
    for kind in AuditKind.values:
        assert group[f"audit_score_{kind}"].value is not None
    assert group["audit_findings_open"].value == open_.count()
    assert group["audit_findings_overdue_percent"].numerator == 1
    assert group["sop_acknowledged_percent"].denominator > 0
