"""The audit trail as people read it: who (name and role), when (local time), the action in words and each changed
field as "before → after" with readable names and values, for the list, one record's history and the auditor's
CSV/XLSX export.

Services record `changes` in two shapes: `{field: [old, new]}` for a change and `{field: value}` for a fact of the
action (a reason, a line's id).  Both are read here.  The trail never holds a decrypted personal value (services
record phone, ID number and address as ***); anything under those keys is shown masked whatever it holds, and a
plate is masked unless the reader may see plates in the entry's store.

This app sits below the apps whose records it describes, so it names their models by label (`apps.get_model`)
rather than importing them."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import models
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from aftersales.core.audit import action_label, audited_model, field_label
from aftersales.core.models import AuditEntry
from aftersales.core.scoping import store_ids_where, visible_store_ids
from aftersales.organisation.choices import Role
from aftersales.organisation.models import DealerGroup, Membership, StaffProfile, Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.organisation.settings_catalogue import BY_KEY

SETTINGS_TYPE = "organisation.settings"
MASKED = "***"
# Keys whose values the trail never shows, whoever reads it.
PERSONAL_KEYS = frozenset(
    {
        "phone",
        "id_number",
        "address",
        "phone_encrypted",
        "id_number_encrypted",
        "address_encrypted",
        "phone_hash",
        "phone_last4_hash",
        "id_number_hash",
    }
)
PLATE_KEYS = frozenset({"plate"})
# Keys recorded as a list that is the value itself, not [before, after].
LIST_VALUED_KEYS = frozenset({"warnings"})
# Recorded keys (not model fields) that hold another record's id.
REFERENCE_KEYS = {"line": "service.estimateline", "order": "service.repairorder", "of": "service.repairorder"}
# Records whose name is cheap and not personal: an id of one of these shows as the record's name.
RESOLVABLE = frozenset(
    {"auth.user", "organisation.bay", "organisation.store", "service.repairorder", "service.estimateline"}
)
# A record's history also shows the entries of the records that belong to it: (child type, lookup to the parent).
CHILDREN: dict[str, tuple[tuple[str, str], ...]] = {
    "service.repairorder": (
        ("feedback.recoverytask", "order_id"),
        ("service.deferredwork", "source_line__estimate__order_id"),
    ),
    "customers.customer": (("customers.vehicle", "customer_id"),),
}
# Keys recorded on one record that are fields of another model: a consent is recorded on its customer.
BORROWED_FIELDS: dict[tuple[str, str], str] = {
    ("customers.customer", "purpose"): "customers.consent",
    ("customers.customer", "channel"): "customers.consent",
    ("customers.customer", "notice_version"): "customers.consent",
}
HISTORY_MAX = 2000  # one record's history page shows at most this many entries (the export has them all)
EXPORT_CHUNK = 2000

EXPORT_COLUMNS = ("time", "actor", "role", "store", "action", "record type", "record id", "field", "before", "after")


def export_headers() -> list[str]:
    return [
        _("Time"),
        _("Who"),
        _("Role"),
        _("Store"),
        _("Action"),
        _("Record type"),
        _("Record id"),
        _("Field"),
        _("Before"),
        _("After"),
    ]


@dataclass
class Change:
    label: str
    before: str
    after: str
    has_before: bool  # False for a fact of the action ({field: value}): shown as "field: value"


@dataclass
class Row:
    at: dt.datetime
    actor: str
    role: str
    store: str
    action: str
    record: str
    object_type: str
    object_id: str
    changes: list[Change] = field(default_factory=list)
    entry_id: int | None = None


# --------------------------------------------------------------------------------------------- labels and values


def record_label(object_type: str) -> str:
    if object_type == SETTINGS_TYPE:
        return _("settings")
    model = audited_model(object_type)
    return str(model._meta.verbose_name) if model is not None else object_type


def changed_field_label(object_type: str, key: str) -> str:
    if object_type == SETTINGS_TYPE and key in BY_KEY:
        return str(BY_KEY[key].label)
    borrowed = BORROWED_FIELDS.get((object_type, key))
    return field_label(borrowed or object_type, key)


def _model_field(object_type: str, key: str) -> models.Field[Any, Any] | None:
    model = audited_model(BORROWED_FIELDS.get((object_type, key), object_type))
    if model is None:
        return None
    try:
        found = model._meta.get_field(key)
    except FieldDoesNotExist:
        return None
    return found if isinstance(found, models.Field) else None


def _reference_type(object_type: str, key: str) -> str | None:
    """The label of the model whose id this key holds, when its name may be shown."""
    model_field = _model_field(object_type, key)
    if model_field is not None:
        if model_field.is_relation and model_field.related_model is not None:
            label = model_field.related_model._meta.label_lower  # type: ignore[union-attr]
            return label if label in RESOLVABLE else None
        return None
    return REFERENCE_KEYS.get(key)


def _split(key: str, raw: Any) -> tuple[bool, Any, Any]:
    """(has_before, before, after) of one recorded value in either shape."""
    if isinstance(raw, list) and len(raw) == 2 and key not in LIST_VALUED_KEYS:
        return True, raw[0], raw[1]
    return False, None, raw


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


class _References:
    """The names of the records that recorded ids point at, loaded once per batch (one query per model)."""

    def __init__(self) -> None:
        self.wanted: dict[str, set[int]] = defaultdict(set)
        self.names: dict[tuple[str, int], str] = {}

    def want(self, label: str, value: Any) -> None:
        pk = _as_int(value)
        if pk is not None:
            self.wanted[label].add(pk)

    def load(self) -> None:
        for label, pks in self.wanted.items():
            if label == "auth.user":
                people = StaffProfile.objects.filter(user_id__in=pks).values_list("user_id", "display_name")
                found = dict(people)
                for pk, username in get_user_model().objects.filter(pk__in=pks).values_list("pk", "username"):
                    self.names[(label, pk)] = found.get(pk) or username
                continue
            model = apps.get_model(label)
            for pk, obj in model._default_manager.in_bulk(list(pks)).items():
                self.names[(label, int(pk))] = str(obj)
        self.wanted.clear()

    def name(self, label: str, value: Any) -> str | None:
        pk = _as_int(value)
        return None if pk is None else self.names.get((label, pk))


def _mask_plate(plate: str) -> str:
    plate = plate.replace("·", "").strip()
    return f"{plate[:2]}·***{plate[-2:]}" if len(plate) > 4 else MASKED


def _when(value: Any, model_field: models.Field[Any, Any] | None) -> str | None:
    """A recorded date or time (ISO text) in the reader's format and local time; None when it is not one."""
    if not isinstance(value, str) or len(value) < 10 or value[4:5] != "-":
        return None
    if isinstance(model_field, models.DateTimeField) or "T" in value or " " in value:
        try:
            moment = parse_datetime(value)
        except ValueError:
            moment = None
        if moment is not None:
            if timezone.is_aware(moment):
                moment = timezone.localtime(moment)
            return formats.date_format(moment, "SHORT_DATETIME_FORMAT")
    try:
        day = parse_date(value)
    except ValueError:
        day = None
    return formats.date_format(day, "SHORT_DATE_FORMAT") if day is not None else None


