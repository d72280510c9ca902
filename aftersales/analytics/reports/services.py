"""Reports: a request queues a run (permission-checked, input checked field by field), the worker produces it
(`report_produce`, recording its progress step by step and its failure with a message), and a daily job makes last
month's reports of the stores (and groups) that ask for it and sends them to their managers.

The run row is the state, never the task: a task delivered twice produces once (the run is claimed with a
conditional UPDATE), and a run that failed stays failed with its message for the person who asked."""

from __future__ import annotations

import copy
import datetime as dt
import logging
import os
import tempfile
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.analytics import selectors
from aftersales.analytics.catalogue import Scope
from aftersales.analytics.models import ReportFormat, ReportRun, ReportStatus
from aftersales.analytics.periods import Period, PeriodError
from aftersales.analytics.reports import content as report_content
from aftersales.analytics.reports import pdf, xlsx
from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.scoping import store_ids_where
from aftersales.notifications.services import staff_notify
from aftersales.organisation.choices import Role
from aftersales.organisation.models import DealerGroup, Membership, Store
from aftersales.organisation.permissions import Capability
from aftersales.organisation.selectors import setting_values_for_group, setting_values_for_store

logger = logging.getLogger("aftersales.analytics.reports")

SEND_SETTING = "kpi_report_monthly_send"  # organisation.settings_catalogue: 1 sends last month's reports
SEND_WITHIN_DAYS = 7  # the daily job makes last month's reports during the first week of a month only
REFUSED = gettext_lazy("Your role may not do this.")
NEEDS_ONE_SCOPE = gettext_lazy("Choose a store or the whole group.")
UNKNOWN_FORMAT = gettext_lazy("A report is XLSX or PDF.")
UNKNOWN_LANGUAGE = gettext_lazy("A report is written in Chinese or English.")
NOT_BEGUN = gettext_lazy("This period has not begun yet.")
CONTENT_TYPES = {
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ReportFormat.PDF: "application/pdf",
}


# ------------------------------------------------------------------------------------------------- scope


def group_store_ids(group: DealerGroup) -> frozenset[int]:
    return frozenset(Store.objects.filter(group=group).values_list("pk", flat=True))


def may_view(user: Any, *, store_id: int | None, group: DealerGroup) -> bool:
    """A store's report: VIEW_KPIS in that store.  A group's: VIEW_KPIS in every store of the group (its figures
    are computed over all of them — a store manager does not read the sister stores' records)."""
    allowed = store_ids_where(user, Capability.VIEW_KPIS)
    if store_id is not None:
        return store_id in allowed
    stores = group_store_ids(group)
    return bool(stores) and stores <= allowed


def run_store_ids(run: ReportRun) -> frozenset[int]:
    """The stores whose records the run's file holds."""
    return frozenset({run.store_id}) if run.store_id is not None else group_store_ids(run.group)


def may_download(user: Any, *, run: ReportRun) -> bool:
    """The figures' right (`may_view`), and, for a file holding plates in full, SEE_PLATES in each of its stores:
    masking follows the requester, so a file made for one reader is not handed to another who may not see them."""
    if not may_view(user, store_id=run.store_id, group=run.group):
        return False
    return not run.plates_in_full or run_store_ids(run) <= store_ids_where(user, Capability.SEE_PLATES)


def _scope_of(run: ReportRun) -> Scope:
    return selectors.scope_for_store(run.store) if run.store is not None else selectors.scope_for_group(run.group)


def _title_of(run: ReportRun) -> str:
    return f"{run.store.code} {run.store.name}" if run.store is not None else run.group.name


# ------------------------------------------------------------------------------------------------ request


