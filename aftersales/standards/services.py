"""Writes of the SOP library: install the built-in defaults into a group, open a store's variant, draft and edit a
version, publish (approve) it, and acknowledge it.

Rights (organisation.permissions.MANAGE_SOPS): a store's variant needs it in that store; the group's default needs it
in every store of the group (the group manager, the quality department, an administrator; a store manager of a
one-store group).  A published version never changes; a change is a new version.  Publishing asks each member of
staff who does the step in an affected store (and the store's managers) to acknowledge the version: one
`Acknowledgement` row each and an item in their inbox.  Bad input is a ValidationError naming the field, and
nothing is written."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.notifications.services import staff_notify
from aftersales.organisation.choices import Role
from aftersales.organisation.models import DealerGroup, Membership, Store
from aftersales.standards import selectors
from aftersales.standards.choices import ProcedureStep, VersionStatus
from aftersales.standards.defaults import DEFAULTS, default_for
from aftersales.standards.models import Acknowledgement, Procedure, ProcedureItem, ProcedureVersion

if TYPE_CHECKING:
    from django.contrib.auth.models import User
else:
    User = Any

TEXT_MAX = 8000
NOTE_MAX = 300
ITEM_MAX = 300
ITEMS_MAX = 40
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")

# Who does each step, and so is asked to acknowledge its new version (the store's managers always are).
STEP_ROLES: dict[str, frozenset[str]] = {
    ProcedureStep.BOOKING: frozenset({Role.ADVISOR, Role.AGENT}),
    ProcedureStep.RECEPTION: frozenset({Role.ADVISOR}),
    ProcedureStep.ESTIMATE: frozenset({Role.ADVISOR}),
    ProcedureStep.REPAIR: frozenset({Role.TECHNICIAN, Role.FOREMAN}),
    ProcedureStep.QC: frozenset({Role.FOREMAN, Role.TECHNICIAN}),
    ProcedureStep.DELIVERY: frozenset({Role.ADVISOR}),
    ProcedureStep.FOLLOW_UP: frozenset({Role.AGENT}),
    ProcedureStep.COMPLAINT: frozenset({Role.ADVISOR, Role.AGENT}),
}


# ------------------------------------------------------------------------------------------------------ rights


def _require_manage(by: Any, procedure: Procedure) -> None:
    if not selectors.may_manage(by, group_id=procedure.group_id, store_id=procedure.store_id):
        raise PermissionDenied(_("Your role may not do this."))


def _person(by: Any) -> Any:
    return by if getattr(by, "pk", None) else None


# ------------------------------------------------------------------------------------------------- validation


def _one_line(value: Any) -> bool:
    return not any(ord(c) < 32 for c in value)


def _clean_text(errors: dict[str, list[str]], text: Any) -> str:
    value = str(text or "").replace("\r\n", "\n").strip()
    if not value:
        errors["text"] = [_("Write the procedure.")]
    elif len(value) > TEXT_MAX or any(ord(c) < 32 and c not in "\n\t" for c in value):
        errors["text"] = [_("At most %(n)s characters of plain text.") % {"n": TEXT_MAX}]
    return value


def _clean_note(errors: dict[str, list[str]], note: Any, *, required: bool) -> str:
    value = str(note or "").strip()
    if len(value) > NOTE_MAX or not _one_line(value):
        errors["change_note"] = [_("At most %(n)s characters on one line.") % {"n": NOTE_MAX}]
    elif required and not value:
        errors["change_note"] = [_("Say what changed and why.")]
    return value


def _fresh_key(text_en: str, text: str, taken: set[str], position: int) -> str:
    base = slugify(text_en or text)[:32].strip("-_") or f"item-{position}"
    key, n = base, 2
    while key in taken:
        key = f"{base[:36]}-{n}"
        n += 1
    return key


def clean_items(items: Any) -> list[dict[str, Any]]:
    """The checklist as given: a list of {key (optional: a new item gets a slug key), text, text_en,
    customer_facing}.  ValidationError {"items": [...]} naming the item at fault."""
    problems: list[str] = []
    if not isinstance(items, list | tuple):
        raise ValidationError({"items": [_("The checklist must be a list of items.")]})
    rows = [row for row in items if not (isinstance(row, dict) and not str(row.get("text") or "").strip())]
    if not rows:
        raise ValidationError({"items": [_("A procedure needs at least one checklist item.")]})
    if len(rows) > ITEMS_MAX:
        raise ValidationError({"items": [_("At most %(n)s items.") % {"n": ITEMS_MAX}]})
    given = [str(row.get("key") or "").strip() for row in rows if isinstance(row, dict)]
    taken = {key for key in given if key}
    seen: set[str] = set()
    cleaned: list[dict[str, Any]] = []
    for position, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            problems.append(_("Item %(n)s: not an item.") % {"n": position})
            continue
        text = str(row.get("text") or "").strip()
        text_en = str(row.get("text_en") or "").strip()
        key = str(row.get("key") or "").strip()
        if len(text) > ITEM_MAX or not _one_line(text) or len(text_en) > ITEM_MAX or not _one_line(text_en):
            problems.append(_("Item %(n)s: at most %(max)s characters on one line.") % {"n": position, "max": ITEM_MAX})
        if key and not KEY_RE.match(key):
            problems.append(
                _("Item %(n)s: a key is lower-case letters, digits, - and _ (at most 40).") % {"n": position}
            )
        elif key in seen:
            problems.append(_("Item %(n)s: the key %(key)s is used twice.") % {"n": position, "key": key})
        if not key:
            key = _fresh_key(text_en, text, taken | seen, position)
        seen.add(key)
        cleaned.append(
            {
                "position": position,
                "key": key,
                "text": text,
                "text_en": text_en,
                "customer_facing": bool(row.get("customer_facing")),
            }
        )
    if problems:
        raise ValidationError({"items": problems})
    return cleaned


def items_of(version: ProcedureVersion) -> list[dict[str, Any]]:
    """A version's items as the dicts `version_draft` takes (to base a new draft on it)."""
    return [
        {"key": i.key, "text": i.text, "text_en": i.text_en, "customer_facing": i.customer_facing}
        for i in selectors.version_items(version)
    ]