def _value(object_type: str, key: str, value: Any, refs: _References, *, see_plates: bool) -> str:
    if key in PERSONAL_KEYS:
        return "" if value in (None, "") else MASKED
    if value is None or value == "":
        return ""
    if key in PLATE_KEYS and not see_plates:
        return _mask_plate(str(value))
    model_field = _model_field(object_type, key)
    if isinstance(value, bool) or isinstance(model_field, models.BooleanField):
        truth = value if isinstance(value, bool) else str(value).lower() in ("true", "1", "yes")
        return _("yes") if truth else _("no")
    if model_field is not None and model_field.choices:
        labels = {str(k): str(v) for k, v in model_field.flatchoices}
        return labels.get(str(value), str(value))
    reference = _reference_type(object_type, key)
    if reference is not None:
        name = refs.name(reference, value)
        if name is not None:
            return name
        return f"#{value}" if _as_int(value) is not None else str(value)
    if model_field is not None and model_field.is_relation:
        return f"#{value}"
    when = _when(value, model_field)
    if when is not None:
        return when
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


# --------------------------------------------------------------------------------------------- rows


def _roles(entries: list[AuditEntry]) -> dict[tuple[int, int | None], str]:
    """(user, store) → the user's roles in words in that store (store and group memberships), in one query."""
    actor_ids = {e.actor_id for e in entries if e.actor_id}
    if not actor_ids:
        return {}
    store_groups = dict(Store.objects.values_list("pk", "group_id")) if actor_ids else {}
    by_user: dict[int, list[tuple[int | None, int, str]]] = defaultdict(list)
    for user_id, store_id, group_id, role in Membership.objects.filter(user_id__in=actor_ids).values_list(
        "user_id", "store_id", "group_id", "role"
    ):
        by_user[user_id].append((store_id, group_id, role))
    labels = dict(Role.choices)
    result: dict[tuple[int, int | None], str] = {}
    for e in entries:
        if not e.actor_id or (e.actor_id, e.store_id) in result:
            continue
        group_id = store_groups.get(e.store_id) if e.store_id is not None else None
        roles = [
            role
            for store_id, member_group, role in by_user.get(e.actor_id, [])
            if e.store_id is None or store_id == e.store_id or (store_id is None and member_group == group_id)
        ]
        result[(e.actor_id, e.store_id)] = ", ".join(str(labels.get(r, r)) for r in dict.fromkeys(roles))
    return result