def report_request(
    *,
    user: Any,
    period: str,
    format: str,  # noqa: A002 - the field's name in the model and the form
    language: str,
    store: Store | None = None,
    group: DealerGroup | None = None,
) -> ReportRun:
    """Queue a report of a store or of a whole group.  Refused (PermissionDenied) without VIEW_KPIS over the
    scope; bad input raises ValidationError naming the field.  An identical run still queued or being produced
    is returned instead of a second one (a double click makes one file)."""
    errors: dict[str, list[str]] = {}
    if (store is None) == (group is None):
        errors["store"] = [str(NEEDS_ONE_SCOPE)]
    try:
        parsed = Period.parse(period)
        if parsed.start > clock.now():
            errors["period"] = [str(NOT_BEGUN)]
    except PeriodError as exc:
        errors["period"] = [str(exc)]
    if format not in ReportFormat.values:
        errors["format"] = [str(UNKNOWN_FORMAT)]
    if language not in {code for code, _name in settings.LANGUAGES}:
        errors["language"] = [str(UNKNOWN_LANGUAGE)]
    if "store" not in errors:
        scope_group = store.group if store is not None else group
        assert scope_group is not None
        if not may_view(user, store_id=store.pk if store is not None else None, group=scope_group):
            raise PermissionDenied(str(REFUSED))
    if errors:
        raise ValidationError(errors)
    return _queue(
        group=store.group if store is not None else group,  # type: ignore[arg-type]
        store=store,
        period=str(parsed),
        format=format,
        language=language,
        requested_by=user,
    )


@transaction.atomic
def _queue(
    *, group: DealerGroup, store: Store | None, period: str, format: str, language: str, requested_by: Any
) -> ReportRun:
    same = ReportRun.objects.filter(
        group=group,
        store=store,
        period=period,
        format=format,
        language=language,
        requested_by=requested_by,
        status__in=[ReportStatus.QUEUED, ReportStatus.RUNNING],
    ).first()
    if same is not None:
        return same
    run = ReportRun(
        group=group, store=store, period=period, format=format, language=language, requested_by=requested_by
    )
    run.full_clean(exclude=["file"])
    run.save()
    run_id = run.pk
    transaction.on_commit(lambda: _hand_to_worker(run_id))
    return run


def _hand_to_worker(run_id: int) -> None:
    """Queue the task; tests run it right here (Huey's immediate mode)."""
    from aftersales.analytics.tasks import report_produce_task  # tasks import services, not the reverse

    try:
        report_produce_task(run_id)
    except Exception:  # the queue is down: the run stays queued and says so on the page
        logger.exception("report #%s: hand-off to the worker failed", run_id)


# ------------------------------------------------------------------------------------------------ produce


def _progress(run_id: int) -> Any:
    last = {"percent": -1}

    def report(percent: int, step: Any) -> None:
        percent = max(1, min(int(percent), 99))  # 100 only with the file saved
        if percent == last["percent"] and not step:
            return
        last["percent"] = percent
        # updated_at is the run's heartbeat (`reports_sweep` fails a run whose worker stopped beating)
        ReportRun.objects.filter(pk=run_id).update(progress=percent, step=str(step)[:120], updated_at=clock.now())

    return report


def _see_plates(run: ReportRun, scope: Scope) -> bool:
    """Plates in full only for a person holding SEE_PLATES in every store of the report (the monthly run,
    asked by no one, masks them)."""
    if run.requested_by is None:
        return False
    return scope.store_ids <= store_ids_where(run.requested_by, Capability.SEE_PLATES)