# ----------------------------------------------------------------------------------------------- procedures


def _code(group: DealerGroup, step: str, store: Store | None) -> str:
    base = default_for(step).code
    return f"{base}-{store.code}"[:30] if store is not None else base


@transaction.atomic
def procedures_install_defaults(*, group: DealerGroup, by: User) -> int:
    """Give the group the built-in default of every step that has no group default yet, as a published v1
    (author and approver: `by`, who must manage the group's SOPs; effective today).  Idempotent: returns how many
    procedures were made.  Nobody is asked to acknowledge these: they are what the steps read already."""
    stores = set(Store.objects.filter(group=group).values_list("pk", flat=True))
    if not stores or not selectors.may_manage(by, group_id=group.pk, store_id=None):
        raise PermissionDenied(_("Your role may not do this."))
    have = set(Procedure.objects.filter(group=group, store__isnull=True).values_list("step", flat=True))
    now, today, made = clock.now(), clock.today(), 0
    for step, default in DEFAULTS.items():
        if step in have:
            continue
        procedure = Procedure.objects.create(group=group, store=None, step=step, code=default.code, title=default.title)
        version = ProcedureVersion.objects.create(
            procedure=procedure,
            number=1,
            status=VersionStatus.PUBLISHED,
            text=default.text,
            text_en=default.text_en,
            change_note="",
            effective_from=today,
            author=_person(by),
            approver=_person(by),
            published_at=now,
        )
        ProcedureItem.objects.bulk_create(
            [
                ProcedureItem(
                    version=version,
                    position=position,
                    key=item.key,
                    text=item.text,
                    text_en=item.text_en,
                    customer_facing=item.customer_facing,
                )
                for position, item in enumerate(default.items, start=1)
            ]
        )
        made += 1
    if made:
        audit_record(actor=by, action="procedure.install_defaults", obj=group, changes={"procedures": made})
    return made


@transaction.atomic
def procedure_ensure(*, group: DealerGroup, store: Store | None, step: Any, by: User) -> Procedure:
    """The group's default procedure of `step`, or `store`'s variant of it, made (without versions) when missing.
    A new variant replaces the group default in its store from its first published version on."""
    if step not in ProcedureStep.values:
        raise ValidationError({"step": [_("Choose a step of the service process.")]})
    if store is not None and store.group_id != group.pk:
        raise ValidationError({"store": [_("The store belongs to another dealer group.")]})
    probe = Procedure(group=group, store=store, step=step)
    _require_manage(by, probe)
    existing = Procedure.objects.filter(group=group, store=store, step=step).first()
    if existing is not None:
        return existing
    default = default_for(step)
    procedure = Procedure.objects.create(
        group=group, store=store, step=step, code=_code(group, step, store), title=default.title
    )
    audit_record(
        actor=by,
        action="procedure.create",
        obj=procedure,
        store_id=store.pk if store else None,
        changes={"code": procedure.code, "step": step},
    )
    return procedure


