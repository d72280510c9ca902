"""Audits (issue 16): checklists, the quarter's plan, planned audits and spot-check samples, filling in and
submitting an audit (its score and findings), cancelling, closing findings, CAPAs from findings, and the daily
sweep of overdue findings.

Every action asks the rulebook (`transitions`) first, so a role without the right learns nothing more; then it
validates everything (a ValidationError keyed by field name, nothing written) and writes in one transaction with
its audit-trail entry.  Each alert lands in the person's inbox (`notifications.services.staff_notify`).

Score = Σ weights of passed items / Σ weights of applicable (pass or fail) items × 100, to two decimals.

Checklists that an audit has answered never change: `checklist_save` on such a checklist retires it
(`is_active` false) and makes a new one that names it as `previous`, so every audit stays scored against the
items it was answered on; a checklist nobody has answered yet is changed in place.

Auditors come from outside the store: whoever is named (or records an audit) must hold PERFORM_AUDITS or
MANAGE_AUDITS in the audited store and no membership of it.  Spot checks look at an order drawn at random by
`sample_draw` (the seed is stored, `sample_orders` draws it again); nobody of the audited store can draw."""

from __future__ import annotations

import datetime as dt
import logging
import random
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.audits import defaults
from aftersales.audits.choices import (
    SPOT_CHECK_KINDS,
    AnswerResult,
    AuditKind,
    AuditStatus,
    FindingStatus,
    MysteryChannel,
)
from aftersales.audits.models import (
    Audit,
    AuditAnswer,
    AuditChecklist,
    AuditChecklistItem,
    AuditPhoto,
    AuditPlan,
    Finding,
    SpotCheckSample,
)
from aftersales.audits.transitions import AUDIT, FINDING, FINDING_OWNER_ROLES
from aftersales.core import clock, dates
from aftersales.core.audit import audit_record as trail
from aftersales.core.exceptions import ApplicationError
from aftersales.core.pagination import keyset_chunks
from aftersales.core.scoping import store_ids_where
from aftersales.feedback.models import Capa
from aftersales.feedback.services.capa import capa_open
from aftersales.feedback.services.common import Errors, clean_text, display_name
from aftersales.notifications.services import staff_notify
from aftersales.organisation.choices import Role
from aftersales.organisation.models import DealerGroup, Membership, Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.organisation.rules import Actor, Party, actor_user
from aftersales.organisation.selectors import active_users as _active_users
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service.choices import RepairOrderStatus
from aftersales.service.models import RepairOrder
from aftersales.service.services.uploads import IMAGE_TYPES, sniff
from aftersales.standards.choices import ProcedureStep, VersionStatus
from aftersales.standards.models import ProcedureVersion
from aftersales.standards.selectors import built_in_version, version_items

logger = logging.getLogger("aftersales.audits")

HUNDRED = Decimal(100)
CENT = Decimal("0.01")
MAX_WEIGHT = Decimal("999.99")
MAX_ITEMS = 100
MAX_SAMPLE = 50
MAX_PHOTOS = 6  # per answer
MAX_FINDINGS_PER_CAPA = 20
_KEY = re.compile(r"^[-a-zA-Z0-9_]*$")

NOT_OUTSIDE = gettext_noop("An auditor comes from outside the audited store: this person works there.")
MAY_NOT_AUDIT = gettext_noop("This person may not audit this store.")
NOTHING_APPLICABLE = gettext_noop("Every item is marked not applicable: there is nothing to score.")
NO_NA = gettext_noop("This item cannot be marked not applicable.")
FAIL_NEEDS_NOTE = gettext_noop("Say what was wrong: a failed item needs a note.")


# ------------------------------------------------------------------------------------------------- the score


