"""The audit and standards KPIs (issue 16, `kpis_audits.py`) on a hand-built May 2026 of two stores of one group
and a store of another group; every figure computed on paper below, with the edges the definitions name: an audit
submitted at the last second of the month and one at the first second of the next, a cancelled audit with a score,
a finding closed exactly at the period's end (still open at it), one raised at that instant (not yet), one due on
the last day (overdue), a superseded SOP version, a store variant asked of another store's staff, an
acknowledgement at the period's end (too late), a member with two roles.  Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation

from aftersales.analytics.kpis_audits import KEYS
from aftersales.analytics.periods import LOCAL_TZ, Period
from aftersales.analytics.selectors import (
    kpi_drilldown,
    kpi_figures,
    kpi_figures_by_store,
    scope_for_group,
    scope_for_store,
)
from aftersales.audits.choices import AnswerResult, AuditKind, AuditStatus, FindingStatus
from aftersales.audits.models import Audit, AuditAnswer, AuditChecklist, AuditChecklistItem, Finding
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Membership
from aftersales.standards.choices import ProcedureStep, VersionStatus
from aftersales.standards.models import Acknowledgement, Procedure, ProcedureVersion

NOW = dt.datetime(2026, 7, 15, 12, 0, tzinfo=LOCAL_TZ)
MAY = Period.parse("2026-05")
Q2 = Period.parse("2026-Q2")
_items = itertools.count(1)


def at(month: int, day: int, hour: int = 10, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=LOCAL_TZ)


def day(month: int, d: int) -> dt.date:
    return dt.date(2026, month, d)


def checklist(group: Any, kind: str) -> AuditChecklist:
    return AuditChecklist.objects.get_or_create(group=group, kind=kind, title=f"{kind} list")[0]


def audit(store: Any, kind: str, score: str | None, submitted: dt.datetime | None, **fields: Any) -> Audit:
    status = fields.pop("status", AuditStatus.SUBMITTED)
    return Audit.objects.create(
        store=store,
        kind=kind,
        checklist=checklist(store.group, kind),
        status=status,
        score=None if score is None else Decimal(score),
        submitted_at=submitted,
        **fields,
    )


def finding(audit_: Audit, created: dt.datetime, due: dt.date, closed: dt.datetime | None = None) -> Finding:
    item = AuditChecklistItem.objects.create(checklist=audit_.checklist, text=f"item {next(_items)}")
    answer = AuditAnswer.objects.create(audit=audit_, item=item, result=AnswerResult.FAIL)
    return Finding.objects.create(
        audit=audit_,
        answer=answer,
        store=audit_.store,
        text=item.text,
        due_date=due,
        created_at=created,
        status=FindingStatus.CLOSED if closed else FindingStatus.OPEN,
        closed_at=closed,
    )


def version(procedure: Procedure, number: int, published: dt.datetime, effective: dt.date, approver: Any):
    return ProcedureVersion.objects.create(
        procedure=procedure,
        number=number,
        status=VersionStatus.PUBLISHED,
        text="…",
        effective_from=effective,
        published_at=published,
        approver=approver,
    )


def ask(version_: ProcedureVersion, user: Any, asked: dt.datetime, acknowledged: dt.datetime | None = None) -> None:
    Acknowledgement.objects.create(version=version_, user=user, asked_at=asked, acknowledged_at=acknowledged)


def build(cast: Any) -> None:
    a, b, c = cast.store_a, cast.store_b, cast.store_c
    # ---- audits.  SH01: mystery 80 + 90, internal 70.50 (last second of May), record 100 → 340.50 / 4.
    ms1 = audit(a, AuditKind.MYSTERY_SHOPPER, "80.00", at(5, 3))
    audit(a, AuditKind.MYSTERY_SHOPPER, "90.00", at(5, 20))
    internal = audit(a, AuditKind.INTERNAL, "70.50", at(5, 31, 23, 59, 59))
    audit(a, AuditKind.RECORD_CHECK, "100.00", at(5, 10))
    audit(a, AuditKind.INTERNAL, "75.00", at(6, 1, 0, 0, 0))  # June (Q2 only)
    audit(a, AuditKind.VIDEO_CHECK, "10.00", at(5, 5), status=AuditStatus.CANCELLED)  # never counts
    audit(a, AuditKind.VIDEO_CHECK, None, None, status=AuditStatus.IN_PROGRESS)
    audit(a, AuditKind.MYSTERY_SHOPPER, "95.00", at(4, 30, 23, 59, 59))  # April (Q2 only)
    # HZ01: mystery 60.  BJ01 (another group): 50, never in g1's figures.
    hz = audit(b, AuditKind.MYSTERY_SHOPPER, "60.00", at(5, 15))
    audit(c, AuditKind.MYSTERY_SHOPPER, "50.00", at(5, 15))

    # ---- findings at the end of May (1 June 00:00 local; its day: 1 June).
    finding(ms1, at(5, 3), day(5, 31))  # open, due the last day → overdue
    finding(ms1, at(5, 20), day(6, 1))  # open, due the day after → not overdue
    finding(internal, at(5, 10), day(5, 15), closed=at(5, 31, 23))  # closed before the end
    finding(internal, at(5, 10), day(5, 12), closed=at(6, 1, 0, 0, 0))  # closed at the end: open, overdue
    finding(internal, at(6, 1, 0, 0, 0), day(6, 3))  # raised at the end: not yet
    finding(ms1, at(4, 2), day(4, 10))  # April's, still open → overdue
    finding(hz, at(5, 15), day(6, 20))  # HZ01: open, not overdue

    # ---- SOP acknowledgements at the end of May.
    g1, grace = cast.group, cast.grace
    qc = Procedure.objects.create(group=g1, step=ProcedureStep.QC, code="SOP-QC", title="QC")
    qc1 = version(qc, 1, at(4, 1), day(4, 1), grace)
    qc2 = version(qc, 2, at(5, 20), day(6, 2), grace)  # announced, effective after May: v1 not superseded
    variant = Procedure.objects.create(group=g1, store=a, step=ProcedureStep.DELIVERY, code="SOP-DL-SH01", title="D")
    dl1 = version(variant, 1, at(5, 5), day(5, 5), grace)
    booking = Procedure.objects.create(group=g1, step=ProcedureStep.BOOKING, code="SOP-BK", title="B")
    bk1 = version(booking, 1, at(4, 1), day(4, 1), grace)
    bk2 = version(booking, 2, at(4, 20), day(4, 25), grace)  # supersedes v1
    draft = ProcedureVersion.objects.create(procedure=booking, number=3, text="draft")
    alice, bob, tom, carol, mia = cast.alice, cast.bob, cast.tom, cast.carol, cast.mia
    Membership.objects.create(user=tom, group=g1, store=a, role=Role.FOREMAN)  # two roles in SH01: counted once
    ask(qc1, alice, at(4, 1), at(4, 5))  # ✓
    ask(qc1, bob, at(4, 1))  # ✗
    ask(qc1, carol, at(4, 1), at(5, 31, 23, 59, 59))  # HZ01 ✓
    ask(qc1, grace, at(4, 1), at(4, 2))  # group-wide member: no store's
    ask(qc2, alice, at(5, 20), at(6, 1, 0, 0, 0))  # ✗ (at the end: too late)
    ask(qc2, tom, at(5, 20), at(5, 21))  # ✓
    ask(qc2, carol, at(5, 20))  # HZ01 ✗
    ask(qc2, mia, at(6, 1, 0, 0, 0), at(6, 1, 9))  # asked at the end: not May's
    ask(dl1, alice, at(5, 5), at(5, 6))  # ✓
    ask(dl1, bob, at(5, 5))  # ✗
    ask(dl1, carol, at(5, 5), at(5, 6))  # SH01's variant: not HZ01's
    ask(bk1, alice, at(4, 1))  # superseded: out
    ask(bk2, bob, at(4, 20), at(4, 21))  # ✓
    Acknowledgement.objects.create(version=draft, user=alice, asked_at=at(5, 1))  # a draft asks nobody: out


# key: (value, numerator, denominator) on paper
SH01 = {
    "audit_score": ("85.13", "340.50", 4),  # 85.125 half up
    "audit_score_mystery_shopper": ("85.00", "170", 2),
    "audit_score_internal": ("70.50", "70.50", 1),
    "audit_score_record_check": ("100.00", "100", 1),
    "audit_score_video_check": (None, "0", 0),  # the cancelled one does not count
    "audit_findings_open": ("4.00", "4", 4),
    "audit_findings_overdue_percent": ("75.00", "3", 4),
    "sop_acknowledged_percent": ("57.14", "4", 7),
}
HZ01 = {
    "audit_score": ("60.00", "60", 1),
    "audit_score_mystery_shopper": ("60.00", "60", 1),
    "audit_score_internal": (None, "0", 0),
    "audit_score_record_check": (None, "0", 0),
    "audit_score_video_check": (None, "0", 0),
    "audit_findings_open": ("1.00", "1", 1),
    "audit_findings_overdue_percent": ("0.00", "0", 1),
    "sop_acknowledged_percent": ("50.00", "1", 2),
}
GROUP = {
    "audit_score": ("80.10", "400.50", 5),  # over the records, not the stores' mean
    "audit_score_mystery_shopper": ("76.67", "230", 3),
    "audit_score_internal": ("70.50", "70.50", 1),
    "audit_score_record_check": ("100.00", "100", 1),
    "audit_score_video_check": (None, "0", 0),
    "audit_findings_open": ("5.00", "5", 5),
    "audit_findings_overdue_percent": ("60.00", "3", 5),
    "sop_acknowledged_percent": ("55.56", "5", 9),
}


def _got(result: Any) -> tuple[Any, ...]:
    return (
        None if result.value is None else str(result.value),
        Decimal(str(result.numerator)).quantize(Decimal("0.01")),
        result.denominator,
    )


def _want(expected: tuple[str | None, str, int]) -> tuple[Any, ...]:
    value, numerator, denominator = expected
    return (value, Decimal(numerator).quantize(Decimal("0.01")), denominator)


def _mismatches(results: dict[str, Any], expected: dict[str, tuple[str | None, str, int]]) -> dict[str, Any]:
    return {
        key: (_got(results[key]), _want(want)) for key, want in expected.items() if _got(results[key]) != _want(want)
    }


@pytest.mark.django_db
def test_each_figure_of_a_hand_built_may(cast: Any, django_assert_max_num_queries: Any) -> None:
    build(cast)
    with django_assert_max_num_queries(3 + 1 + len(KEYS)):  # settings and weights, snapshots, one per KPI
        store_a = kpi_figures(scope_for_store(cast.store_a), MAY, keys=KEYS, now=NOW)
    assert _mismatches(store_a, SH01) == {}
    assert _mismatches(kpi_figures(scope_for_store(cast.store_b), MAY, keys=KEYS, now=NOW), HZ01) == {}
    group = kpi_figures(scope_for_group(cast.group), MAY, keys=KEYS, now=NOW)
    assert _mismatches(group, GROUP) == {}
    # Targets and status: score 85 (amber band 5 points), overdue ≤ 0 %, acknowledgement 95 %.
    assert (store_a["audit_score"].target, store_a["audit_score"].status) == (Decimal("85"), "green")
    assert group["audit_score"].status == "amber"  # 80.10 ≥ 80
    assert kpi_figures(scope_for_store(cast.store_b), MAY, keys=["audit_score"], now=NOW)["audit_score"].status == (
        "red"
    )
    assert store_a["audit_findings_overdue_percent"].status == "red"
    assert group["sop_acknowledged_percent"].status == "red"
    assert store_a["audit_findings_open"].status is None  # a count: its trend only


@pytest.mark.django_db
def test_a_quarter_and_a_month_without_records(cast: Any) -> None:
    build(cast)
    q2 = kpi_figures(scope_for_store(cast.store_a), Q2, keys=KEYS, now=NOW)
    # April's 95 and June's 75 join May's four: 510.50 / 6.
    assert _got(q2["audit_score"]) == _want(("85.08", "510.50", 6))
    assert _got(q2["audit_score_internal"]) == _want(("72.75", "145.50", 2))
    # At the quarter's end (1 July): 3 May's, 20 May's, April's and the one raised on 1 June (the one closed at
    # 1 June 00:00 is closed by then), all four past their due day.
    assert _got(q2["audit_findings_open"]) == _want(("4.00", "4", 4))
    assert _got(q2["audit_findings_overdue_percent"]) == _want(("100.00", "4", 4))
    march = kpi_figures(scope_for_store(cast.store_a), Period.parse("2026-03"), keys=KEYS, now=NOW)
    assert march["audit_score"].value is None
    assert _got(march["audit_findings_open"]) == _want(("0.00", "0", 0))  # a count of none is 0, not null
    assert march["sop_acknowledged_percent"].value is None


@pytest.mark.django_db
def test_a_running_period_is_judged_now(cast: Any) -> None:
    """While May runs (20 May 12:00): findings open now, overdue when their due day has ended before today."""
    build(cast)
    now = at(5, 20, 12)
    found = kpi_figures(scope_for_store(cast.store_a), MAY, keys=KEYS, now=now)
    # Raised before now and open now: 3 May (due 31 May), 10 May ×2 (due 15 and 12 May), 2 April (due 10 April);
    # the one raised at 10:00 on 20 May counts too (before 12:00).  Overdue: due 15 May, 12 May, 10 April.
    assert _got(found["audit_findings_open"]) == _want(("5.00", "5", 5))
    assert _got(found["audit_findings_overdue_percent"]) == _want(("60.00", "3", 5))
    # Acknowledgements by now: qc1 alice ✓ bob ✗, qc2 (asked 10:00) alice ✗ tom ✗, dl1 alice ✓ bob ✗, bk2 bob ✓.
    assert _got(found["sop_acknowledged_percent"]) == _want(("42.86", "3", 7))


@pytest.mark.django_db
def test_by_store_equals_each_store_and_the_drilldown_agrees(cast: Any, django_assert_max_num_queries: Any) -> None:
    build(cast)
    scope = scope_for_group(cast.group)
    with django_assert_max_num_queries(4 + 1 + len(KEYS)):
        by_store = kpi_figures_by_store(scope, MAY, keys=KEYS, now=NOW)
    for store, expected in ((cast.store_a, SH01), (cast.store_b, HZ01)):
        assert _mismatches(by_store[store.pk], expected) == {}
    store = scope_for_store(cast.store_a)
    audits = kpi_drilldown("audit_score", store, MAY, now=NOW)
    assert sorted(audits.values_list("score", flat=True)) == [Decimal(s) for s in ("70.50", "80.00", "90.00", "100.00")]
    assert all(label.startswith(f"AUD-{pk:06d} · ") for pk, label in audits.values_list("pk", "drill_label"))
    findings = kpi_drilldown("audit_findings_open", store, MAY, now=NOW)
    assert sorted(findings.values_list("meets", flat=True)) == [False, True, True, True]
    acks = kpi_drilldown("sop_acknowledged_percent", store, MAY, now=NOW)
    assert acks.count() == 7 and sorted(acks.values_list("meets", flat=True)) == [False] * 3 + [True] * 4
    assert "SOP-DL-SH01 v1 · alice" in set(acks.values_list("drill_label", flat=True))


@pytest.mark.django_db
def test_the_cli_and_the_api_carry_them(cast: Any, api_token: Any, client: Any, time_machine: Any) -> None:
    build(cast)
    time_machine.move_to(NOW)
    out = StringIO()
    with translation.override("en"):
        call_command("kpi", "--store", "SH01", "--period", "2026-05", "--json", stdout=out)
    cli = json.loads(out.getvalue())
    assert set(KEYS) <= set(cli["kpis"])
    assert cli["kpis"]["audit_score"] == {
        "value": 85.13,
        "numerator": 340.5,
        "denominator": 4,
        "target": 85.0,
        "status": "green",
    }
    assert cli["kpis"]["audit_findings_open"]["value"] == 4.0
    response = client.get(
        "/api/v1/kpis", {"store": "SH01", "period": "2026-05"}, HTTP_ACCEPT_LANGUAGE="en", **api_token(cast.mia)
    )
    assert response.status_code == 200, response.content
    assert response.json() == cli


def test_every_key_is_in_the_catalogue_order() -> None:
    from aftersales.analytics.kpis import ORDER

    assert set(KEYS) <= set(ORDER)


# ---------------------------------------------------------------------------------------------- the pages


def _get(client: Any, user: Any, url: str, **params: Any) -> Any:
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client.get(url, params)


@pytest.mark.django_db
def test_the_group_audit_comparison(cast: Any, client: Any, time_machine: Any) -> None:
    import re

    from django.urls import reverse

    build(cast)
    time_machine.move_to(NOW)
    url = reverse("analytics:audit-comparison")
    response = _get(client, cast.grace, url, period="2026-05")
    assert response.status_code == 200
    html = response.content.decode()
    # Ranked by the overall mean score: SH01 85.13 (green) before HZ01 60.00 (red).
    assert re.findall(r'<tr data-store="(\w+)" data-status="(\w*)"', html) == [("SH01", "green"), ("HZ01", "red")]
    assert 'id="audit-heatmap-chart"' in html and 'id="audit-ranking-chart"' in html
    assert "/numbers/kpi/audit_score_mystery_shopper/?period=2026-05\\u0026store=HZ01" in html  # a cell opens
    group_row = re.search(r'id="audit-group-row">(.*?)</tr>', html, re.S)
    assert group_row and "80.10" in group_row.group(1) and "55.56%" in group_row.group(1)
    assert "北京店" not in html  # another group's store
    # The default period is the current quarter; the group dashboard links here.
    assert 'data-period="2026-Q3"' in _get(client, cast.grace, url).content.decode()
    group_page = _get(client, cast.grace, reverse("analytics:group-dashboard"), period="2026-05").content.decode()
    assert 'id="to-audits"' in group_page
    # The audits section of the dashboards: the store's tiles and the group's heat map.
    dashboard = _get(client, cast.mia, reverse("analytics:dashboard"), period="2026-05").content.decode()
    assert "Audits and standards" in dashboard and "kpi-sop_acknowledged_percent" in dashboard


@pytest.mark.django_db
def test_who_may_compare_and_bad_input(cast: Any, client: Any) -> None:
    from django.urls import reverse

    url = reverse("analytics:audit-comparison")
    assert _get(client, cast.mia, url).status_code == 403  # a store manager
    assert _get(client, cast.alice, url).status_code == 403
    assert _get(client, cast.grace, url, group="g2").status_code == 404  # another group's
    bad = _get(client, cast.grace, url, period="2026-13")
    assert bad.status_code == 400 and "period" in bad.content.decode()


@pytest.mark.django_db
def test_the_comparison_query_count_is_bounded(cast: Any, client: Any, django_assert_max_num_queries: Any) -> None:
    from django.urls import reverse

    from aftersales.config.testing import make_store

    build(cast)
    client.force_login(cast.grace)
    url = reverse("analytics:audit-comparison")
    with django_assert_max_num_queries(45) as before:
        client.get(url, {"period": "2026-Q2"})
    for code in ("NJ01", "SZ01", "WX01"):  # more stores, more audits: the same number of queries
        store = make_store(cast.group, code, code)
        for score in ("70.00", "88.00"):
            audit(store, AuditKind.INTERNAL, score, at(5, 9))
    with django_assert_max_num_queries(len(before.captured_queries)):
        assert client.get(url, {"period": "2026-Q2"}).status_code == 200


# ---------------------------------------------------------------------------------------------- the monthly report


@pytest.mark.django_db
def test_the_monthly_report_has_an_audits_section(
    cast: Any, settings: Any, tmp_path: Any, time_machine: Any, django_capture_on_commit_callbacks: Any
) -> None:
    import openpyxl
    from pypdf import PdfReader

    from aftersales.analytics.models import ReportStatus
    from aftersales.analytics.reports import services

    settings.MEDIA_ROOT = tmp_path / "media"
    build(cast)
    time_machine.move_to(NOW, tick=False)

    def produce(fmt: str) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            run = services.report_request(
                user=cast.mia, store=cast.store_a, period="2026-05", format=fmt, language="en"
            )
        run.refresh_from_db()
        assert run.status == ReportStatus.DONE, run.error
        return run

    book = openpyxl.load_workbook(produce("xlsx").file.path, read_only=True)
    summary = list(book["Summary"].iter_rows(values_only=True))
    headings = summary[4]
    by_key = {row[headings.index("Key")]: row for row in summary[5:] if row[headings.index("Key")]}
    score = by_key["audit_score"]  # audits submitted = its denominator
    assert (score[headings.index("Value")], score[headings.index("Denominator")]) == (85.13, 4)
    assert by_key["audit_score_mystery_shopper"][headings.index("Value")] == 85
    assert by_key["audit_findings_open"][headings.index("Value")] == 4
    assert by_key["audit_findings_overdue_percent"][headings.index("Value")] == 75
    assert by_key["sop_acknowledged_percent"][headings.index("Value")] == 57.14
    rows = list(book["Audits and standards"].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] and str(r[0]).startswith("Audit score:"))
    records = []
    for r in rows[start + 2 :]:
        if r[0] is None:
            break
        records.append(r)
    assert len(records) == 4  # the four audits submitted in May
    text = "".join(page.extract_text() for page in PdfReader(produce("pdf").file.path).pages)
    assert "Audits and standards" in text and "Audit score: mystery shopper" in text and "SOP acknowledgement" in text
