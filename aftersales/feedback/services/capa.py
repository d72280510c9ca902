"""CAPA (纠正预防措施): problem → root cause → actions → verification → procedure change, as its own flow.

Guards beyond the table: acting needs the root cause and at least one action; verifying needs every action
done; closing needs the KPI with its figures before and after and the procedure change: the words of
`procedure_change`, or a drafted new version of a standard operating procedure (`capa_procedure_draft`), which the
close then approves and publishes in the same transaction (流程固化: the procedure really changes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.feedback.choices import CapaStatus, ComplaintCategory
from aftersales.feedback.models import Capa, CapaAction, CapaEvent, Complaint
from aftersales.feedback.services.common import Errors, alert, clean_choice, clean_text
from aftersales.feedback.transitions import CAPA, CAPA_EDITABLE, capa_step
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.organisation.rules import Actor, actor_user
from aftersales.standards import selectors as standards_selectors
from aftersales.standards import services as standards_services
from aftersales.standards.choices import ProcedureStep, VersionStatus
from aftersales.standards.models import ProcedureVersion

C = CapaStatus


# ------------------------------------------------------------------------------- the KPI catalogue (a hook)
# The KPI catalogue lives in analytics, a layer above: feedback may not import it.  Analytics registers, when it
# starts, the catalogue's keys with their labels and the page that verifies a CAPA from the catalogue.
@dataclass(frozen=True)
class KpiCatalogue:
    labels: Callable[[], Mapping[str, Any]]  # key → label (lazy text)
    verify_url: Callable[[int], str]  # CAPA id → the page computing its figures before and after


_CATALOGUE: list[KpiCatalogue] = []


def capa_kpi_catalogue_register(*, labels: Callable[[], Mapping[str, Any]], verify_url: Callable[[int], str]) -> None:
    _CATALOGUE[:] = [KpiCatalogue(labels=labels, verify_url=verify_url)]


def capa_kpi_labels() -> Mapping[str, Any]:
    """The catalogue's KPIs (key → label); empty when analytics is not installed."""
    return _CATALOGUE[0].labels() if _CATALOGUE else {}


def capa_kpi_verify_url(capa: Capa) -> str:
    return _CATALOGUE[0].verify_url(capa.pk) if _CATALOGUE else ""


def _catalogue_key(errors: Errors, field: str, value: Any) -> str:
    if not isinstance(value, str) or value not in capa_kpi_labels():
        errors.add(field, _("Choose a KPI of the catalogue."))
        return ""
    return value


def _is_catalogue_name(name: str) -> bool:
    """Whether a typed KPI name is one of the catalogue's (in either language)."""
    typed = name.strip().casefold()
    for label in capa_kpi_labels().values():
        for language in ("en", "zh-hans"):
            with translation.override(language):
                if str(label).strip().casefold() == typed:
                    return True
    return False


INVALID_MOVE = gettext_noop("A CAPA cannot go from “{old}” to “{new}”.")
NOT_EDITABLE = gettext_noop("A closed CAPA cannot be changed.")
FROM_CATALOGUE = gettext_noop(
    "This KPI is in the catalogue: its figures before and after are computed on the verification page, not typed."
)
NOT_VERIFYING = gettext_noop("The effect is verified once every corrective action is done (step “Verify the effect”).")


def _authorise(capa: Capa, name: str, by: Actor, assignee_id: int | None = None) -> None:
    """The rulebook first; the state and the guards come after, with their own messages."""
    CAPA.authorise(CAPA.get(name), actor=by, store_id=capa.store_id, assignee_id=assignee_id)


def _editable(capa: Capa) -> None:
    if capa.status not in CAPA_EDITABLE:
        raise ApplicationError(_(NOT_EDITABLE), {"code": "invalid_transition"})


