"""Reads for organisation: the stores a user may see, and the settings in force."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from aftersales.organisation.models import (
    Bay,
    ClosedDay,
    DealerGroup,
    Membership,
    SettingChange,
    SettingValue,
    Store,
)
from aftersales.organisation.permissions import roles_by_store
from aftersales.organisation.settings_catalogue import BY_KEY, SETTINGS, Setting


def store_ids_for_user(user: Any) -> frozenset[int]:
    """The store-scoping resolver (registered with core.scoping): store memberships plus whole groups — the
    stores where the user holds a role, from the one read of the memberships the role checks share."""
    if user.is_superuser:
        return frozenset(Store.objects.values_list("id", flat=True))
    return frozenset(roles_by_store(user))


def store_list_for_user(*, user: Any) -> QuerySet[Store]:
    return Store.objects.for_user(user).select_related("group").order_by("code")


def store_get_for_user(*, user: Any, pk: int) -> Store:
    return Store.objects.select_related("group").get_for_user_or_404(user, pk=pk)


def group_list_for_user(*, user: Any) -> QuerySet[DealerGroup]:
    return DealerGroup.objects.filter(stores__in=Store.objects.for_user(user)).distinct().order_by("code")


def _coerce(setting: Setting, raw: Any) -> int | Decimal:
    return Decimal(str(raw)) if setting.decimal else int(raw)


def setting_values_for_store(store: Store) -> dict[str, int | Decimal]:
    """Every setting in force at the store: store override, else group value, else the catalogue default."""
    values: dict[str, int | Decimal] = {s.key: s.default for s in SETTINGS}
    rows = SettingValue.objects.filter(Q(group_id=store.group_id, store__isnull=True) | Q(store=store))
    group_rows = {r.key: r.value for r in rows if r.store_id is None}
    store_rows = {r.key: r.value for r in rows if r.store_id is not None}
    for key, raw in {**group_rows, **store_rows}.items():
        if key in BY_KEY:
            values[key] = _coerce(BY_KEY[key], raw)
    return values


def setting_get(*, store: Store, key: str) -> int | Decimal:
    if key not in BY_KEY:
        raise KeyError(key)
    return setting_values_for_store(store)[key]


def setting_values_for_group(group: DealerGroup) -> dict[str, int | Decimal]:
    values: dict[str, int | Decimal] = {s.key: s.default for s in SETTINGS}
    for row in SettingValue.objects.filter(group=group, store__isnull=True):
        if row.key in BY_KEY:
            values[row.key] = _coerce(BY_KEY[row.key], row.value)
    return values


def setting_overrides_for_store(store: Store) -> dict[str, int | Decimal]:
    return {
        row.key: _coerce(BY_KEY[row.key], row.value)
        for row in SettingValue.objects.filter(store=store)
        if row.key in BY_KEY
    }


def setting_change_list(*, group: DealerGroup, store: Store | None, limit: int = 50) -> QuerySet[SettingChange]:
    changes = SettingChange.objects.filter(group=group).select_related("changed_by", "store")
    if store is not None:
        changes = changes.filter(Q(store=store) | Q(store__isnull=True))
    else:
        changes = changes.filter(store__isnull=True)
    return changes[:limit]


def closed_days_for_store(store: Store) -> frozenset[dt.date]:
    """The store's extra closed days, for `core.calendar` (`closed_days=`).  One query."""
    return frozenset(ClosedDay.objects.filter(store=store).values_list("date", flat=True))


def staff_options(*, store_ids: frozenset[int] | set[int], roles: list[str] | None = None) -> list[tuple[str, str]]:
    """[(user id, display name), …] of the active staff of these stores (with one of `roles`), for a list's
    "advisor" filter: one query, each person once, by name."""
    memberships = Membership.objects.filter(store_id__in=list(store_ids), user__is_active=True)
    if roles:
        memberships = memberships.filter(role__in=roles)
    seen: dict[int, str] = {}
    for user_id, name, username in memberships.order_by("user__staff_profile__display_name", "user_id").values_list(
        "user_id", "user__staff_profile__display_name", "user__username"
    ):
        seen.setdefault(user_id, name or username)
    return [(str(pk), name) for pk, name in seen.items()]


# ------------------------------------------------------------------------------------------- API look-ups


def display_name(user: Any) -> str:
    """The name staff know a colleague by: the profile's display name, else the full name, else the login."""
    profile = getattr(user, "staff_profile", None) if hasattr(user, "staff_profile") else None
    return (profile.display_name if profile else "") or user.get_full_name() or user.get_username()


def me_summary(*, user: Any) -> dict[str, Any]:
    """The caller: who they are and, per store they may see, their roles and the capabilities the rulebook
    (organisation/permissions.py) gives them there.  A superuser holds every capability in every store."""
    from aftersales.core.scoping import visible_store_ids
    from aftersales.organisation.permissions import ROLE_CAPABILITIES, Capability

    roles = roles_by_store(user)
    stores = Store.objects.filter(pk__in=visible_store_ids(user)).order_by("code").values_list("id", "code", "name")
    rows = []
    for store_id, code, name in stores:
        store_roles = roles.get(store_id, frozenset())
        if user.is_superuser:
            capabilities = set(Capability)
        else:
            capabilities = set().union(*(ROLE_CAPABILITIES.get(role, frozenset()) for role in store_roles))
        rows.append(
            {
                "store": code,
                "store_id": store_id,
                "store_name": name,
                "roles": sorted(store_roles),
                "capabilities": sorted(str(c) for c in capabilities),
            }
        )
    return {
        "id": user.pk,
        "username": user.get_username(),
        "name": display_name(user),
        "is_superuser": user.is_superuser,
        "stores": rows,
    }


def staff_list(
    *, store_ids: frozenset[int] | set[int], role: str | None = None, active: bool | None = None
) -> QuerySet[Membership]:
    """Memberships of these stores, and the group-wide ones of their groups (store empty), with the person:
    one row per (person, store, role), by store, role and person."""
    group_ids = Store.objects.filter(pk__in=list(store_ids)).values("group_id")
    rows = Membership.objects.filter(
        Q(store_id__in=list(store_ids)) | Q(store__isnull=True, group_id__in=group_ids)
    ).select_related("user__staff_profile", "store", "group")
    if role:
        rows = rows.filter(role=role)
    if active is not None:
        rows = rows.filter(user__is_active=active)
    return rows.order_by("store__code", "role", "user_id", "id")


def bay_list(*, store_ids: frozenset[int] | set[int], active: bool | None = None) -> QuerySet[Bay]:
    """Bays of these stores, by store and code."""
    bays = Bay.objects.filter(store_id__in=list(store_ids)).select_related("store")
    if active is not None:
        bays = bays.filter(is_active=active)
    return bays.order_by("store__code", "code", "id")


def active_users(memberships: QuerySet[Membership]) -> list[Any]:
    """The active users of `memberships`, each once, by id: who an alert goes to (a store's managers, the group's
    privacy officers …).  Each service builds the memberships it means; this turns them into people."""
    seen: dict[int, Any] = {}
    for membership in memberships.select_related("user").order_by("user_id"):
        if membership.user.is_active:
            seen.setdefault(membership.user_id, membership.user)
    return list(seen.values())
