"""Reads of the SOP library: the current version of a step in a store (with the built-in fallback), the library
a user sees, one procedure with its versions and the difference between two versions, and the acknowledgements.

Every read here is a bounded number of queries whatever the number of procedures, versions or staff (the tests
count them); nothing here writes."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.http import Http404

from aftersales.core import clock
from aftersales.core.scoping import store_ids_where
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.standards.choices import ProcedureStep, VersionStatus
from aftersales.standards.defaults import default_for
from aftersales.standards.models import Acknowledgement, Procedure, ProcedureItem, ProcedureVersion

BUILT_IN = 0  # the number of the unsaved version built from defaults.py


# ------------------------------------------------------------------------------------------ the current version


def built_in_version(*, group_id: int, step: str) -> ProcedureVersion:
    """The built-in default of `step` as an unsaved version (number 0) with its items attached; never saved."""
    default = default_for(step)
    procedure = Procedure(group_id=group_id, store=None, step=default.step, code=default.code, title=default.title)
    version = ProcedureVersion(
        procedure=procedure,
        number=BUILT_IN,
        status=VersionStatus.PUBLISHED,
        text=default.text,
        text_en=default.text_en,
        change_note="",
        effective_from=None,
    )
    version._built_in_items = [  # type: ignore[attr-defined]
        ProcedureItem(
            position=position,
            key=item.key,
            text=item.text,
            text_en=item.text_en,
            customer_facing=item.customer_facing,
        )
        for position, item in enumerate(default.items, start=1)
    ]
    return version


def version_items(version: ProcedureVersion) -> list[ProcedureItem]:
    """The checklist items of any version, saved or built in, in their order (uses a prefetch when there is one)."""
    built_in = getattr(version, "_built_in_items", None)
    if built_in is not None:
        return list(built_in)
    if version.pk is None:
        return []
    return sorted(version.items.all(), key=lambda item: (item.position, item.pk or 0))


def _published_on(on: dt.date) -> QuerySet[ProcedureVersion]:
    return ProcedureVersion.objects.filter(status=VersionStatus.PUBLISHED, effective_from__lte=on)


def current_version(*, store: Store, step: str, on: dt.date | None = None) -> ProcedureVersion:
    """The version of `step` in force in `store` on `on` (today): the store's variant's latest published version
    effective by then, else the group default's, else the built-in default (unsaved, number 0).  Two queries:
    the version (with its procedure) and its items."""
    step = ProcedureStep(step)
    on = on or clock.today()
    candidates = (
        _published_on(on)
        .filter(procedure__step=step)
        .filter(Q(procedure__store_id=store.pk) | Q(procedure__store__isnull=True, procedure__group_id=store.group_id))
        .select_related("procedure")
        .prefetch_related("items")
    )
    # A store's variant first, then the highest number (a newer published version supersedes an older one).
    best = candidates.order_by(F("procedure__store_id").asc(nulls_last=True), "-number").first()
    if best is not None:
        return best
    return built_in_version(group_id=store.group_id, step=step)


def version_label(version: ProcedureVersion) -> str:
    """ "SOP-QC v2" (the built-in default reads "SOP-QC v0")."""
    return f"{version.procedure.code} v{version.number}"


# ------------------------------------------------------------------------------------------------- the library


def visible_group_ids(user: Any) -> frozenset[int]:
    """The dealer groups of the stores `user` sees (every member of staff reads their group's library)."""
    ids = store_ids_where(user)
    if not ids:
        return frozenset()
    return frozenset(Store.objects.filter(pk__in=ids).values_list("group_id", flat=True).distinct())


def procedures_for(user: Any) -> QuerySet[Procedure]:
    """The procedures `user` may read: the group defaults of their groups and the variants of their stores."""
    store_ids = store_ids_where(user)
    groups = visible_group_ids(user)
    return Procedure.objects.filter(
        Q(store__isnull=True, group_id__in=groups) | Q(store_id__in=store_ids, group_id__in=groups)
    )


def procedure_get_for_user_or_404(user: Any, pk: int) -> Procedure:
    procedure = procedures_for(user).select_related("group", "store").filter(pk=pk).first()
    if procedure is None:
        raise Http404
    return procedure


def may_manage(user: Any, *, group_id: int, store_id: int | None) -> bool:
    """MANAGE_SOPS in the store for its variant; in every store of the group for the group's default."""
    if store_id is not None:
        return user_can(user, Capability.MANAGE_SOPS, store_id)
    group_stores = set(Store.objects.filter(group_id=group_id).values_list("pk", flat=True))
    return bool(group_stores) and group_stores <= store_ids_where(user, Capability.MANAGE_SOPS)


@dataclass
class Share:
    """How many of the staff asked to acknowledge a version have done so."""

    asked: int = 0
    acknowledged: int = 0

    @property
    def percent(self) -> int | None:
        return round(100 * self.acknowledged / self.asked) if self.asked else None


@dataclass
class LibraryEntry:
    """One procedure (or the built-in default not installed yet) in the library: what is in force today, what is
    published for a later day, whether a draft is waiting, and the share of acknowledgements of the current one."""

    step: str
    store: Store | None
    procedure: Procedure | None
    current: ProcedureVersion | None
    upcoming: ProcedureVersion | None = None
    drafts: int = 0
    share: Share = field(default_factory=Share)

    @property
    def code(self) -> str:
        if self.procedure is not None:
            return self.procedure.code
        return default_for(self.step).code


@dataclass
class LibraryRow:
    step: str
    label: str
    default: LibraryEntry
    variants: list[LibraryEntry]


@dataclass
class GroupLibrary:
    group_id: int
    group_name: str
    rows: list[LibraryRow]
    may_manage_default: bool


def _shares(version_ids: list[int]) -> dict[int, Share]:
    rows = (
        Acknowledgement.objects.filter(version_id__in=version_ids)
        .order_by()
        .values("version_id")
        .annotate(asked=Count("id"), acknowledged=Count("id", filter=Q(acknowledged_at__isnull=False)))
    )
    return {row["version_id"]: Share(row["asked"], row["acknowledged"]) for row in rows}


def library_for(user: Any, *, on: dt.date | None = None, step: str | None = None) -> list[GroupLibrary]:
    """The library page: per group the user sees, one row per step with the group default and the store variants
    (of the user's stores), each with its version in force on `on`.  Five queries whatever the size."""
    on = on or clock.today()
    store_ids = store_ids_where(user)
    stores = {s.pk: s for s in Store.objects.filter(pk__in=store_ids).select_related("group")}
    groups = {s.group_id: s.group for s in stores.values()}
    procedures = procedures_for(user).filter(group_id__in=groups)
    if step:
        procedures = procedures.filter(step=step)
    procedures_list = list(procedures.select_related("store"))
    versions: dict[int, list[ProcedureVersion]] = defaultdict(list)
    for version in ProcedureVersion.objects.filter(procedure__in=[p.pk for p in procedures_list]).order_by(
        "procedure_id", "-number"
    ):
        versions[version.procedure_id].append(version)

    def entry(step_value: str, store: Store | None, procedure: Procedure | None) -> LibraryEntry:
        if procedure is None:
            return LibraryEntry(step=step_value, store=store, procedure=None, current=None)
        mine = versions.get(procedure.pk, [])
        published = [v for v in mine if v.status == VersionStatus.PUBLISHED]
        current = next((v for v in published if v.effective_from and v.effective_from <= on), None)
        upcoming = next(
            (
                v
                for v in published
                if v.effective_from and v.effective_from > on and (not current or v.number > current.number)
            ),
            None,
        )
        return LibraryEntry(
            step=step_value,
            store=store,
            procedure=procedure,
            current=current,
            upcoming=upcoming,
            drafts=sum(1 for v in mine if v.status == VersionStatus.DRAFT),
        )

    by_key = {(p.group_id, p.store_id, p.step): p for p in procedures_list}
    manage_ids = store_ids_where(user, Capability.MANAGE_SOPS)
    group_store_ids: dict[int, set[int]] = defaultdict(set)
    for group_id, pk in Store.objects.filter(group_id__in=groups).values_list("group_id", "pk"):
        group_store_ids[group_id].add(pk)
    result: list[GroupLibrary] = []
    all_entries: list[LibraryEntry] = []
    for group_id, group in sorted(groups.items(), key=lambda item: item[1].code):
        rows = []
        for value, label in ProcedureStep.choices:
            if step and value != step:
                continue
            default = entry(value, None, by_key.get((group_id, None, value)))
            variants = [
                entry(value, store, by_key[(group_id, store.pk, value)])
                for store in sorted(stores.values(), key=lambda s: s.code)
                if store.group_id == group_id and (group_id, store.pk, value) in by_key
            ]
            rows.append(LibraryRow(step=value, label=str(label), default=default, variants=variants))
            all_entries.extend([default, *variants])
        result.append(
            GroupLibrary(
                group_id=group_id,
                group_name=group.name,
                rows=rows,
                may_manage_default=bool(group_store_ids[group_id]) and group_store_ids[group_id] <= manage_ids,
            )
        )
    shares = _shares([e.current.pk for e in all_entries if e.current is not None])
    for item in all_entries:
        if item.current is not None:
            item.share = shares.get(item.current.pk, Share())
    return result


# ------------------------------------------------------------------------------------- one procedure, versions


@dataclass
class ItemChange:
    """One line of the difference between two versions' checklists."""

    kind: str  # "added", "removed", "changed", "same"
    key: str
    old: ProcedureItem | None
    new: ProcedureItem | None


def items_diff(old: list[ProcedureItem], new: list[ProcedureItem]) -> list[ItemChange]:
    """The items of `new` against `old`, matched by key, in `new`'s order with the removed ones after."""
    before = {item.key: item for item in old}
    after_keys = {item.key for item in new}
    changes: list[ItemChange] = []
    for item in new:
        previous = before.get(item.key)
        if previous is None:
            changes.append(ItemChange("added", item.key, None, item))
        elif (previous.text, previous.text_en, previous.customer_facing) != (
            item.text,
            item.text_en,
            item.customer_facing,
        ):
            changes.append(ItemChange("changed", item.key, previous, item))
        else:
            changes.append(ItemChange("same", item.key, previous, item))
    changes.extend(ItemChange("removed", item.key, item, None) for item in old if item.key not in after_keys)
    return changes


@dataclass
class VersionView:
    version: ProcedureVersion
    items: list[ProcedureItem]
    diff: list[ItemChange]  # against the previous version (the built-in default for v1)
    share: Share
    in_force: bool
    text_changed: bool
    store_shares: list[tuple[Store, Share]] = field(default_factory=list)  # filled for those who manage it


def procedure_versions(procedure: Procedure, *, on: dt.date | None = None) -> list[VersionView]:
    """Every version of the procedure, newest first, with its items, the difference from the version before it
    and its acknowledgement share.  Three queries (versions with people, items, shares)."""
    on = on or clock.today()
    versions = list(
        procedure.versions.select_related("author__staff_profile", "approver__staff_profile")
        .prefetch_related(
            Prefetch("items", queryset=ProcedureItem.objects.order_by("position", "id")),
            "capas",  # the CAPAs that drafted a version (feedback's reverse relation; standards imports no feedback)
        )
        .order_by("-number")
    )
    shares = _shares([v.pk for v in versions if v.status == VersionStatus.PUBLISHED])
    current = next(
        (
            v
            for v in versions
            if v.status == VersionStatus.PUBLISHED and v.effective_from is not None and v.effective_from <= on
        ),
        None,
    )
    built_in = built_in_version(group_id=procedure.group_id, step=procedure.step)
    views: list[VersionView] = []
    for index, version in enumerate(versions):
        previous = versions[index + 1] if index + 1 < len(versions) else built_in
        items = version_items(version)
        views.append(
            VersionView(
                version=version,
                items=items,
                diff=items_diff(version_items(previous), items),
                share=shares.get(version.pk, Share()),
                in_force=current is not None and version.pk == current.pk,
                text_changed=previous.text != version.text,
            )
        )
    return views


def version_get(procedure: Procedure, pk: int) -> ProcedureVersion:
    version = procedure.versions.filter(pk=pk).first()
    if version is None:
        raise Http404
    return version


def shares_by_store(version_ids: list[int]) -> dict[int, list[tuple[Store, Share]]]:
    """{version id: [(store, asked and acknowledged there)]} by the staff's store memberships.  Two queries for
    any number of versions."""
    rows = list(
        Acknowledgement.objects.filter(version_id__in=version_ids, user__memberships__store__isnull=False)
        .order_by()
        .values("version_id", "user__memberships__store_id")
        .annotate(
            asked=Count("user_id", distinct=True),
            acknowledged=Count("user_id", filter=Q(acknowledged_at__isnull=False), distinct=True),
        )
    )
    stores = Store.objects.in_bulk({row["user__memberships__store_id"] for row in rows})
    result: dict[int, list[tuple[Store, Share]]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: stores[r["user__memberships__store_id"]].code):
        store = stores[row["user__memberships__store_id"]]
        result[row["version_id"]].append((store, Share(row["asked"], row["acknowledged"])))
    return dict(result)


# ------------------------------------------------------------------------------------------ acknowledgements


def pending_acknowledgements(user: Any) -> list[Acknowledgement]:
    """The published versions `user` was asked to read and has not acknowledged yet, oldest request first."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        Acknowledgement.objects.filter(user=user, acknowledged_at__isnull=True, version__status=VersionStatus.PUBLISHED)
        .select_related("version__procedure__store")
        .order_by("asked_at", "id")
    )


def acknowledgement_of(user: Any, version: ProcedureVersion) -> Acknowledgement | None:
    if not getattr(user, "is_authenticated", False) or version.pk is None:
        return None
    return Acknowledgement.objects.filter(user=user, version=version).first()