@transaction.atomic
def capa_open(
    *,
    store: Store,
    by: Actor,
    title: Any,
    complaint: Complaint | None = None,
    cluster_category: Any = "",
    cluster_month: dt.date | None = None,
    kpi_key: Any = "",
    findings_ref: Any = "",
) -> Capa:
    """Open a CAPA from one complaint, from a frequent-issue cluster (a category in a month), from a KPI of
    the catalogue (an early warning: `kpi_key`, which then also verifies it), or from audit findings
    (`findings_ref`: the audits app, a layer above, names them and links them back)."""
    CAPA.authorise(CAPA.get("open"), actor=by, store_id=store.pk)
    errors = Errors()
    title = clean_text(errors, "title", title, max_length=200)
    if kpi_key:
        kpi_key = _catalogue_key(errors, "kpi_key", kpi_key)
        if complaint is not None or cluster_category or cluster_month or findings_ref:
            errors.add("kpi_key", _("Open a CAPA from a complaint, a cluster or a KPI, one of them."))
    elif findings_ref:
        findings_ref = clean_text(errors, "findings_ref", findings_ref, max_length=200)
        if complaint is not None or cluster_category or cluster_month:
            errors.add("findings_ref", _("Open a CAPA from a complaint, a cluster or a KPI, one of them."))
    elif complaint is not None:
        if complaint.store_id != store.pk:
            errors.add("complaint", _("No complaint with this id in the store."))
        if cluster_category or cluster_month:
            errors.add("complaint", _("Open a CAPA from a complaint or from a cluster, not both."))
    else:
        if cluster_month is None:
            errors.add("cluster_month", _("Give the complaint, or the month and category of the cluster."))
        cluster_category = clean_choice(errors, "cluster_category", cluster_category, ComplaintCategory)
    errors.raise_if_any()
    capa = Capa(
        store=store,
        title=title,
        complaint=complaint,
        cluster_category=cluster_category or "",
        cluster_month=cluster_month.replace(day=1) if cluster_month else None,
        kpi_key=kpi_key or "",
        findings_ref=findings_ref or "",
        opened_by=actor_user(by),
    )
    capa.full_clean()
    capa.save()
    CapaEvent.objects.create(capa=capa, from_status="", to_status=C.OPEN, at=clock.now(), by=actor_user(by))
    audit_record(
        actor=actor_user(by),
        action="capa.open",
        obj=capa,
        changes={"complaint": getattr(complaint, "pk", None), "kpi_key": capa.kpi_key, "findings": capa.findings_ref},
    )
    return capa