def report_produce(*, run_id: int, now: dt.datetime | None = None) -> ReportRun | None:
    """The worker's job: claim the queued run, compute, write the file to the default storage, mark it ready
    (progress 100).  Any failure is recorded on the run with its message.  None when the run was not queued
    (already taken by another worker, or done)."""
    claimed = ReportRun.objects.filter(pk=run_id, status=ReportStatus.QUEUED).update(
        status=ReportStatus.RUNNING, progress=1, step="", error="", updated_at=clock.now()
    )
    if not claimed:
        return None
    run = ReportRun.objects.select_related("store", "group", "requested_by").get(pk=run_id)
    progress = _progress(run_id)
    moment = now or clock.now()
    try:
        with translation.override(run.language), tempfile.TemporaryDirectory(prefix="kpi-report-") as folder:
            scope = _scope_of(run)
            period = Period.parse(run.period)
            path = os.path.join(folder, f"report.{run.format}")
            is_pdf = run.format == ReportFormat.PDF
            content = report_content.gather(
                scope,
                period,
                title=_title_of(run),
                now=moment,
                trends=is_pdf,
                progress=progress,
                span=(2, 70 if is_pdf else 25),
            )
            if is_pdf:
                pdf.write_pdf(content, path, language=run.language, progress=progress, span=(70, 95))
            else:
                run.plates_in_full = _see_plates(run, scope)
                xlsx.write_xlsx(
                    content,
                    path,
                    see_plates=run.plates_in_full,
                    progress=progress,
                    span=(25, 95),
                    # A group's report carries no customer's name (SPEC §10): a pseudonym, salted per run.
                    pseudonym_salt=f"run-{run.pk}" if run.store_id is None else None,
                )
            progress(97, _("Saving the file"))
            with open(path, "rb") as handle:
                run.file.save(_file_name(run), File(handle), save=False)
            run.status = ReportStatus.DONE
            run.progress = 100
            run.step = _("Ready")
            run.finished_at = clock.now()
            run.save(
                update_fields=["file", "status", "progress", "step", "finished_at", "plates_in_full", "updated_at"]
            )
    except Exception as exc:
        logger.exception("report #%s failed", run_id)
        message = f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
        ReportRun.objects.filter(pk=run_id).update(
            status=ReportStatus.FAILED, error=message[:300], finished_at=clock.now()
        )
        run.refresh_from_db()
        return run
    return run


# A running report beats (progress) at least every few seconds; one silent this long lost its worker (restarted,
# killed), and a queued one this old was never handed over (the queue was down when it was requested).
STALLED_AFTER = dt.timedelta(minutes=30)
UNCLAIMED_AFTER = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class SweepResult:
    failed: int
    handed_again: int


def reports_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    """Every 10 minutes: a run still "being produced" with no progress for `STALLED_AFTER` is marked failed
    with the reason (so its requester sees it and a new request is not answered with the dead run), and a run
    still queued after `UNCLAIMED_AFTER` is handed to the worker again (claiming is conditional: a run taken
    meanwhile is not produced twice)."""
    now = now or clock.now()
    failed = 0
    stalled = ReportRun.objects.filter(status=ReportStatus.RUNNING, updated_at__lt=now - STALLED_AFTER)
    for run_id, language in stalled.values_list("pk", "language"):
        with translation.override(language):  # the requester reads the reason in the report's language
            message = _("The worker stopped while producing this report; request it again.")
        # conditional: a run that beat again since it was read is left alone
        failed += stalled.filter(pk=run_id).update(
            status=ReportStatus.FAILED, error=message[:300], finished_at=now, updated_at=now
        )
    waiting = list(
        ReportRun.objects.filter(status=ReportStatus.QUEUED, created_at__lt=now - UNCLAIMED_AFTER).values_list(
            "pk", flat=True
        )
    )
    for run_id in waiting:
        _hand_to_worker(run_id)
    return SweepResult(failed=failed, handed_again=len(waiting))


def _file_name(run: ReportRun) -> str:
    scope = run.store.code if run.store is not None else f"group-{run.group.code}"
    return f"kpi-report-{scope}-{run.period}-{run.language}.{run.format}"


# ------------------------------------------------------------------------------------------------ download


def report_file_for_user(*, user: Any, run: ReportRun) -> tuple[Any, str, str]:
    """(open file, download name, content type) of a ready run the user may read (`may_download`);
    PermissionDenied otherwise.  Each download is audited (who took which store's records, plates in full or
    not)."""
    if not may_download(user, run=run):
        raise PermissionDenied(str(REFUSED))
    if run.status != ReportStatus.DONE or not run.file:
        raise ValidationError({"file": [_("This report is not ready.")]})
    handle = run.file.open("rb")
    audit_record(
        actor=user,
        action="report.download",
        obj=run,
        store_id=run.store_id,
        changes={
            "period": run.period,
            "format": run.format,
            "scope": run.store.code if run.store is not None else f"group:{run.group.code}",
            "plates_in_full": run.plates_in_full,
        },
    )
    return handle, _file_name(run), CONTENT_TYPES[ReportFormat(run.format)]