def describe(entries: Iterable[AuditEntry], *, user: User) -> list[Row]:
    """Readable rows for a batch of entries (fetched with `select_related("actor__staff_profile")`): a fixed
    number of queries per batch, whatever its size."""
    batch = list(entries)
    refs = _References()
    for e in batch:
        for key, raw in (e.changes or {}).items():
            reference = _reference_type(e.object_type, key)
            if reference is None:
                continue
            _has, before, after = _split(key, raw)
            refs.want(reference, before)
            refs.want(reference, after)
    refs.load()
    roles = _roles(batch)
    stores = {s.pk: str(s) for s in Store.objects.filter(pk__in={e.store_id for e in batch if e.store_id})}
    plates_in = store_ids_where(user, Capability.SEE_PLATES)
    rows = []
    for e in batch:
        see_plates = e.store_id in plates_in if e.store_id is not None else bool(user.is_superuser)
        changes = []
        for key, raw in (e.changes or {}).items():
            has_before, before, after = _split(key, raw)
            changes.append(
                Change(
                    label=changed_field_label(e.object_type, key),
                    before=_value(e.object_type, key, before, refs, see_plates=see_plates) if has_before else "",
                    after=_value(e.object_type, key, after, refs, see_plates=see_plates),
                    has_before=has_before,
                )
            )
        rows.append(
            Row(
                at=timezone.localtime(e.at),
                actor=_actor_name(e),
                role=roles.get((e.actor_id, e.store_id), "") if e.actor_id else "",
                store=stores.get(e.store_id, "") if e.store_id else "",
                action=action_label(e.action),
                record=record_label(e.object_type),
                object_type=e.object_type,
                object_id=e.object_id,
                changes=changes,
                entry_id=e.pk,
            )
        )
    return rows


def _actor_name(entry: AuditEntry) -> str:
    actor = entry.actor
    if actor is None:
        return _("system")
    profile = getattr(actor, "staff_profile", None)
    return (profile.display_name if profile is not None else "") or actor.username


# --------------------------------------------------------------------------------------------- which entries


def audit_entries_for_user(user: User, *, store_ids: Iterable[int] | None = None) -> QuerySet[AuditEntry]:
    """The entries the user may read: of the stores where they hold VIEW_AUDIT, and the group settings' changes
    (recorded without a store) of the groups where they hold it in some store."""
    allowed = store_ids_where(user, Capability.VIEW_AUDIT)
    if store_ids is not None:
        allowed = allowed & frozenset(store_ids)
    group_codes = list(DealerGroup.objects.filter(stores__in=allowed).values_list("code", flat=True).distinct())
    return AuditEntry.objects.filter(
        Q(store_id__in=allowed) | Q(store_id__isnull=True, object_type=SETTINGS_TYPE, object_id__in=group_codes)
    )


@dataclass
class RecordHistory:
    object_type: str
    object_id: str
    title: str
    store_id: int | None
    entries: QuerySet[AuditEntry]
    extra: list[Row]  # history kept outside the audit trail (a customer's tier changes)


def record_history(*, user: User, object_type: str, object_id: str) -> RecordHistory:
    """One record's history for a reader who holds VIEW_AUDIT in the record's store; 403 for a record of their
    own stores without it, 404 for anything else (a record of another store looks exactly like a missing one)."""
    if object_type == SETTINGS_TYPE:
        return _settings_history(user, object_id)
    model = audited_model(object_type)
    if model is None:
        raise Http404("No such record type.")
    own = Q(object_type=object_type, object_id=object_id)
    manager = model._default_manager
    scoped = hasattr(manager, "for_user") and getattr(model, "store_lookup", None)
    if scoped:
        try:
            record = manager.for_user(user, Capability.VIEW_AUDIT).filter(pk=object_id).first()  # type: ignore[attr-defined]
            exists = record is not None or model._base_manager.filter(pk=object_id).exists()
        except (ValueError, TypeError) as exc:
            raise Http404("No such record.") from exc
        if record is None and exists:
            if manager.for_user(user).filter(pk=object_id).exists():  # type: ignore[attr-defined]
                raise PermissionDenied(_("Your role may not read the audit trail of this store."))
            raise Http404("No such record.")
        if record is not None:
            condition = own
            for child_type, lookup in CHILDREN.get(object_type, ()):
                child = apps.get_model(child_type)
                ids = [
                    str(pk) for pk in child._default_manager.filter(**{lookup: record.pk}).values_list("pk", flat=True)
                ]
                if ids:
                    condition |= Q(object_type=child_type, object_id__in=ids)
            return RecordHistory(
                object_type=object_type,
                object_id=object_id,
                title=f"{model._meta.verbose_name} {record}",
                store_id=getattr(record, "store_id", None),
                entries=AuditEntry.objects.filter(condition),
                extra=_tier_changes(record) if object_type == "customers.customer" else [],
            )
    # A record gone (a removed closed day) or one without a store of its own: its entries of the reader's stores.
    entries = AuditEntry.objects.for_user(user, Capability.VIEW_AUDIT).filter(own)
    first = entries.order_by("id").first()
    if first is None:
        raise Http404("No such record.")
    return RecordHistory(
        object_type=object_type,
        object_id=object_id,
        title=f"{model._meta.verbose_name} #{object_id}",
        store_id=first.store_id,
        entries=entries,
        extra=[],
    )