def _decimal(errors: Errors, field: str, value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.add(field, _("Enter a number."))
        return None
    if not number.is_finite() or abs(number) >= Decimal("1e10"):
        errors.add(field, _("Enter a number."))
        return None
    return number.quantize(Decimal("0.01"))


@transaction.atomic
def capa_update(*, capa: Capa, by: Actor, **data: Any) -> Capa:
    """Change the analysis: root_cause, procedure_change, kpi_name, kpi_before, kpi_after (only those given)."""
    _authorise(capa, "edit", by)
    _editable(capa)
    errors = Errors()
    unknown = set(data) - {"root_cause", "procedure_change", "kpi_name", "kpi_before", "kpi_after"}
    for name in sorted(unknown):
        errors.add(name, _("Unknown field."))
    clean: dict[str, Any] = {}
    for name in ("root_cause", "procedure_change"):
        if name in data:
            clean[name] = clean_text(errors, name, data[name], required=False)
    if "kpi_name" in data:
        clean["kpi_name"] = clean_text(errors, "kpi_name", data["kpi_name"], required=False, max_length=80)
        if clean["kpi_name"] and _is_catalogue_name(clean["kpi_name"]):
            errors.add("kpi_name", _(FROM_CATALOGUE))
    for name in ("kpi_before", "kpi_after"):
        if name in data:
            if capa.kpi_key and data[name] not in (None, ""):
                # A catalogue KPI's figures are computed, never typed (the verification page records them).
                errors.add(name, _(FROM_CATALOGUE))
                continue
            clean[name] = _decimal(errors, name, data[name])
    errors.raise_if_any()
    old = {name: getattr(capa, name) for name in clean}
    for name, value in clean.items():
        setattr(capa, name, value)
    capa.save(update_fields=[*clean, "updated_at"])
    audit_record(
        actor=actor_user(by),
        action="capa.update",
        obj=capa,
        changes={k: [str(old[k]), str(v)] for k, v in clean.items() if old[k] != v},
    )
    return capa


@transaction.atomic
def capa_kpi_verify(
    *,
    capa: Capa,
    by: Actor,
    kpi_key: Any,
    before: Decimal | None,
    after: Decimal | None,
    before_period: str,
    after_period: str,
) -> Capa:
    """Record the verification computed from the KPI catalogue (by the analytics page): the KPI, its figure for
    the period before the CAPA was opened and for the latest closed period after its actions were done."""
    _authorise(capa, "edit", by)
    _editable(capa)
    if capa.status != C.VERIFYING:
        raise ApplicationError(_(NOT_VERIFYING), {"code": "invalid_transition"})
    errors = Errors()
    kpi_key = _catalogue_key(errors, "kpi_key", kpi_key)
    for field, period in (("before_period", before_period), ("after_period", after_period)):
        if not isinstance(period, str) or not period or len(period) > 8:
            errors.add(field, _("Give the period."))
    errors.raise_if_any()
    now = clock.now()
    old = {"kpi_key": capa.kpi_key, "kpi_before": str(capa.kpi_before), "kpi_after": str(capa.kpi_after)}
    capa.kpi_key = kpi_key
    capa.kpi_name = ""  # the catalogue's label is shown in the reader's language
    capa.kpi_before = None if before is None else Decimal(before).quantize(Decimal("0.01"))
    capa.kpi_after = None if after is None else Decimal(after).quantize(Decimal("0.01"))
    capa.kpi_before_period = before_period
    capa.kpi_after_period = after_period
    capa.kpi_verified_at = now
    capa.save(
        update_fields=[
            "kpi_key",
            "kpi_name",
            "kpi_before",
            "kpi_after",
            "kpi_before_period",
            "kpi_after_period",
            "kpi_verified_at",
            "updated_at",
        ]
    )
    audit_record(
        actor=actor_user(by),
        action="capa.kpi_verify",
        obj=capa,
        changes={
            "kpi_key": [old["kpi_key"], kpi_key],
            "kpi_before": [old["kpi_before"], str(capa.kpi_before), before_period],
            "kpi_after": [old["kpi_after"], str(capa.kpi_after), after_period],
        },
    )
    return capa


@transaction.atomic
def capa_action_add(*, capa: Capa, by: Actor, description: Any, owner: Any, due_date: Any) -> CapaAction:
    _authorise(capa, "edit", by)
    _editable(capa)
    errors = Errors()
    description = clean_text(errors, "description", description, max_length=300)
    if (
        owner is None
        or not getattr(owner, "is_active", False)
        or not user_can(owner, Capability.VIEW_FEEDBACK, capa.store_id)
    ):
        errors.add("owner", _("Choose a member of this store's staff."))
    if not isinstance(due_date, dt.date) or isinstance(due_date, dt.datetime):
        errors.add("due_date", _("Enter a date."))
    errors.raise_if_any()
    action = CapaAction.objects.create(capa=capa, description=description, owner=owner, due_date=due_date)
    audit_record(
        actor=actor_user(by), action="capa.action_add", obj=capa, changes={"action": action.pk, "owner": owner.pk}
    )
    return action


@transaction.atomic
def capa_action_done(*, action: CapaAction, by: Actor) -> CapaAction:
    """The manager, or the action's own owner, marks it done."""
    _authorise(action.capa, "action_done", by, assignee_id=action.owner_id)
    now = clock.now()
    _editable(action.capa)
    if not CapaAction.objects.filter(pk=action.pk, done_at__isnull=True).update(done_at=now, updated_at=now):
        raise ApplicationError(_("This action is already done."))
    action.done_at = now
    audit_record(actor=actor_user(by), action="capa.action_done", obj=action.capa, changes={"action": action.pk})
    return action


PROCEDURE_SCOPES = ("group", "store")


@transaction.atomic
def capa_procedure_draft(
    *,
    capa: Capa,
    by: Actor,
    step: Any,
    scope: Any = "group",
    change_note: Any = "",
    text: Any = None,
    items: Any = None,
) -> ProcedureVersion:
    """The CAPA's procedure-change step: the manager picks the procedure (a step; the group's default or the CAPA
    store's variant) and drafts its new version (based on the current one; `text` and `items` when given; the
    change note says why, the CAPA's title by default).  The draft is linked to the CAPA; closing publishes it.
    A draft the CAPA already has is edited instead (for the same procedure)."""
    _authorise(capa, "edit", by)
    _editable(capa)
    errors = Errors()
    step = clean_choice(errors, "step", step, ProcedureStep)
    if scope not in PROCEDURE_SCOPES:
        errors.add("scope", _("Choose the group's default or this store's variant."))
    errors.raise_if_any()
    user = actor_user(by)
    if user is None:  # the rulebook gives the edit move to staff only
        raise ApplicationError(_("Your role may not do this."), {"code": "forbidden"})
    store = Store.objects.select_related("group").get(pk=capa.store_id)
    note = str(change_note or "").strip() or f"CAPA: {capa.title}"[:300]
    current = capa.procedure_version
    if current is not None and current.status == VersionStatus.DRAFT:
        procedure = current.procedure
        if procedure.step != step or (procedure.store_id is not None) != (scope == "store"):
            errors.add("step", _("This CAPA already drafted a version of {code}.").format(code=procedure.code))
            errors.raise_if_any()
        version = standards_services.version_edit(
            version=current,
            by=user,
            text=text,
            change_note=note,
            items=items,
        )
    else:
        procedure = standards_services.procedure_ensure(
            group=store.group,
            store=store if scope == "store" else None,
            step=step,
            by=user,
        )
        version = standards_services.version_draft(
            procedure=procedure,
            by=user,
            text=text,
            change_note=note,
            items=items,
        )
        Capa.objects.filter(pk=capa.pk).update(procedure_version=version, updated_at=clock.now())
        capa.procedure_version = version
    audit_record(
        actor=user,
        action="capa.update",
        obj=capa,
        changes={"procedure_version": f"{version.procedure.code} v{version.number}"},
    )
    return version


def _guard(capa: Capa, to: str, by: Actor) -> None:
    if to == C.ACTING:
        if not capa.root_cause.strip():
            raise ApplicationError(_("Record the root cause first."))
        if not capa.actions.exists():
            raise ApplicationError(_("Add at least one corrective action with its owner and due date."))
    if to == C.VERIFYING and capa.actions.filter(done_at__isnull=True).exists():
        raise ApplicationError(_("Every corrective action must be done before verification."))
    if to == C.CLOSED:
        named = capa.kpi_name.strip() or (capa.kpi_key and capa.kpi_verified_at)
        if not named or capa.kpi_before is None or capa.kpi_after is None:
            raise ApplicationError(_("Record the KPI and its figures before and after."))
        version = capa.procedure_version
        if not capa.procedure_change.strip() and version is None:
            raise ApplicationError(_("Record the standard-procedure change that fixes the problem."))
        if version is not None and version.status == VersionStatus.DRAFT:
            procedure = version.procedure
            if not standards_selectors.may_manage(by, group_id=procedure.group_id, store_id=procedure.store_id):
                raise ApplicationError(
                    _(
                        "Closing publishes the new version of {code}: only someone who manages that procedure "
                        "(the group's quality department for a group default) may close this CAPA."
                    ).format(code=procedure.code),
                    {"code": "forbidden"},
                )


@transaction.atomic
def capa_transition(*, capa: Capa, to: Any, by: Actor, note: Any = "") -> Capa:
    """Move the CAPA to the next step (or back from verifying to acting): every step is the manager's."""
    old = capa.status
    step = capa_step(old, to)
    _authorise(capa, step.name, by)
    errors = Errors()
    to = clean_choice(errors, "to", to, CapaStatus)
    note = clean_text(errors, "note", note, required=False, max_length=300)
    errors.raise_if_any()
    if step.target != to or old not in step.sources:
        raise ApplicationError(
            _(INVALID_MOVE).format(old=C(old).label, new=C(to).label), {"code": "invalid_transition"}
        )
    _guard(capa, to, by)
    now = clock.now()
    changes: dict[str, Any] = {"status": to}
    if to == C.CLOSED:
        changes["closed_at"] = now
    if not Capa.objects.filter(pk=capa.pk, status=old).update(**changes, updated_at=now):
        raise ApplicationError(_("Someone else changed this CAPA meanwhile; reload and try again."))
    for key, value in changes.items():
        setattr(capa, key, value)
    version = capa.procedure_version
    if to == C.CLOSED and version is not None and version.status == VersionStatus.DRAFT:
        # The closer approves the drafted procedure version: published today, the staff asked to read it.
        standards_services.version_publish(version=version, by=by, effective_from=clock.today())  # type: ignore[arg-type]
    CapaEvent.objects.create(capa=capa, from_status=old, to_status=to, at=now, by=actor_user(by), note=note)
    audit_record(actor=actor_user(by), action="capa.transition", obj=capa, changes={"status": [old, to], "note": note})
    return capa


def capa_action_due_sweep(*, now: dt.datetime | None = None) -> int:
    """Tell each owner once when their corrective action falls due undone (the due day has begun, Shanghai time)
    while its CAPA is still open to change.  Idempotent: the action is claimed by setting `due_alerted_at`."""
    now = now or clock.now()
    today = timezone.localtime(now).date()
    due = CapaAction.objects.filter(
        done_at__isnull=True,
        due_alerted_at__isnull=True,
        due_date__lte=today,
        owner__isnull=False,
        capa__status__in=CAPA_EDITABLE,
    ).select_related("capa__store", "owner")
    sent = 0
    for action in due.order_by("due_date", "pk"):
        with transaction.atomic():
            if not CapaAction.objects.filter(pk=action.pk, due_alerted_at__isnull=True).update(due_alerted_at=now):
                continue
            capa = action.capa
            alert(
                store=capa.store,
                users=[action.owner],
                template="capa_action_due",
                context={
                    "store": capa.store.name,
                    "reference": f"CAPA #{capa.pk}",
                    "capa": capa.title,
                    "action": action.description,
                    "due": f"{action.due_date:%Y-%m-%d}",
                },
                related=capa,
                dedupe_key=f"capa_action_due:{action.pk}",
            )
            sent += 1
    return sent