# ------------------------------------------------------------------------------------------------ monthly


@dataclass
class MonthlyResult:
    queued: int = 0
    sent: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"queued": self.queued, "sent": self.sent}


def reports_monthly(*, now: dt.datetime | None = None) -> MonthlyResult:
    """Daily in a month's first week: last month's PDF and XLSX of every active store whose setting asks for it
    (store override → group value), and of every group whose own setting asks for it; then tell the managers of
    each run that is ready and not yet sent.  Idempotent: a run made by this job (no requester) for the same
    store, period and format is never made twice, and `sent_to_managers` is claimed before sending."""
    moment = now or clock.now()
    result = MonthlyResult()
    today = timezone.localtime(moment).date()
    period = Period.containing(today).previous()
    if today.day <= SEND_WITHIN_DAYS:
        for group in DealerGroup.objects.order_by("pk"):
            if int(setting_values_for_group(group).get(SEND_SETTING, 0)):
                result.queued += _queue_monthly(group=group, store=None, period=period)
            for store in Store.objects.filter(group=group, is_active=True).order_by("code"):
                if int(setting_values_for_store(store).get(SEND_SETTING, 0)):
                    result.queued += _queue_monthly(group=group, store=store, period=period)
    ready = ReportRun.objects.filter(
        requested_by__isnull=True, status=ReportStatus.DONE, sent_to_managers=False
    ).select_related("store", "group")
    for run in ready:
        result.sent += report_send(run=run)
    return result


def _queue_monthly(*, group: DealerGroup, store: Store | None, period: Period) -> int:
    made = 0
    for fmt in (ReportFormat.PDF, ReportFormat.XLSX):
        exists = ReportRun.objects.filter(
            group=group, store=store, period=str(period), format=fmt, requested_by__isnull=True
        ).exists()
        if not exists:
            _queue(group=group, store=store, period=str(period), format=fmt, language="zh-hans", requested_by=None)
            made += 1
    return made


def _managers(run: ReportRun) -> list[Any]:
    """A store's report goes to its active store managers; a group's to the group's active managers."""
    if run.store is not None:
        memberships = Membership.objects.filter(store=run.store, role=Role.MANAGER)
    else:
        memberships = Membership.objects.filter(group=run.group, store__isnull=True, role=Role.GROUP_MANAGER)
    seen: dict[int, Any] = {}
    for membership in memberships.filter(user__is_active=True).select_related("user").order_by("user_id"):
        seen.setdefault(membership.user_id, membership.user)
    return list(seen.values())


def report_send(*, run: ReportRun) -> int:
    """Tell the managers a monthly report is ready: an inbox item with the download link, and an e-mail to each
    who has an address (notifications.staff_notify).  Claimed first, so a second sweep sends nothing."""
    if not ReportRun.objects.filter(pk=run.pk, sent_to_managers=False, status=ReportStatus.DONE).update(
        sent_to_managers=True
    ):
        return 0
    # A group's report lands in the group managers' inbox, which needs a store: an active one of the group, and
    # it is not posted to that store's WeCom robot, whose readers are the store's staff (as analytics.warnings).
    inbox_store = run.store or Store.objects.filter(group=run.group, is_active=True).order_by("code").first()
    if inbox_store is None:
        logger.warning("report #%s: no active store of group %s to deliver it through", run.pk, run.group_id)
        return 0
    if run.store is None:
        inbox_store = copy.copy(inbox_store)
        inbox_store.wecom_webhook_url = ""
    path = reverse("analytics:report-download", args=[run.pk])
    link = f"{getattr(settings, 'PUBLIC_BASE_URL', '').rstrip('/')}{path}"
    text = format_lazy(
        gettext_lazy("The {format} KPI report of {scope} for {period} is ready: {link}"),
        format=run.format.upper(),
        scope=_title_of(run),
        period=run.period,
        link=link,
    )
    return staff_notify(
        store=inbox_store,
        users=_managers(run),
        template="staff_alert",
        context={"text": text},
        dedupe_key=f"kpi-report:{run.pk}",
        related=run,
        url=path,
    )
