"""Reads for organisation: the stores a user may see, and the settings in force."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from aftersales.organisation.models import ClosedDay, DealerGroup, Membership, SettingChange, SettingValue, Store
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
