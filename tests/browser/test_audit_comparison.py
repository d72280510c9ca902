"""The group's audit comparison in a real browser, under the strict Content-Security-Policy (issue 16): the group
manager opens it from the group dashboard, the stores × kinds heat map and the ranking are drawn, the table ranks
the stores by their overall mean score, and a store's score opens the audits behind it.

The screenshots of docs/images/audit-comparison-{zh,en}.png come from this test (AFTERSALES_DOC_SCREENSHOTS=1)."""

from __future__ import annotations

import datetime as dt
import os
import random
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from aftersales.analytics.periods import LOCAL_TZ, Period
from aftersales.audits.choices import AnswerResult, AuditKind, AuditStatus, FindingStatus
from aftersales.audits.models import Audit, AuditAnswer, AuditChecklist, AuditChecklistItem, Finding
from aftersales.config.testing import make_group, make_store, make_user
from aftersales.core import clock
from aftersales.organisation.choices import Role
from aftersales.standards.choices import ProcedureStep, VersionStatus
from aftersales.standards.models import Acknowledgement, Procedure, ProcedureVersion
from tests.browser.helpers import DESKTOP, PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
STORES = (
    ("SH01", "上海浦东店", 0.93),
    ("SH02", "上海徐汇店", 0.86),
    ("HZ01", "杭州西湖店", 0.78),
    ("NJ01", "南京河西店", 0.71),
    ("SZ01", "苏州园区店", 0.83),
)
# Audits per kind and store in a quarter: two mystery-shopper contacts, the internal audit, two record checks and
# a video check (the weakest store's video check not done yet: a grey cell).
PER_KIND = {AuditKind.MYSTERY_SHOPPER: 2, AuditKind.INTERNAL: 1, AuditKind.RECORD_CHECK: 2, AuditKind.VIDEO_CHECK: 1}


@pytest.fixture
def quarter_world(transactional_db):
    """Last quarter of a five-store group: audits of every kind with scores, findings (some open, one overdue),
    SOP acknowledgements; returns the quarter."""
    rng = random.Random("audit-comparison")
    quarter = Period.containing(clock.today(), "quarter").previous()
    group = make_group("demo", "华东汽车服务集团")
    boss = make_user("group", Role.GROUP_MANAGER, group=group)
    boss.set_password(PASSWORD)
    boss.save()
    checklists = {
        kind: AuditChecklist.objects.create(group=group, kind=kind, title=str(kind)) for kind in AuditKind.values
    }
    qc = Procedure.objects.create(group=group, step=ProcedureStep.QC, code="SOP-QC", title="质检")
    published = dt.datetime.combine(quarter.first_day, dt.time(9), tzinfo=LOCAL_TZ)
    version = ProcedureVersion.objects.create(
        procedure=qc,
        number=2,
        status=VersionStatus.PUBLISHED,
        text="…",
        effective_from=quarter.first_day,
        published_at=published,
        approver=boss,
    )
    for code, name, level in STORES:
        store = make_store(group, code, name)
        for kind, count in PER_KIND.items():
            if code == "NJ01" and kind == AuditKind.VIDEO_CHECK:
                continue
            for _n in range(count):
                day = quarter.first_day + dt.timedelta(days=rng.randint(3, 85))
                submitted = dt.datetime.combine(day, dt.time(15), tzinfo=LOCAL_TZ)
                score = Decimal(str(round(min(100.0, rng.gauss(level * 100, 5)), 2)))
                audit = Audit.objects.create(
                    store=store,
                    kind=kind,
                    checklist=checklists[kind],
                    status=AuditStatus.SUBMITTED,
                    score=score,
                    submitted_at=submitted,
                )
                if score < 85:
                    item = AuditChecklistItem.objects.create(checklist=checklists[kind], text="未按标准执行")
                    answer = AuditAnswer.objects.create(audit=audit, item=item, result=AnswerResult.FAIL)
                    closed = rng.random() < 0.6
                    Finding.objects.create(
                        audit=audit,
                        answer=answer,
                        store=store,
                        text=item.text,
                        due_date=day + dt.timedelta(days=14),
                        created_at=submitted,
                        status=FindingStatus.CLOSED if closed else FindingStatus.OPEN,
                        closed_at=submitted + dt.timedelta(days=5) if closed else None,
                    )
        for index in range(6):
            staff = make_user(f"{code.lower()}-{index}", Role.ADVISOR if index % 2 else Role.TECHNICIAN, store=store)
            acknowledged = published + dt.timedelta(days=2) if rng.random() < level else None
            Acknowledgement.objects.create(
                version=version, user=staff, asked_at=published, acknowledged_at=acknowledged
            )
    return quarter


def _keep(page, name: str, screenshot) -> None:
    if os.environ.get("AFTERSALES_DOC_SCREENSHOTS"):
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_IMAGES / f"{name}.png"), full_page=True)
    else:
        screenshot(page, name)


@pytest.mark.parametrize(
    ("locale", "lang", "title"), [("zh-CN", "zh", "审核对比"), ("en-US", "en", "Audit comparison")]
)
def test_the_group_compares_its_stores_audits(
    browser, live_server, quarter_world, screenshot, csp_violations, locale, lang, title
):
    context = browser.new_context(locale=locale, **DESKTOP)
    page = log_in(context, live_server.url, "group")
    page.goto(f"{live_server.url}/numbers/group/?period={quarter_world}")
    page.locator("#to-audits").click()
    expect(page.locator("h1")).to_contain_text(title)
    # The comparison opens on the current quarter; the period selector goes back to the audited one.
    page.goto(f"{live_server.url}/numbers/audits/?period={quarter_world}&group=demo")
    expect(page.locator("#period-current")).to_have_attribute("data-period", str(quarter_world))
    expect(page.locator("[data-chart=audit-heatmap-chart] svg")).to_be_visible()
    expect(page.locator("[data-chart=audit-ranking-chart] svg")).to_be_visible()
    rows = page.locator("#audit-table tbody tr")
    expect(rows).to_have_count(len(STORES))
    expect(rows.first).to_have_attribute("data-store", "SH01")  # the best store first
    expect(page.locator("#audit-group-row")).to_be_visible()
    _keep(page, f"audit-comparison-{lang}", screenshot)
    # A store's overall score opens the audits behind it.
    rows.first.locator("td.fw-semibold a").click()
    expect(page).to_have_url(f"{live_server.url}/numbers/kpi/audit_score/?period={quarter_world}&store=SH01")
    assert csp_violations == []
    context.close()