def _settings_history(user: User, code: str) -> RecordHistory:
    """A store's settings (object id: the store's code) or its group's defaults (the group's code)."""
    entries = AuditEntry.objects.filter(object_type=SETTINGS_TYPE, object_id=code)
    store = Store.objects.filter(code=code).first()
    if store is not None and user_can(user, Capability.VIEW_AUDIT, store.pk):
        return RecordHistory(
            SETTINGS_TYPE,
            code,
            _("Settings of {store}").format(store=store),
            store.pk,
            entries.filter(store_id=store.pk),
            [],
        )
    if store is not None and store.pk in visible_store_ids(user):
        raise PermissionDenied(_("Your role may not read the audit trail of this store."))
    group = DealerGroup.objects.filter(code=code).first()
    if group is not None and store_ids_where(user, Capability.VIEW_AUDIT) & set(
        group.stores.values_list("pk", flat=True)
    ):
        return RecordHistory(
            SETTINGS_TYPE,
            code,
            _("{group} (group defaults)").format(group=group.name),
            None,
            entries.filter(store_id__isnull=True),
            [],
        )
    raise Http404("No such record.")


def _tier_changes(customer: models.Model) -> list[Row]:
    """The customer's tier history (crm.TierChange, written by the nightly computation) as rows of the trail."""
    try:
        model = apps.get_model("crm", "TierChange")
    except LookupError:
        return []
    tier_field = model._meta.get_field("to_tier")
    labels = {str(k): str(v) for k, v in tier_field.flatchoices}  # type: ignore[attr-defined]
    rows = []
    for change in model._default_manager.filter(customer_id=customer.pk).order_by("-created_at", "-id"):
        rows.append(
            Row(
                at=timezone.localtime(change.created_at),
                actor=_("system"),
                role="",
                store="",
                action=_("Tier changed"),
                record=str(model._meta.verbose_name),
                object_type="crm.tierchange",
                object_id=str(change.pk),
                changes=[
                    Change(
                        str(_("tier")),
                        labels.get(change.from_tier, "") if change.from_tier else _("no tier"),
                        labels.get(change.to_tier, "") if change.to_tier else _("no tier"),
                        True,
                    ),
                    Change(str(model._meta.get_field("rule").verbose_name), "", change.rule, False),
                ],
            )
        )
    return rows


def history_rows(history: RecordHistory, *, user: User) -> list[Row]:
    """The record's rows newest first: its entries (at most HISTORY_MAX) and the history kept elsewhere."""
    entries = history.entries.select_related("actor__staff_profile").order_by("-at", "-id")[:HISTORY_MAX]
    rows = describe(entries, user=user) + history.extra
    rows.sort(key=lambda row: row.at, reverse=True)
    return rows


# --------------------------------------------------------------------------------------------- export


def export_lines(entries: QuerySet[AuditEntry], *, user: User) -> Iterator[list[str]]:
    """The export's lines, one per changed field (one for an entry without fields), read in chunks so a range of
    100 000 entries never sits in memory; a fixed number of queries per chunk."""
    chunk: list[AuditEntry] = []
    query = entries.select_related("actor__staff_profile").order_by("-at", "-id")
    for entry in query.iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(entry)
        if len(chunk) >= EXPORT_CHUNK:
            yield from _lines(describe(chunk, user=user))
            chunk = []
    if chunk:
        yield from _lines(describe(chunk, user=user))


def rows_lines(rows: Iterable[Row]) -> Iterator[list[str]]:
    return _lines(rows)


def _lines(rows: Iterable[Row]) -> Iterator[list[str]]:
    for row in rows:
        head = [
            row.at.strftime("%Y-%m-%d %H:%M:%S"),
            row.actor,
            row.role,
            row.store,
            row.action,
            row.record,
            row.object_id,
        ]
        if not row.changes:
            yield [*head, "", "", ""]
        for change in row.changes:
            yield [*head, change.label, change.before, change.after]