def base_version(procedure: Procedure) -> ProcedureVersion:
    """What a new draft of `procedure` starts from: its latest published version, else what is in force where it
    applies (for a variant, the group default's current version), else the built-in default."""
    latest = (
        procedure.versions.filter(status=VersionStatus.PUBLISHED).prefetch_related("items").order_by("-number").first()
    )
    if latest is not None:
        return latest
    if procedure.store_id is not None:
        assert procedure.store is not None
        return selectors.current_version(store=procedure.store, step=procedure.step)
    return selectors.built_in_version(group_id=procedure.group_id, step=procedure.step)


# ------------------------------------------------------------------------------------------------- versions


def _write_items(version: ProcedureVersion, items: list[dict[str, Any]]) -> None:
    ProcedureItem.objects.bulk_create([ProcedureItem(version=version, **item) for item in items])


@transaction.atomic
def version_draft(
    *,
    procedure: Procedure,
    by: User,
    text: Any = None,
    change_note: Any = "",
    items: Any = None,
) -> ProcedureVersion:
    """A new draft version (number = last + 1), based on `base_version` for whatever is not given.  One draft at a
    time: while one waits, it is edited rather than a second one started."""
    _require_manage(by, procedure)
    Procedure.objects.select_for_update(of=("self",)).filter(pk=procedure.pk).order_by().first()
    if procedure.versions.filter(status=VersionStatus.DRAFT).exists():
        raise ApplicationError(
            _("A draft of this procedure is already waiting: edit or publish it."), {"code": "draft_exists"}
        )
    base = base_version(procedure)
    number = (procedure.versions.aggregate(m=Max("number"))["m"] or 0) + 1
    errors: dict[str, list[str]] = {}
    clean_text = _clean_text(errors, base.text if text is None else text)
    note = _clean_note(errors, change_note, required=number > 1)
    try:
        clean = clean_items(items_of(base) if items is None else items)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    version = ProcedureVersion.objects.create(
        procedure=procedure,
        number=number,
        status=VersionStatus.DRAFT,
        text=clean_text,
        # The English text goes with the words it translates: a changed procedure has none until it is written.
        text_en=base.text_en if clean_text == base.text else "",
        change_note=note,
        author=_person(by),
    )
    _write_items(version, clean)
    audit_record(
        actor=by,
        action="procedure_version.draft",
        obj=version,
        store_id=procedure.store_id,
        changes={"code": procedure.code, "number": number, "items": len(clean), "change_note": note},
    )
    return version


def _require_draft(version: ProcedureVersion) -> None:
    if version.status != VersionStatus.DRAFT:
        raise ApplicationError(
            _("A published version never changes: draft a new version instead."), {"code": "invalid_transition"}
        )


@transaction.atomic
def version_edit(
    *, version: ProcedureVersion, by: User, text: Any = None, change_note: Any = None, items: Any = None
) -> ProcedureVersion:
    """Change a draft's text, change note or items (only those given)."""
    procedure = version.procedure
    _require_manage(by, procedure)
    version = ProcedureVersion.objects.select_for_update(of=("self",)).order_by().get(pk=version.pk)
    _require_draft(version)
    errors: dict[str, list[str]] = {}
    changed: dict[str, Any] = {}
    if text is not None:
        cleaned = _clean_text(errors, text)
        if cleaned != version.text:
            version.text, version.text_en = cleaned, ""  # the English no longer says the same
        changed["text"] = True
    if change_note is not None:
        version.change_note = _clean_note(errors, change_note, required=version.number > 1)
        changed["change_note"] = version.change_note
    clean: list[dict[str, Any]] | None = None
    if items is not None:
        try:
            clean = clean_items(items)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    version.save(update_fields=["text", "text_en", "change_note", "updated_at"])
    if clean is not None:
        version.items.all().delete()
        _write_items(version, clean)
        changed["items"] = len(clean)
    audit_record(actor=by, action="procedure_version.edit", obj=version, store_id=procedure.store_id, changes=changed)
    return version


def affected_stores(procedure: Procedure) -> list[Store]:
    """Where a new version of `procedure` applies: its store, or for the group default every store of the group
    without a published variant of its own."""
    if procedure.store_id is not None:
        return list(Store.objects.filter(pk=procedure.store_id))
    own = Procedure.objects.filter(
        group_id=procedure.group_id,
        step=procedure.step,
        store__isnull=False,
        versions__status=VersionStatus.PUBLISHED,
    ).values("store_id")
    return list(Store.objects.filter(group_id=procedure.group_id).exclude(pk__in=own).order_by("code"))


