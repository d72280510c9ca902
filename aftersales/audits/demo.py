"""The audits of the demo (issue 16): a quarter of audits of every kind for every store, planned by the quality
department and done through the audits services — two mystery-shopper contacts per store (a visit and a phone
call, by the external shopper), a quarterly internal audit, record spot checks of a random sample of a month's
delivered orders and a video spot check — with their findings (most put right, some still open, one overdue), a
CAPA opened from two alike findings of the first store, and next month's mystery shopper still planned.

The quarter is the current one once it is six weeks old, else the one before (so the comparison always has a
quarter's worth).  Everything goes through the services (checks, scores, findings, inbox); the services stamp
"now", so the times are then set back to the demo's days explicitly (as the SOP library's demo does), and a run
with a fixed --today gives the same data.  Stores differ in how well they follow their SOPs (the first one best),
so the group's audit comparison has something to show."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from aftersales.audits import services
from aftersales.audits.choices import AnswerResult, AuditKind, FindingStatus, MysteryChannel
from aftersales.audits.defaults import VISIT_ONLY_STEPS
from aftersales.audits.models import (
    Audit,
    AuditAnswer,
    AuditChecklist,
    AuditPhoto,
    AuditPlan,
    Finding,
    SpotCheckSample,
)
from aftersales.organisation.models import Store
from aftersales.organisation.selectors import setting_values_for_store

FAIL_NOTES = {
    AuditKind.MYSTERY_SHOPPER: ("顾问未主动说明", "等候超过约定时间", "未按要求执行，客户需追问"),
    AuditKind.INTERNAL: ("现场抽查不符合", "记录缺失，班组长补登", "看板未更新"),
    AuditKind.RECORD_CHECK: ("工单缺少照片", "增项未留客户确认记录", "批次号未录入"),
    AuditKind.VIDEO_CHECK: ("录像中未见环车检查", "交车时未讲解作业内容", "录像中未铺三件套"),
}
CLOSE_NOTES = ("已培训相关人员并复查", "已补齐记录，班组长每日抽查", "已调整流程并在晨会宣贯")


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _quarter_of(today: dt.date) -> tuple[int, int, dt.date, dt.date]:
    """(year, quarter, first day, last day to use): the current quarter up to yesterday once it is 45 days old,
    else the whole quarter before."""
    first = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    if (today - first).days >= 45:
        return today.year, (first.month - 1) // 3 + 1, first, today - dt.timedelta(days=1)
    last = first - dt.timedelta(days=1)
    previous = dt.date(last.year, 3 * ((last.month - 1) // 3) + 1, 1)
    return previous.year, (previous.month - 1) // 3 + 1, previous, last


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def _day_in(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))


def _answers(rng: random.Random, audit_kind: str, checklist: AuditChecklist, level: float, phone: bool) -> list[dict]:
    """Each item passed with probability `level` (a weak store fails more), n.a. where a phone call cannot see
    it, a failed item with its note."""
    answers = []
    for item in checklist.items.order_by("position", "pk"):
        if phone and item.allows_na and item.step in VISIT_ONLY_STEPS:
            result, note = AnswerResult.NA, "电话暗访不涉及"
        elif rng.random() < level:
            result, note = AnswerResult.PASS, ""
        else:
            result, note = AnswerResult.FAIL, rng.choice(FAIL_NOTES[AuditKind(audit_kind)])
        answers.append({"item": item.pk, "result": result, "note": note})
    return answers


def _backdate(audit: Audit, performed: dt.datetime, finding_days: int) -> None:
    """The audit done at `performed` (planned a fortnight before, submitted an hour after) and its findings raised
    then, due `audit_finding_days` later."""
    submitted = performed + dt.timedelta(hours=1)
    Audit.objects.filter(pk=audit.pk).update(
        performed_at=performed,
        submitted_at=submitted,
        created_at=performed - dt.timedelta(days=14),
        updated_at=submitted,
    )
    due = timezone.localdate(submitted) + dt.timedelta(days=finding_days)
    Finding.objects.filter(audit=audit).update(created_at=submitted, updated_at=submitted, due_date=due)


def _fill(
    *,
    audit: Audit,
    by: Any,
    rng: random.Random,
    level: float,
    performed: dt.datetime,
    channel: str = "",
    summary: str = "",
) -> Audit:
    """The planned audit started, answered item by item and submitted by its auditor (the phone form's path)."""
    services.audit_start(audit=audit, by=by)
    phone = channel == MysteryChannel.PHONE
    items = {item.pk: item for item in audit.checklist.items.all()}
    for answer in _answers(rng, audit.kind, audit.checklist, level, phone):
        services.audit_answer(
            audit=audit, by=by, item=items[answer["item"]], result=answer["result"], note=answer["note"]
        )
    return services.audit_submit(audit=audit, by=by, channel=channel, summary=summary)


def seed_audits(*, rng: random.Random, stores: list[Store], users: dict[str, Any], today: dt.date) -> dict[str, int]:
    """A quarter of audits of every kind for every store with their findings and one CAPA (see the module's
    text).  Returns counts for the seed's summary."""
    first_store = stores[0]
    group = first_store.group
    quality, shopper = users["quality"], users["shopper"]
    checklists = {c.kind: c for c in services.checklists_install_defaults(group=group)}
    year, quarter, start, end = _quarter_of(today)
    plan = services.plan_for_quarter(by=quality, group=group, year=year, quarter=quarter)
    months = _months(start, end)
    # How well each store follows its SOPs: the first one best, the others spread below it.
    levels = {store.pk: 0.93 if index == 0 else rng.uniform(0.7, 0.9) for index, store in enumerate(stores)}
    done: list[Audit] = []
    for store in stores:
        level = levels[store.pk]
        finding_days = int(setting_values_for_store(store)["audit_finding_days"])
        # Mystery shopper: a phone call in the first month, a visit in the second.
        for channel, month in (
            (MysteryChannel.PHONE, months[0]),
            (MysteryChannel.VISIT, months[min(1, len(months) - 1)]),
        ):
            day = _day_in(rng, month, min(end, (month + dt.timedelta(days=27))))
            audit = services.audit_plan(
                by=quality,
                store=store,
                kind=AuditKind.MYSTERY_SHOPPER,
                checklist=checklists[AuditKind.MYSTERY_SHOPPER],
                auditor=shopper,
                plan=plan,
            )
            performed = _at(day, rng.choice((10, 11, 14, 15)), rng.randint(0, 59))
            audit = _fill(audit=audit, by=shopper, rng=rng, level=level - 0.04, performed=performed, channel=channel)
            _backdate(audit, performed, finding_days)
            done.append(audit)
        # The quarterly internal audit, by the quality department, in the quarter's second half.
        day = _day_in(rng, start + (end - start) // 2, end)
        audit = services.audit_plan(
            by=quality, store=store, kind=AuditKind.INTERNAL, checklist=checklists[AuditKind.INTERNAL], plan=plan
        )
        performed = _at(day, 9, rng.randint(0, 59))
        audit = _fill(audit=audit, by=quality, rng=rng, level=level, performed=performed, summary="季度内部审核")
        _backdate(audit, performed, finding_days)
        done.append(audit)
        # Spot checks: a reproducible sample of a month's delivered orders (the seed stored), checked the month after.
        for kind, size, month in (
            (AuditKind.RECORD_CHECK, 2, months[0] - dt.timedelta(days=1)),
            (AuditKind.VIDEO_CHECK, 1, months[0]),
        ):
            sample_month = month.replace(day=1)
            try:
                sample = services.sample_draw(
                    by=quality,
                    store=store,
                    kind=kind,
                    month=sample_month,
                    size=size,
                    seed=rng.randrange(2**62),
                    plan=plan,
                )
            except ValidationError:  # the store delivered too few orders that month (a short history)
                continue
            for planned in sample.audits.order_by("pk"):
                check_day = _day_in(rng, max(start, (sample_month + dt.timedelta(days=32)).replace(day=1)), end)
                performed = _at(check_day, 16, rng.randint(0, 59))
                audit = services.audit_record(
                    by=quality,
                    store=store,
                    kind=kind,
                    checklist=checklists[kind],
                    answers=_answers(rng, kind, checklists[kind], min(0.98, level + 0.05), False),
                    order=planned.order,
                    video_reference=(
                        f"NVR-{store.code}-CAM0{rng.randint(1, 6)} {performed:%Y-%m-%d} 09:{rng.randint(10, 59)}-10:05"
                        if kind == AuditKind.VIDEO_CHECK
                        else ""
                    ),
                )
                _backdate(audit, performed, finding_days)
                done.append(audit)
        # Next mystery-shopper contact, planned (the store does not see it).
        services.audit_plan(
            by=quality,
            store=store,
            kind=AuditKind.MYSTERY_SHOPPER,
            checklist=checklists[AuditKind.MYSTERY_SHOPPER],
            auditor=shopper,
            plan=plan,
            due_date=today + dt.timedelta(days=20),
        )
    capa = _findings_handled(rng=rng, stores=stores, quality=quality, today=today)
    findings = Finding.objects.filter(audit__in=done)
    return {
        "audits": len(done),
        "findings": findings.count(),
        "findings_open": findings.filter(status=FindingStatus.OPEN).count(),
        "capa": capa,
    }


def _findings_handled(*, rng: random.Random, stores: list[Store], quality: Any, today: dt.date) -> int:
    """Most findings put right within their time; the first store's latest open one left overdue; two alike
    findings of the first store handed to a CAPA.  Returns the CAPA's id (0 when there was nothing to hand)."""
    findings = list(Finding.objects.filter(store__in=stores).select_related("owner").order_by("created_at", "pk"))
    first = stores[0]
    # The CAPA: two findings of the first store on the same item text (or the first two of its findings).
    own = [f for f in findings if f.store_id == first.pk]
    by_text: dict[str, list[Finding]] = {}
    for finding in own:
        by_text.setdefault(finding.text, []).append(finding)
    alike = next((group for group in by_text.values() if len(group) >= 2), own[:2])
    capa_id = 0
    if alike:
        capa = services.findings_open_capa(
            by=quality, findings=alike[:2], title=f"审核发现反复出现：{alike[0].text}"[:200]
        )
        capa_id = capa.pk
        # Handed to the CAPA, they are due when its action is (a month on), not on the audit's short clock.
        Finding.objects.filter(pk__in=[f.pk for f in alike[:2]]).update(due_date=today + dt.timedelta(days=30))
    overdue = next((f for f in reversed(own) if f not in alike and f.due_date < today), None)
    for finding in findings:
        if finding in alike[:2] or finding == overdue:
            continue
        raised = timezone.localdate(finding.created_at)
        if finding.due_date >= today and rng.random() < 0.5:
            continue  # still within its time: open
        services.finding_close(finding=finding, by=finding.owner or quality, resolution=rng.choice(CLOSE_NOTES))
        closed_day = min(today - dt.timedelta(days=1), raised + dt.timedelta(days=rng.randint(1, 9)))
        Finding.objects.filter(pk=finding.pk).update(
            closed_at=_at(max(raised, closed_day), 17), updated_at=_at(max(raised, closed_day), 17)
        )
    return capa_id


def flush_audits() -> None:
    """Delete the audits (the seed's --flush), before the orders, CAPAs and stores they name."""
    Finding.objects.all().delete()
    AuditPhoto.objects.all().delete()
    AuditAnswer.objects.all().delete()
    Audit.objects.all().delete()
    SpotCheckSample.objects.all().delete()
    AuditPlan.objects.all().delete()
    AuditChecklist.objects.all().delete()
