"""Helpers shared by the feedback services: validation of people's input, staff alerts through the outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.core import clock
from aftersales.core.external_refs import clean_external_ref, duplicate_external_ref
from aftersales.core.text import text_problem
from aftersales.notifications.services import staff_notify
from aftersales.organisation.choices import Role
from aftersales.organisation.models import DealerGroup, Membership, Store
from aftersales.organisation.selectors import active_users as _users
from aftersales.organisation.selectors import setting_values_for_store

DESCRIPTION_MAX = 5000
FUTURE_RECEIPT = gettext_noop("The time received cannot be in the future.")
CHOOSE_ONE = gettext_noop("Choose one of: {options}.")


class Errors:
    """Collects field errors so that a service reports every bad field at once."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def clean_choice(errors: Errors, field: str, value: Any, choices: Any) -> str:
    if not isinstance(value, str) or value not in choices.values:
        errors.add(field, _(CHOOSE_ONE).format(options=", ".join(choices.values)))
        return ""
    return value


def clean_text(
    errors: Errors, field: str, value: Any, *, required: bool = True, max_length: int = DESCRIPTION_MAX
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(field, _("Enter text."))
        return ""
    if (problem := text_problem(value)) is not None:
        errors.add(field, problem.messages[0])
        return ""
    value = value.strip()
    if required and not value:
        errors.add(field, _("This field is required."))
    elif len(value) > max_length:
        errors.add(field, _("At most {n} characters.").format(n=max_length))
    return value


def clean_received_at(errors: Errors, value: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """When the complaint or suggestion reached us: any past time (imports carry old dates), never the future.
    A time without an offset is read in the store's time zone (China time)."""
    if value is None:
        return now
    if not isinstance(value, dt.datetime):
        errors.add("received_at", _("Enter a date and time (ISO 8601)."))
        return now
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > now:
        errors.add("received_at", _(FUTURE_RECEIPT))
        return now
    return value


def external_ref_check(errors: Errors, model: type[Model], *, store: Store, source: Any, ref: Any) -> tuple[str, str]:
    """A complaint's or suggestion's id in an integrator's system (core/external_refs.py): checked, and unique per
    source among the dealer group's records of `model`.  The group's row is locked first (inside the caller's
    transaction), so two records posted with one reference at the same moment are looked at one after the other;
    the second is refused with `duplicate_external_ref` (409) naming the first."""
    source, ref, problems = clean_external_ref(source, ref)
    for field, message in problems.items():
        errors.add(field, message)
    if ref and not problems:
        list(DealerGroup.objects.select_for_update().filter(pk=store.group_id).values_list("pk", flat=True))
        if (existing := external_ref_existing(model, store=store, source=source, ref=ref)) is not None:
            raise duplicate_external_ref(source=source, ref=ref, existing_id=existing)
    return source, ref


def external_ref_existing(model: type[Model], *, store: Store, source: str, ref: str) -> int | None:
    if not ref:
        return None
    rows = model._default_manager.filter(store__group_id=store.group_id, external_source=source, external_ref=ref)
    return rows.values_list("pk", flat=True).first()


def settings_for(store: Store) -> dict[str, Any]:
    return setting_values_for_store(store)


def local_text(value: dt.datetime) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"


def store_managers(store: Store) -> list[Any]:
    return _users(Membership.objects.filter(store=store, role=Role.MANAGER))


def group_managers(store: Store) -> list[Any]:
    return _users(
        Membership.objects.filter(
            Q(group_id=store.group_id, store__isnull=True) | Q(store=store), role=Role.GROUP_MANAGER
        )
    )


# The page where the person alerted about a record acts on it.
DETAIL_URL_NAMES = {
    "feedback.recoverytask": "feedback:recovery-detail",
    "feedback.complaint": "feedback:complaint-detail",
    "feedback.suggestion": "feedback:suggestion-detail",
    "feedback.capa": "feedback:capa-detail",
}


def alert(
    *, store: Store, users: Iterable[Any], template: str, context: dict[str, Any], related: Any, dedupe_key: str
) -> int:
    """One alert to each user: an item in their inbox, and the outbox's external channels they have (e-mail,
    the store's WeCom robot), delivered after commit.  The de-duplication key makes a repeated alert a no-op,
    on top of the caller's own claim.  Returns how many people it reached."""
    url_name = DETAIL_URL_NAMES.get(related._meta.label_lower) if related is not None else None
    return staff_notify(
        store=store,
        users=users,
        template=template,
        context=context,
        related=related,
        dedupe_key=dedupe_key,
        url=reverse(url_name, args=[related.pk]) if url_name else "",
    )


def display_name(user: Any) -> str:
    if user is None:
        return "—"
    profile = getattr(user, "staff_profile", None)
    return getattr(profile, "display_name", "") or user.get_username()


def now() -> dt.datetime:
    return clock.now()