def audit_score(answers: Iterable[Any]) -> Decimal | None:
    """Σ weights passed / Σ weights applicable × 100, rounded half up to two decimals; None when no item is
    applicable.  `answers`: AuditAnswer rows (their item's weight) or (weight, result) pairs."""
    passed = applicable = Decimal(0)
    for answer in answers:
        if isinstance(answer, tuple):
            weight, result = Decimal(str(answer[0])), str(answer[1])
        else:
            weight, result = Decimal(str(answer.item.weight)), str(answer.result)
        if result == AnswerResult.NA:
            continue
        applicable += weight
        if result == AnswerResult.PASS:
            passed += weight
    if applicable <= 0:
        return None
    return (passed / applicable * HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


def sample_orders(*, population_ids: Sequence[int], seed: int, size: int) -> list[int]:
    """The orders a spot-check sample draws: `size` ids out of `population_ids` (taken in id order, whatever order
    they are given in), by `random.Random(seed).sample`.  Pure: the same population and seed give the same ids."""
    return random.Random(seed).sample(sorted(population_ids), size)  # noqa: S311 - a reproducible audit draw


# ------------------------------------------------------------------------------------------------- helpers


def _user(by: Actor) -> Any:
    """The member of staff acting; a party (the customer, the system) never audits."""
    if isinstance(by, Party) or by is None:
        raise PermissionDenied(_("Your role may not do this."))
    return by


def _group_store_ids(group: DealerGroup) -> frozenset[int]:
    return frozenset(Store.objects.filter(group=group).values_list("pk", flat=True))


def _require_group(by: Actor, group: DealerGroup) -> Any:
    """The quality department's group-wide work (checklists, the plan): MANAGE_AUDITS in the group's stores."""
    user = _user(by)
    if not store_ids_where(user, Capability.MANAGE_AUDITS) & _group_store_ids(group):
        raise PermissionDenied(_("Your role may not do this."))
    return user


def auditor_problem(user: Any, store: Store) -> str | None:
    """Why `user` cannot audit `store` (None when they can): they must hold PERFORM_AUDITS or MANAGE_AUDITS in
    the store and belong to it in no way (auditors come from outside the store)."""
    if user is None or not getattr(user, "is_active", False):
        return _(MAY_NOT_AUDIT)
    if not (user_can(user, Capability.PERFORM_AUDITS, store.pk) or user_can(user, Capability.MANAGE_AUDITS, store.pk)):
        return _(MAY_NOT_AUDIT)
    if Membership.objects.filter(user=user, store=store).exists():
        return _(NOT_OUTSIDE)
    return None


def _url(name: str, pk: int) -> str:
    """The page to act on (the audit pages are another module's; without them the inbox item has no link)."""
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


def _audit_url(audit: Audit) -> str:
    return _url("audits:audit-detail", audit.pk)


def _finding_url(finding: Finding) -> str:
    return _url("audits:finding-detail", finding.pk) or _url("audits:audit-detail", finding.audit_id)


def store_managers(store: Store) -> list[Any]:
    return _active_users(Membership.objects.filter(store=store, role=Role.MANAGER))


def _responsible(store: Store) -> list[Any]:
    """Who answers for the store's audit results: its managers, or (a store without one) the group managers."""
    managers = store_managers(store)
    if managers:
        return managers
    return _active_users(
        Membership.objects.filter(group_id=store.group_id, store__isnull=True, role=Role.GROUP_MANAGER)
    )


def _month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = month.replace(day=1)
    following = (start + dt.timedelta(days=32)).replace(day=1)
    zone = timezone.get_default_timezone()
    return (
        timezone.make_aware(dt.datetime.combine(start, dt.time.min), zone),
        timezone.make_aware(dt.datetime.combine(following, dt.time.min), zone),
    )


def _finding_days(store: Store) -> int:
    return int(setting_values_for_store(store)["audit_finding_days"])


def _lock(audit: Audit) -> Audit:
    """The audit's row, locked for this transaction (one writer at a time), with the state as committed."""
    return Audit.objects.select_for_update().select_related("store", "checklist").get(pk=audit.pk)


# ------------------------------------------------------------------------------------------------- checklists


def _group_default_items(group: DealerGroup, step: str) -> list[Any]:
    """The items of the group default's current version of `step` (the built-in default when none is
    published yet)."""
    version = (
        ProcedureVersion.objects.filter(
            procedure__group=group,
            procedure__store__isnull=True,
            procedure__step=step,
            status=VersionStatus.PUBLISHED,
            effective_from__lte=clock.today(),
        )
        .order_by("-number")
        .first()
    )
    return version_items(version or built_in_version(group_id=group.pk, step=step))


def _default_items(group: DealerGroup, kind: str) -> list[dict[str, Any]]:
    if kind != AuditKind.MYSTERY_SHOPPER:
        return [item.__dict__.copy() for item in defaults.ITEMS[kind]]
    items = []
    for step, weight in defaults.MYSTERY_STEPS.items():
        for sop_item in _group_default_items(group, step):
            if not sop_item.customer_facing:
                continue
            items.append(
                {
                    "text": sop_item.text,
                    "text_en": sop_item.text_en,
                    "weight": defaults.THREE if sop_item.key in defaults.CRITICAL_KEYS else weight,
                    "allows_na": True,  # a phone call does not reach the visit's items, a visit may skip booking
                    "step": step,
                    "sop_item_key": sop_item.key,
                }
            )
    return items


@transaction.atomic
def checklists_install_defaults(*, group: DealerGroup) -> list[AuditChecklist]:
    """One checklist per kind for `group` (idempotent: a kind that has a checklist in use keeps it).  The
    mystery-shopper items are the customer-facing items of the group's current procedures."""
    found: list[AuditChecklist] = []
    for kind, default in defaults.CHECKLISTS.items():
        existing = AuditChecklist.objects.filter(group=group, kind=kind, is_active=True).order_by("pk").first()
        if existing is not None:
            found.append(existing)
            continue
        checklist = AuditChecklist.objects.create(
            group=group, kind=kind, title=default.title, description=default.description
        )
        _write_items(checklist, _default_items(group, kind))
        trail(
            actor=None,
            action="audit_checklist.save",
            obj=checklist,
            changes={"kind": kind, "items": checklist.items.count(), "default": True},
        )
        found.append(checklist)
    return found


def _write_items(checklist: AuditChecklist, items: list[dict[str, Any]]) -> None:
    AuditChecklistItem.objects.bulk_create(
        AuditChecklistItem(
            checklist=checklist,
            position=position,
            text=item["text"],
            text_en=item.get("text_en", ""),
            weight=item["weight"],
            allows_na=item.get("allows_na", True),
            step=item.get("step", ""),
            sop_item_key=item.get("sop_item_key", ""),
        )
        for position, item in enumerate(items, start=1)
    )


def _weight(errors: Errors, field: str, value: Any) -> Decimal:
    try:
        number = Decimal(str(value)) if not isinstance(value, bool) and value not in (None, "") else None
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or number <= 0 or number > MAX_WEIGHT:
        errors.add(field, _("A weight is a number above 0 and at most {max}.").format(max=MAX_WEIGHT))
        return Decimal(1)
    if number != number.quantize(CENT):
        errors.add(field, _("A weight has at most two decimals."))
    return number.quantize(CENT)


def _clean_items(errors: Errors, items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list | tuple) or not items:
        errors.add("items", _("A checklist needs at least one item."))
        return []
    if len(items) > MAX_ITEMS:
        errors.add("items", _("At most {n} items.").format(n=MAX_ITEMS))
        return []
    clean = []
    for index, raw in enumerate(items):
        prefix = f"items.{index}"
        if not isinstance(raw, Mapping):
            errors.add(prefix, _("Each item is an object with its text and weight."))
            continue
        unknown = set(raw) - {"text", "text_en", "weight", "allows_na", "step", "sop_item_key", "id"}
        for name in sorted(unknown):
            errors.add(f"{prefix}.{name}", _("Unknown field."))
        allows_na = raw.get("allows_na", True)
        if not isinstance(allows_na, bool):
            errors.add(f"{prefix}.allows_na", _("Enter true or false."))
        step = raw.get("step", "") or ""
        if step and step not in ProcedureStep.values:
            errors.add(f"{prefix}.step", _("Choose one of: {options}.").format(options=", ".join(ProcedureStep.values)))
        key = raw.get("sop_item_key", "") or ""
        if not isinstance(key, str) or len(key) > 40 or not _KEY.match(key):
            errors.add(f"{prefix}.sop_item_key", _("An SOP item's key: letters, digits, - and _, at most 40."))
        clean.append(
            {
                "text": clean_text(errors, f"{prefix}.text", raw.get("text"), max_length=300),
                "text_en": clean_text(
                    errors, f"{prefix}.text_en", raw.get("text_en", ""), required=False, max_length=300
                ),
                "weight": _weight(errors, f"{prefix}.weight", raw.get("weight")),
                "allows_na": bool(allows_na),
                "step": step if isinstance(step, str) else "",
                "sop_item_key": key if isinstance(key, str) else "",
            }
        )
    return clean


@transaction.atomic
def checklist_save(
    *,
    by: Actor,
    group: DealerGroup,
    kind: str,
    title: str,
    items: list[dict[str, Any]],
    description: str = "",
    checklist: AuditChecklist | None = None,
) -> AuditChecklist:
    """Create a checklist, or change `checklist`: in place while no audit has answered it, else as a new checklist
    that replaces it (the old one is retired and keeps its items for the audits answered on them)."""
    user = _require_group(by, group)
    errors = Errors()
    if kind not in AuditKind.values:
        errors.add("kind", _("Choose one of: {options}.").format(options=", ".join(AuditKind.values)))
    title = clean_text(errors, "title", title, max_length=200)
    description = clean_text(errors, "description", description, required=False)
    clean = _clean_items(errors, items)
    if checklist is not None:
        checklist = AuditChecklist.objects.select_for_update().filter(pk=checklist.pk, group=group).first()
        if checklist is None or not checklist.is_active:
            errors.add("checklist", _("No checklist in use with this id in the group."))
        elif checklist.kind != kind:
            errors.add("kind", _("A checklist keeps its kind: make a new one for another kind."))
    if title and kind in AuditKind.values:
        clash = AuditChecklist.objects.filter(group=group, kind=kind, title=title, is_active=True)
        if checklist is not None:
            clash = clash.exclude(pk=checklist.pk)
        if clash.exists():
            errors.add("title", _("A checklist of this kind with this title is already in use."))
    errors.raise_if_any()
    replaced = None
    if checklist is not None and AuditAnswer.objects.filter(item__checklist=checklist).exists():
        replaced = checklist
        AuditChecklist.objects.filter(pk=replaced.pk).update(is_active=False, updated_at=clock.now())
        checklist = None
    if checklist is None:
        checklist = AuditChecklist.objects.create(
            group=group, kind=kind, title=title, description=description, previous=replaced
        )
    else:
        checklist.title, checklist.description = title, description
        checklist.save(update_fields=["title", "description", "updated_at"])
        checklist.items.all().delete()
    _write_items(checklist, clean)
    trail(
        actor=user,
        action="audit_checklist.save",
        obj=checklist,
        changes={"kind": kind, "title": title, "items": len(clean), "replaces": getattr(replaced, "pk", None)},
    )
    return checklist


# ------------------------------------------------------------------------------------------------- planning


@transaction.atomic
def plan_for_quarter(*, by: Actor, group: DealerGroup, year: int, quarter: int) -> AuditPlan:
    """The group's audit plan of the quarter, made the first time it is asked for."""
    user = _require_group(by, group)
    errors = Errors()
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= clock.today().year + 5:
        errors.add("year", _("Enter a year from 2000 to five years ahead."))
    if isinstance(quarter, bool) or not isinstance(quarter, int) or not 1 <= quarter <= 4:
        errors.add("quarter", _("A quarter is 1, 2, 3 or 4."))
    errors.raise_if_any()
    plan, created = AuditPlan.objects.get_or_create(
        group=group, year=year, quarter=quarter, defaults={"created_by": user}
    )
    if created:
        trail(actor=user, action="audit_plan.create", obj=plan, changes={"year": year, "quarter": quarter})
    return plan


def _checklist_check(errors: Errors, checklist: Any, *, store: Store, kind: str) -> None:
    if (
        not isinstance(checklist, AuditChecklist)
        or checklist.group_id != store.group_id
        or not checklist.is_active
        or (kind in AuditKind.values and checklist.kind != kind)
    ):
        errors.add("checklist", _("No checklist in use of this kind with this id in the store's group."))


def _sample_of(errors: Errors, order: Any, *, store: Store, kind: str) -> SpotCheckSample | None:
    """The sample of `store` and `kind` that drew `order` (spot checks only look at drawn orders)."""
    if kind not in SPOT_CHECK_KINDS:
        if order is not None:
            errors.add("order", _("Only a spot check looks at one order."))
        return None
    if not isinstance(order, RepairOrder) or order.store_id != store.pk:
        errors.add("order", _("A spot check needs an order of the store drawn in a sample."))
        return None
    for sample in SpotCheckSample.objects.filter(store=store, kind=kind).order_by("-pk"):
        if order.pk in sample.order_ids:
            return sample
    errors.add("order", _("This order was not drawn in a sample: spot checks look only at drawn orders."))
    return None


def _kind_check(errors: Errors, kind: Any) -> str:
    if not isinstance(kind, str) or kind not in AuditKind.values:
        errors.add("kind", _("Choose one of: {options}.").format(options=", ".join(AuditKind.values)))
        return ""
    return kind


def _tell_auditor(audit: Audit) -> None:
    if audit.auditor is None:
        return
    staff_notify(
        store=audit.store,
        users=[audit.auditor],
        template="audit_assigned",
        context={
            "store": audit.store.name,
            "kind": AuditKind(audit.kind).label,
            "audit": str(audit),
            "due": audit.due_date.isoformat() if audit.due_date else "—",
        },
        dedupe_key=f"audit_assigned:{audit.pk}:{audit.auditor_id}",
        related=audit,
        url=_audit_url(audit),
        store_robot=False,  # the audited store must not learn of a planned audit (least of all a mystery shopper)
    )


@transaction.atomic
def audit_plan(
    *,
    by: Actor,
    store: Store,
    kind: str,
    checklist: AuditChecklist,
    auditor: Any = None,
    due_date: dt.date | None = None,
    plan: AuditPlan | None = None,
    order: RepairOrder | None = None,
) -> Audit:
    """Plan an audit of `store` (status planned), with its auditor (from outside the store) when known.  A spot
    check names an order of the store that a sample drew."""
    AUDIT.authorise(AUDIT.get("plan"), actor=by, store_id=store.pk)
    user = _user(by)
    errors = Errors()
    kind = _kind_check(errors, kind)
    _checklist_check(errors, checklist, store=store, kind=kind)
    if auditor is not None and (problem := auditor_problem(auditor, store)) is not None:
        errors.add("auditor", problem)
    if due_date is not None:
        if not isinstance(due_date, dt.date) or isinstance(due_date, dt.datetime):
            errors.add("due_date", _("Enter a valid date."))
        else:
            try:
                dates.PLANNED(due_date)
            except ValidationError as exc:
                errors.add("due_date", exc.messages[0])
    if plan is not None and (not isinstance(plan, AuditPlan) or plan.group_id != store.group_id):
        errors.add("plan", _("No audit plan with this id in the store's group."))
    sample = _sample_of(errors, order, store=store, kind=kind) if kind else None
    if order is not None and sample is not None and _open_audit_of(order, kind) is not None:
        errors.add("order", _("This order already has a planned audit of this kind."))
    errors.raise_if_any()
    audit = Audit.objects.create(
        store=store,
        kind=kind,
        checklist=checklist,
        plan=plan,
        auditor=auditor,
        due_date=due_date,
        order=order,
        sample=sample,
        created_by=user,
    )
    trail(
        actor=user,
        action="audit.plan",
        obj=audit,
        changes={"kind": kind, "auditor": getattr(auditor, "pk", None), "order": getattr(order, "pk", None)},
    )
    _tell_auditor(audit)
    return audit


def _open_audit_of(order: RepairOrder, kind: str) -> Audit | None:
    return (
        Audit.objects.filter(order=order, kind=kind, status__in=[AuditStatus.PLANNED, AuditStatus.IN_PROGRESS])
        .order_by("pk")
        .first()
    )


@transaction.atomic
def audit_assign(*, audit: Audit, by: Actor, auditor: Any) -> Audit:
    """Name (or change) the auditor of a planned or running audit."""
    audit = _lock(audit)
    AUDIT.require(AUDIT.get("assign"), actor=by, state=audit.status, store_id=audit.store_id)
    problem = auditor_problem(auditor, audit.store)
    if problem is not None:
        raise ValidationError({"auditor": [problem]})
    before = audit.auditor_id
    audit.auditor = auditor
    audit.save(update_fields=["auditor", "updated_at"])
    trail(actor=actor_user(by), action="audit.assign", obj=audit, changes={"auditor": [before, auditor.pk]})
    _tell_auditor(audit)
    return audit


@transaction.atomic
def sample_draw(
    *,
    by: Actor,
    store: Store,
    kind: str,
    month: dt.date,
    size: int,
    seed: int | None = None,
    auditor: Any = None,
    checklist: AuditChecklist | None = None,
    plan: AuditPlan | None = None,
) -> SpotCheckSample:
    """Draw `size` of the orders `store` delivered in `month` for a spot check, at random with a stored seed (a
    new one from `secrets` when none is given), and plan one audit per drawn order.  Only the quality department
    draws, never anybody of the audited store; one sample per store, kind and month."""
    AUDIT.authorise(AUDIT.get("plan"), actor=by, store_id=store.pk)
    user = _user(by)
    if Membership.objects.filter(user=user, store=store).exists():
        raise PermissionDenied(_("The audited store never chooses its sample."))
    errors = Errors()
    if kind not in SPOT_CHECK_KINDS:
        errors.add("kind", _("Samples are drawn for record and video spot checks."))
    first: dt.date | None = None
    if not isinstance(month, dt.date):
        errors.add("month", _("Enter a valid date."))
    else:
        first = month.replace(day=1) if not isinstance(month, dt.datetime) else month.date().replace(day=1)
        if first > clock.today() or first < dates.EARLIEST:
            errors.add("month", _("Draw from a month that has begun."))
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_SAMPLE:
        errors.add("size", _("A sample has 1 to {n} orders.").format(n=MAX_SAMPLE))
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
        errors.add("seed", _("A seed is a whole number from 0 to 2^63 − 1."))
    if auditor is not None and (problem := auditor_problem(auditor, store)) is not None:
        errors.add("auditor", problem)
    if kind in SPOT_CHECK_KINDS:
        if checklist is None:
            checklist = AuditChecklist.objects.filter(group_id=store.group_id, kind=kind, is_active=True).first()
            if checklist is None:
                errors.add("kind", _("The group has no checklist of this kind in use."))
        else:
            _checklist_check(errors, checklist, store=store, kind=kind)
    if plan is not None and (not isinstance(plan, AuditPlan) or plan.group_id != store.group_id):
        errors.add("plan", _("No audit plan with this id in the store's group."))
    population: list[int] = []
    if first is not None and "month" not in errors.by_field:
        if SpotCheckSample.objects.filter(store=store, kind=kind, month=first).exists():
            errors.add("month", _("A sample of this month is already drawn for this kind of check."))
        start, end = _month_bounds(first)
        population = list(
            RepairOrder.objects.filter(
                store=store, status=RepairOrderStatus.DELIVERED, delivered_at__gte=start, delivered_at__lt=end
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not population:
            errors.add("month", _("The store delivered no order in this month."))
        elif isinstance(size, int) and not isinstance(size, bool) and size > len(population):
            errors.add("size", _("Only {n} orders were delivered in this month.").format(n=len(population)))
    errors.raise_if_any()
    assert first is not None and checklist is not None
    seed = secrets.randbits(63) if seed is None else seed
    drawn = sample_orders(population_ids=population, seed=seed, size=size)
    try:
        with transaction.atomic():  # a savepoint: two draws at once meet the unique constraint, one is refused
            sample = SpotCheckSample.objects.create(
                store=store,
                kind=kind,
                month=first,
                seed=seed,
                size=size,
                population=len(population),
                order_ids=drawn,
                drawn_by=user,
            )
    except IntegrityError:
        raise ValidationError(
            {"month": [_("A sample of this month is already drawn for this kind of check.")]}
        ) from None
    for order_id in drawn:
        audit = Audit.objects.create(
            store=store,
            kind=kind,
            checklist=checklist,
            plan=plan,
            auditor=auditor,
            order_id=order_id,
            sample=sample,
            created_by=user,
        )
        _tell_auditor(audit)
    trail(
        actor=user,
        action="audit_sample.draw",
        obj=sample,
        changes={
            "kind": kind,
            "month": first.isoformat(),
            "seed": seed,
            "population": len(population),
            "orders": drawn,
        },
    )
    return sample


# ------------------------------------------------------------------------------------------------- filling in


@transaction.atomic
def audit_start(*, audit: Audit, by: Actor) -> Audit:
    """Start a planned audit.  The quality department starting one nobody is assigned to becomes its auditor
    (from outside the store like any other)."""
    audit = _lock(audit)
    AUDIT.require(
        AUDIT.get("start"), actor=by, state=audit.status, store_id=audit.store_id, assignee_id=audit.auditor_id
    )
    user = _user(by)
    if audit.auditor_id is None:
        problem = auditor_problem(user, audit.store)
        if problem is not None:
            raise PermissionDenied(problem)
        audit.auditor = user
    audit.status = AuditStatus.IN_PROGRESS
    audit.save(update_fields=["status", "auditor", "updated_at"])
    trail(actor=user, action="audit.start", obj=audit, changes={"auditor": audit.auditor_id})
    return audit


def _photos(errors: Errors, store: Store, photos: Iterable[Any]) -> list[tuple[UploadedFile, str]]:
    """The uploaded photos, each checked by its first bytes (images only) and against the store's size limit."""
    checked = []
    photos = list(photos or ())
    if len(photos) > MAX_PHOTOS:
        errors.add("photos", _("At most {n} photos per item.").format(n=MAX_PHOTOS))
        return []
    limit_mb = int(setting_values_for_store(store)["max_photo_mb"])
    for photo in photos:
        if photo is None or not getattr(photo, "size", 0):
            errors.add("photos", _("Choose a photo."))
            continue
        head = photo.read(32)
        photo.seek(0)
        content_type = sniff(head)
        if content_type not in IMAGE_TYPES:
            errors.add("photos", _("Only photos (JPEG, PNG, WebP, HEIC) can be uploaded."))
        elif photo.size > limit_mb * 1024 * 1024:
            errors.add(
                "photos",
                _("This file is {size:.1f} MB; the limit is {limit} MB.").format(
                    size=photo.size / 1024 / 1024, limit=limit_mb
                ),
            )
        else:
            checked.append((photo, content_type))
    return checked


def _answer_checks(
    errors: Errors, prefix: str, audit: Audit, item: Any, result: Any, note: Any
) -> tuple[AuditChecklistItem | None, str, str]:
    if not isinstance(item, AuditChecklistItem) or item.checklist_id != audit.checklist_id:
        errors.add(f"{prefix}item", _("No item with this id on the audit's checklist."))
        item = None
    if not isinstance(result, str) or result not in AnswerResult.values:
        errors.add(f"{prefix}result", _("Choose one of: {options}.").format(options=", ".join(AnswerResult.values)))
        result = ""
    elif item is not None and result == AnswerResult.NA and not item.allows_na:
        errors.add(f"{prefix}result", _(NO_NA))
    note = clean_text(errors, f"{prefix}note", note, required=False, max_length=500)
    if "\n" in note or "\r" in note:
        errors.add(f"{prefix}note", _("One line, please."))
    return item, result, note


@transaction.atomic
def audit_answer(
    *, audit: Audit, by: Actor, item: AuditChecklistItem, result: str, note: str = "", photos: Iterable[Any] = ()
) -> AuditAnswer:
    """Record (or change) the verdict on one item of a running audit, with a note and photos (added to those the
    answer has)."""
    audit = _lock(audit)
    AUDIT.require(
        AUDIT.get("answer"), actor=by, state=audit.status, store_id=audit.store_id, assignee_id=audit.auditor_id
    )
    errors = Errors()
    checked_item, result, note = _answer_checks(errors, "", audit, item, result, note)
    checked = _photos(errors, audit.store, photos)
    errors.raise_if_any()
    assert checked_item is not None
    answer, _created = AuditAnswer.objects.update_or_create(
        audit=audit, item=checked_item, defaults={"result": result, "note": note}
    )
    for photo, content_type in checked:
        photo.name = f"{secrets.token_hex(12)}{IMAGE_TYPES[content_type]}"
        AuditPhoto.objects.create(answer=answer, file=photo)
    Audit.objects.filter(pk=audit.pk).update(updated_at=clock.now())
    trail(
        actor=actor_user(by),
        action="audit.answer",
        obj=audit,
        changes={"item": checked_item.pk, "result": result, "photos": len(checked)},
    )
    return answer


def _submission_checks(
    errors: Errors,
    audit: Audit,
    *,
    channel: Any,
    performed_at: Any,
    video_reference: Any,
    summary: Any,
    now: dt.datetime,
) -> tuple[str, dt.datetime, str, str]:
    if audit.kind == AuditKind.MYSTERY_SHOPPER:
        if not isinstance(channel, str) or channel not in MysteryChannel.values:
            errors.add(
                "channel",
                _("A mystery shopper says how they met the store: {options}.").format(
                    options=", ".join(MysteryChannel.values)
                ),
            )
            channel = ""
    elif channel:
        errors.add("channel", _("Only a mystery shopper's audit has a channel."))
        channel = ""
    if performed_at is None:
        performed_at = now
    elif not isinstance(performed_at, dt.datetime):
        errors.add("performed_at", _("Enter a date and time (ISO 8601)."))
        performed_at = now
    else:
        if timezone.is_naive(performed_at):
            performed_at = timezone.make_aware(performed_at)
        try:
            dates.HAPPENED(performed_at)
        except ValidationError as exc:
            errors.add("performed_at", exc.messages[0])
        else:
            if performed_at > now:
                errors.add("performed_at", _("The visit or call cannot be in the future."))
    video_reference = clean_text(
        errors, "video_reference", video_reference, required=audit.kind == AuditKind.VIDEO_CHECK, max_length=500
    )
    if audit.kind != AuditKind.VIDEO_CHECK and video_reference:
        errors.add("video_reference", _("Only a video spot check refers to a recording."))
    summary = clean_text(errors, "summary", summary, required=False)
    return channel or "", performed_at, video_reference, summary


def _finalise(
    audit: Audit,
    *,
    by: Actor,
    channel: str,
    performed_at: dt.datetime,
    video_reference: str,
    summary: str,
    now: dt.datetime,
    finding_owner: Any = None,
    answer_field: Any = None,
) -> Audit:
    """Check the answers are complete and score them, mark the audit submitted, raise a finding per failed item
    and tell the owners and the store's managers.  Inside the caller's transaction, with the audit locked."""
    items = list(audit.checklist.items.order_by("position", "pk"))
    answers = {a.item_id: a for a in AuditAnswer.objects.filter(audit=audit).select_related("item")}
    errors = Errors()
    missing = [item for item in items if item.pk not in answers]
    if missing:
        errors.add(
            "answers",
            _("Answer every item: {n} left ({items}).").format(
                n=len(missing), items=", ".join(str(item.position) for item in missing[:10])
            ),
        )
    for item in items:
        answer = answers.get(item.pk)
        if answer is None:
            continue
        field = answer_field(item) if answer_field else "answers"
        if answer.result == AnswerResult.NA and not item.allows_na:
            errors.add(f"{field}.result" if answer_field else field, _(NO_NA))
        if answer.result == AnswerResult.FAIL and not answer.note.strip():
            errors.add(f"{field}.note" if answer_field else field, _(FAIL_NEEDS_NOTE))
    errors.raise_if_any()
    ordered = [answers[item.pk] for item in items]
    score = audit_score(ordered)
    if score is None:
        raise ValidationError({"answers": [_(NOTHING_APPLICABLE)]})
    audit.status = AuditStatus.SUBMITTED
    audit.score = score
    audit.submitted_at = now
    audit.channel = channel
    audit.performed_at = performed_at
    audit.video_reference = video_reference
    audit.summary = summary
    audit.save(
        update_fields=[
            "status",
            "score",
            "submitted_at",
            "channel",
            "performed_at",
            "video_reference",
            "summary",
            "auditor",
            "updated_at",
        ]
    )
    managers = _responsible(audit.store)
    default_owner = finding_owner or (store_managers(audit.store)[:1] or [None])[0]
    due = timezone.localdate(now) + dt.timedelta(days=_finding_days(audit.store))
    findings = []
    for answer in ordered:
        if answer.result != AnswerResult.FAIL:
            continue
        finding = Finding.objects.create(
            audit=audit,
            answer=answer,
            store=audit.store,
            text=answer.item.text[:300],
            text_en=answer.item.text_en[:300],
            owner=default_owner,
            due_date=due,
        )
        findings.append(finding)
        staff_notify(
            store=audit.store,
            users=[default_owner] if default_owner is not None else managers,
            template="audit_finding_opened",
            context={
                "store": audit.store.name,
                "kind": AuditKind(audit.kind).label,
                "audit": str(audit),
                "finding": f"{answer.item.text}（{answer.note}）" if answer.note else answer.item.text,
                "due": due.isoformat(),
            },
            dedupe_key=f"audit_finding:{finding.pk}",
            related=finding,
            url=_finding_url(finding),
        )
    staff_notify(
        store=audit.store,
        users=managers,
        template="audit_submitted",
        context={
            "store": audit.store.name,
            "kind": AuditKind(audit.kind).label,
            "audit": str(audit),
            "score": f"{score:.2f}",
            "findings": len(findings),
        },
        dedupe_key=f"audit_submitted:{audit.pk}",
        related=audit,
        url=_audit_url(audit),
    )
    trail(
        actor=actor_user(by),
        action="audit.submit",
        obj=audit,
        changes={"score": str(score), "findings": [f.pk for f in findings], "auditor": audit.auditor_id},
    )
    return audit


def _owner_check(errors: Errors, owner: Any, store: Store) -> None:
    if owner is None:
        return
    members = Membership.objects.filter(user=owner, store=store, role__in=FINDING_OWNER_ROLES)
    if not getattr(owner, "is_active", False) or not members.exists():
        errors.add("finding_owner", _("No member of this store's staff with this id can take this on."))


@transaction.atomic
def audit_submit(
    *,
    audit: Audit,
    by: Actor,
    channel: str = "",
    performed_at: dt.datetime | None = None,
    video_reference: str = "",
    summary: str = "",
    finding_owner: Any = None,
) -> Audit:
    """Submit a running audit: every item answered (n.a. only where the item allows it, a failed item with a
    note), a mystery shopper's channel, a video check's reference.  Scores it, raises a finding per failed item
    (owner: `finding_owner` or the store's manager; due after `audit_finding_days`), and tells the owners and the
    store's managers.  From now on the audited store sees the audit."""
    audit = _lock(audit)
    AUDIT.require(
        AUDIT.get("submit"), actor=by, state=audit.status, store_id=audit.store_id, assignee_id=audit.auditor_id
    )
    now = clock.now()
    errors = Errors()
    clean = _submission_checks(
        errors,
        audit,
        channel=channel,
        performed_at=performed_at,
        video_reference=video_reference,
        summary=summary,
        now=now,
    )
    _owner_check(errors, finding_owner, audit.store)
    errors.raise_if_any()
    channel, performed_at_clean, video_reference, summary = clean
    return _finalise(
        audit,
        by=by,
        channel=channel,
        performed_at=performed_at_clean,
        video_reference=video_reference,
        summary=summary,
        now=now,
        finding_owner=finding_owner,
    )


@transaction.atomic
def audit_record(
    *,
    by: Actor,
    store: Store,
    kind: str,
    checklist: AuditChecklist,
    answers: list[dict[str, Any]],
    order: RepairOrder | None = None,
    channel: str = "",
    performed_at: dt.datetime | None = None,
    video_reference: str = "",
    summary: str = "",
) -> Audit:
    """Record a whole audit at once (the API's `POST /audits`): created, answered and submitted in one
    transaction by its auditor, `by` (from outside the store).  `answers`: [{"item": id, "result", "note"}],
    one per item of the checklist.  A spot check of an order that already has a planned audit fills that one
    in.  Errors name the field: `answers.N.item`, `answers.N.result`, `answers.N.note`."""
    AUDIT.authorise(AUDIT.get("record"), actor=by, store_id=store.pk)
    user = _user(by)
    problem = auditor_problem(user, store)
    if problem is not None:
        raise PermissionDenied(problem)
    errors = Errors()
    kind = _kind_check(errors, kind)
    _checklist_check(errors, checklist, store=store, kind=kind)
    sample = _sample_of(errors, order, store=store, kind=kind) if kind else None
    items: dict[int, AuditChecklistItem] = {}
    if isinstance(checklist, AuditChecklist) and "checklist" not in errors.by_field:
        items = {item.pk: item for item in checklist.items.all()}
    rows: list[tuple[AuditChecklistItem, str, str]] = []
    index_of: dict[int, int] = {}
    probe = Audit(checklist=checklist if isinstance(checklist, AuditChecklist) else None)
    if not isinstance(answers, list | tuple) or not answers:
        errors.add("answers", _("Answer the items of the checklist."))
        answers = []
    for index, raw in enumerate(answers):
        prefix = f"answers.{index}."
        if not isinstance(raw, Mapping):
            errors.add(f"answers.{index}", _("Each answer is an object with its item and result."))
            continue
        raw_item = raw.get("item")
        item = items.get(raw_item) if isinstance(raw_item, int) and not isinstance(raw_item, bool) else None
        if item is not None and item.pk in index_of:
            errors.add(f"{prefix}item", _("This item is answered twice."))
            continue
        checked, result, note = _answer_checks(errors, prefix, probe, item, raw.get("result"), raw.get("note", ""))
        if checked is not None:
            index_of[checked.pk] = index
            if result == AnswerResult.FAIL and not note:
                errors.add(f"{prefix}note", _(FAIL_NEEDS_NOTE))
            rows.append((checked, result, note))
    if items and "answers" not in errors.by_field:
        missing = [item for item in items.values() if item.pk not in index_of]
        if missing and not any(key.startswith("answers.") for key in errors.by_field):
            errors.add(
                "answers",
                _("Answer every item: {n} left ({items}).").format(
                    n=len(missing),
                    items=", ".join(str(i.pk) for i in sorted(missing, key=lambda i: (i.position, i.pk))[:10]),
                ),
            )
    now = clock.now()
    audit = _open_audit_of(order, kind) if order is not None and sample is not None else None
    if audit is not None:
        audit = _lock(audit)
        # Read again under the lock: a second recording of the same sampled order waited for the first, which may
        # have submitted it meanwhile; reopening it would wipe its answers and findings.
        if audit.status not in (AuditStatus.PLANNED, AuditStatus.IN_PROGRESS):
            raise ApplicationError(
                _("The sampled order's audit was submitted meanwhile."), {"code": "invalid_transition"}
            )
        if audit.checklist_id != getattr(checklist, "pk", None):
            errors.add("checklist", _("The sampled order's audit uses checklist {id}.").format(id=audit.checklist_id))
        if audit.auditor_id not in (None, user.pk) and not user_can(user, Capability.MANAGE_AUDITS, store.pk):
            raise PermissionDenied(_("This sampled order's audit is another auditor's."))
    else:
        audit = Audit(
            store=store,
            kind=kind,
            checklist=checklist if isinstance(checklist, AuditChecklist) else None,
            order=order,
            sample=sample,
        )
    clean = _submission_checks(
        errors,
        audit,
        channel=channel,
        performed_at=performed_at,
        video_reference=video_reference,
        summary=summary,
        now=now,
    )
    errors.raise_if_any()
    if audit.pk is None:
        audit.created_by = user
    audit.auditor = user  # whoever recorded it audited it
    audit.status = AuditStatus.IN_PROGRESS
    audit.save()
    AuditAnswer.objects.filter(audit=audit).delete()
    AuditAnswer.objects.bulk_create(
        AuditAnswer(audit=audit, item=item, result=result, note=note) for item, result, note in rows
    )
    audit = _lock(audit)
    channel, performed_at_clean, video_reference, summary = clean
    return _finalise(
        audit,
        by=by,
        channel=channel,
        performed_at=performed_at_clean,
        video_reference=video_reference,
        summary=summary,
        now=now,
        answer_field=lambda item: f"answers.{index_of[item.pk]}",
    )


@transaction.atomic
def audit_cancel(*, audit: Audit, by: Actor, reason: str) -> Audit:
    """Cancel a planned or running audit, saying why (it is kept, with its answers, and never shown to the
    store)."""
    audit = _lock(audit)
    AUDIT.require(AUDIT.get("cancel"), actor=by, state=audit.status, store_id=audit.store_id)
    errors = Errors()
    reason = clean_text(errors, "reason", reason, max_length=300)
    errors.raise_if_any()
    before = audit.status
    audit.status = AuditStatus.CANCELLED
    audit.cancel_reason = reason
    audit.save(update_fields=["status", "cancel_reason", "updated_at"])
    trail(
        actor=actor_user(by),
        action="audit.cancel",
        obj=audit,
        changes={"status": [before, audit.status], "reason": reason},
    )
    return audit


# ------------------------------------------------------------------------------------------------- findings


@transaction.atomic
def finding_close(*, finding: Finding, by: Actor, resolution: str) -> Finding:
    """Close a finding with what was done (its owner, or whoever runs CAPAs in the store)."""
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    FINDING.require(
        FINDING.get("close"), actor=by, state=finding.status, store_id=finding.store_id, assignee_id=finding.owner_id
    )
    errors = Errors()
    resolution = clean_text(errors, "resolution", resolution, max_length=500)
    errors.raise_if_any()
    finding.status = FindingStatus.CLOSED
    finding.resolution = resolution
    finding.closed_at = clock.now()
    finding.closed_by = actor_user(by)
    finding.save(update_fields=["status", "resolution", "closed_at", "closed_by", "updated_at"])
    trail(actor=actor_user(by), action="audit_finding.close", obj=finding, changes={"resolution": resolution})
    return finding


@transaction.atomic
def findings_open_capa(*, by: Actor, findings: list[Finding], title: str) -> Capa:
    """Open one CAPA for one or several open findings of one store (findings alike: the same problem found more
    than once) and link them to it.  The CAPA then runs its own course in the feedback app."""
    errors = Errors()
    found = list(
        Finding.objects.select_for_update()
        .select_related("store")
        .filter(pk__in=[getattr(f, "pk", None) for f in findings or []])
        .order_by("pk")
    )
    if not found:
        raise ValidationError({"findings": [_("Choose the findings the CAPA is for.")]})
    stores = {f.store_id for f in found}
    for store_id in sorted(stores):  # the rights first: nothing about another store's findings is told
        FINDING.authorise(FINDING.get("open_capa"), actor=by, store_id=store_id)
    if len(stores) > 1:
        raise ValidationError({"findings": [_("A CAPA is one store's: choose findings of one store.")]})
    store = found[0].store
    if len(found) > MAX_FINDINGS_PER_CAPA:
        errors.add("findings", _("At most {n} findings in one CAPA.").format(n=MAX_FINDINGS_PER_CAPA))
    if any(f.status != FindingStatus.OPEN or f.capa_id is not None for f in found):
        errors.add("findings", _("Only open findings without a CAPA can open one."))
    title = clean_text(errors, "title", title, max_length=200)
    errors.raise_if_any()
    reference = " ".join(f"F-{f.pk}" for f in found)
    capa = capa_open(store=store, by=by, title=title, findings_ref=reference)
    Finding.objects.filter(pk__in=[f.pk for f in found]).update(capa=capa, updated_at=clock.now())
    trail(
        actor=actor_user(by),
        action="audit_finding.open_capa",
        obj=capa,
        changes={"findings": [f.pk for f in found]},
    )
    return capa


def finding_overdue_sweep(*, now: dt.datetime | None = None) -> int:
    """Once a day: tell each open finding's owner and the store's managers, once, that it fell due still open.
    Each finding is claimed by setting `overdue_alerted_at` (a conditional update, in the same transaction as its
    inbox items), so a rerun or a second worker tells nobody twice.  Returns how many findings were alerted."""
    now = now or clock.now()
    today = timezone.localdate(now)
    candidates = Finding.objects.filter(
        status=FindingStatus.OPEN, due_date__lt=today, overdue_alerted_at__isnull=True
    ).select_related("store", "owner", "owner__staff_profile")
    alerted = 0
    for chunk in keyset_chunks(candidates):
        for finding in chunk:
            with transaction.atomic():
                claimed = Finding.objects.filter(
                    pk=finding.pk, status=FindingStatus.OPEN, overdue_alerted_at__isnull=True
                ).update(overdue_alerted_at=now)
                if not claimed:
                    continue
                users = ([finding.owner] if finding.owner is not None else []) + _responsible(finding.store)
                staff_notify(
                    store=finding.store,
                    users=users,
                    template="audit_finding_overdue",
                    context={
                        "store": finding.store.name,
                        "finding": finding.text,
                        "owner": display_name(finding.owner),
                        "due": finding.due_date.isoformat(),
                    },
                    dedupe_key=f"audit_finding_overdue:{finding.pk}",
                    related=finding,
                    url=_finding_url(finding),
                )
                alerted += 1
    if alerted:
        logger.info("audit findings overdue: %s alerted", alerted)
    return alerted