def affected_staff(procedure: Procedure, stores: Iterable[Store]) -> dict[int, list[Any]]:
    """{store id: the active staff who do the step there (and its managers)}, each person under one store only."""
    roles = STEP_ROLES[procedure.step] | {Role.MANAGER}
    by_store: dict[int, list[Any]] = {}
    seen: set[int] = set()
    memberships = (
        Membership.objects.filter(store__in=list(stores), role__in=roles, user__is_active=True)
        .select_related("user")
        .order_by("store__code", "user_id")
    )
    for membership in memberships:
        if membership.user_id in seen:
            continue
        seen.add(membership.user_id)
        assert membership.store_id is not None
        by_store.setdefault(membership.store_id, []).append(membership.user)
    return by_store


@transaction.atomic
def version_publish(*, version: ProcedureVersion, by: User, effective_from: dt.date | None = None) -> ProcedureVersion:
    """Approve and publish a draft: in force from `effective_from` (today or later; today when not given), approver
    `by`.  Each affected member of staff is asked to acknowledge it (a row and an inbox item)."""
    procedure = version.procedure
    _require_manage(by, procedure)
    version = (
        ProcedureVersion.objects.select_for_update(of=("self",))
        .select_related("procedure")
        .order_by()
        .get(pk=version.pk)
    )
    _require_draft(version)
    today = clock.today()
    effective = effective_from or today
    if not isinstance(effective, dt.date) or isinstance(effective, dt.datetime):
        raise ValidationError({"effective_from": [_("Enter a valid date.")]})
    if effective < today:
        raise ValidationError({"effective_from": [_("A version takes effect today or later, never in the past.")]})
    if not version.items.exists():
        raise ValidationError({"items": [_("A procedure needs at least one checklist item.")]})
    if version.number > 1 and not version.change_note.strip():
        raise ValidationError({"change_note": [_("Say what changed and why.")]})
    now = clock.now()
    version.status = VersionStatus.PUBLISHED
    version.effective_from = effective
    version.approver = by
    version.published_at = now
    version.save(update_fields=["status", "effective_from", "approver", "published_at", "updated_at"])
    staff = affected_staff(procedure, affected_stores(procedure))
    people = [person for persons in staff.values() for person in persons]
    Acknowledgement.objects.bulk_create(
        [Acknowledgement(version=version, user=person, asked_at=now) for person in people], ignore_conflicts=True
    )
    stores = {s.pk: s for s in Store.objects.filter(pk__in=list(staff))}
    url = reverse("standards:procedure", args=[procedure.pk]) + f"#v{version.number}"
    for store_id, persons in staff.items():
        staff_notify(
            store=stores[store_id],
            users=persons,
            template="sop_acknowledge",
            context={
                "code": procedure.code,
                "number": version.number,
                "title": procedure.title,
                "effective": effective.isoformat(),
                "note": version.change_note or "-",
                "store": stores[store_id].name,
            },
            dedupe_key=f"sop_ack:{version.pk}:{store_id}",  # each store's robot is told (the outbox key is unique)
            related=version,
            url=url,
        )
    audit_record(
        actor=by,
        action="procedure_version.publish",
        obj=version,
        store_id=procedure.store_id,
        changes={
            "code": procedure.code,
            "number": version.number,
            "effective_from": effective.isoformat(),
            "asked": len(people),
        },
    )
    return version


@transaction.atomic
def version_acknowledge(*, version: ProcedureVersion, by: User) -> Acknowledgement:
    """`by` has read the version they were asked to acknowledge (a second time changes nothing)."""
    ack = (
        Acknowledgement.objects.select_for_update(of=("self",))
        .filter(version=version, user_id=getattr(by, "pk", 0))
        .order_by()
        .first()
    )
    if ack is None or version.status != VersionStatus.PUBLISHED:
        raise ApplicationError(_("You were not asked to acknowledge this version."), {"code": "not_asked"})
    if ack.acknowledged_at is None:
        ack.acknowledged_at = clock.now()
        ack.save(update_fields=["acknowledged_at"])
        audit_record(
            actor=by,
            action="procedure_version.acknowledge",
            obj=version,
            store_id=version.procedure.store_id,
            changes={"code": version.procedure.code, "number": version.number},
        )
    return ack
