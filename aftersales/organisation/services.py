"""Writes for organisation: settings changes (validated, recorded), API tokens and a store's closed days."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.text import refuse_control_characters
from aftersales.organisation.access import require
from aftersales.organisation.models import ApiToken, ClosedDay, DealerGroup, SettingChange, SettingValue, Store
from aftersales.organisation.permissions import Capability
from aftersales.organisation.selectors import (
    setting_overrides_for_store,
    setting_values_for_group,
    setting_values_for_store,
)
from aftersales.organisation.settings_catalogue import BY_KEY, SUM_RULES, Setting

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def setting_parse(setting: Setting, raw: Any) -> int | Decimal:
    """A raw value (form text, JSON number) as the setting's type, or ValidationError naming the setting."""
    text = str(raw).strip() if raw is not None else ""
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError({setting.key: _("Enter a number.")}) from exc
    if not number.is_finite():
        raise ValidationError({setting.key: _("Enter a number.")})
    if not setting.decimal and number != number.to_integral_value():
        raise ValidationError({setting.key: _("Enter a whole number.")})
    if number < setting.minimum:
        raise ValidationError(
            {
                setting.key: _("{label} cannot be less than {minimum}.").format(
                    label=setting.label, minimum=setting.minimum
                )
            }
        )
    if setting.maximum is not None and number > setting.maximum:
        raise ValidationError(
            {
                setting.key: _("{label} cannot be more than {maximum}.").format(
                    label=setting.label, maximum=setting.maximum
                )
            }
        )
    return number if setting.decimal else int(number)


def _check_rules(values: dict[str, int | Decimal], *, store_name: str = "") -> None:
    errors: dict[str, list[str]] = {}
    for rule in SUM_RULES:
        total = sum((Decimal(values[k]) for k in rule.keys), Decimal(0))
        if total != rule.total:
            message = str(rule.message).format(total=format(total.normalize(), "f"))
            for key in rule.keys:
                errors.setdefault(key, []).append(_prefixed(message, store_name))
    low, promoter = values.get("nps_detractor_to"), values.get("nps_promoter_from")
    if low is not None and promoter is not None and low >= promoter:
        errors.setdefault("nps_detractor_to", []).append(
            _prefixed(_("The detractor range must end below the promoter range."), store_name)
        )
    if errors:
        raise ValidationError(errors)


def _prefixed(message: str, store_name: str) -> str:
    if not store_name:
        return message
    return _("With the overrides of {store}: {message}").format(store=store_name, message=message)


def _json(value: int | Decimal) -> int | str:
    return str(value) if isinstance(value, Decimal) else value


@transaction.atomic
def settings_update(
    *,
    group: DealerGroup,
    store: Store | None,
    changes: dict[str, Any],
    by: User,
    clear_overrides: frozenset[str] = frozenset(),
) -> list[SettingChange]:
    """Set group values (store None) or store overrides; validate all first, write all or nothing.

    `clear_overrides` removes store overrides so the store follows the group again.
    """
    if store is not None and store.group_id != group.id:
        raise ValidationError({"store": _("The store does not belong to this dealer group.")})
    unknown = [k for k in [*changes, *clear_overrides] if k not in BY_KEY]
    if unknown:
        raise ValidationError({unknown[0]: _("Unknown setting.")})

    errors: dict[str, list[str]] = {}
    parsed: dict[str, int | Decimal] = {}
    for key, raw in changes.items():
        try:
            parsed[key] = setting_parse(BY_KEY[key], raw)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)

    before = setting_values_for_store(store) if store is not None else setting_values_for_group(group)
    after = {**before, **parsed}
    if store is not None and clear_overrides:
        group_values = setting_values_for_group(group)
        for key in clear_overrides:
            after[key] = group_values[key]
    _check_rules(after)
    if store is None:
        # New group values must also make sense in every store that overrides only some of a rule's keys.
        for member in Store.objects.filter(group=group, setting_values__isnull=False).distinct():
            overrides = setting_overrides_for_store(member)
            _check_rules({**after, **overrides}, store_name=member.name)

    recorded: list[SettingChange] = []
    existing = {
        row.key: row
        for row in SettingValue.objects.select_for_update().filter(
            group=group, store=store, key__in=[*parsed, *clear_overrides]
        )
    }
    for key, value in parsed.items():
        row = existing.get(key)
        old = row.value if row else None
        if row is not None and setting_parse(BY_KEY[key], row.value) == value:
            continue
        if row is None and value == before[key]:
            continue  # the value in force already; no override or group row needed
        SettingValue.objects.update_or_create(group=group, store=store, key=key, defaults={"value": _json(value)})
        recorded.append(
            SettingChange.objects.create(
                changed_by=by if getattr(by, "is_authenticated", False) else None,
                group=group,
                store=store,
                key=key,
                old_value=old if old is not None else _json(before[key]),
                new_value=_json(value),
            )
        )
    if store is not None:
        for key in clear_overrides - set(parsed):
            row = existing.get(key)
            if row is None:
                continue
            row.delete()
            recorded.append(
                SettingChange.objects.create(
                    changed_by=by if getattr(by, "is_authenticated", False) else None,
                    group=group,
                    store=store,
                    key=key,
                    old_value=row.value,
                    new_value=None,
                )
            )
    if recorded:
        audit_record(
            actor=by,
            action="settings.update",
            object_type="organisation.settings",
            object_id=store.code if store else group.code,
            store_id=store.id if store else None,
            changes={c.key: [c.old_value, c.new_value] for c in recorded},
        )
    return recorded


TOKEN_PREFIX_LEN = 8


@transaction.atomic
def api_token_issue(*, username: str, name: str = "") -> tuple[str, ApiToken]:
    """A new random token for the user; returns the token itself (shown once) and its stored record."""
    user_model = get_user_model()
    try:
        user = user_model.objects.get(username=username)
    except user_model.DoesNotExist as exc:
        raise ValidationError({"username": _("No user named {username}.").format(username=username)}) from exc
    if not user.is_active:
        raise ValidationError({"username": _("User {username} is inactive.").format(username=username)})
    token = "as_" + secrets.token_urlsafe(32)
    record = ApiToken.objects.create(
        user=user, name=name[:60], digest=ApiToken.digest_of(token), prefix=token[:TOKEN_PREFIX_LEN]
    )
    audit_record(actor=user, action="api_token.issue", obj=record, changes={"prefix": record.prefix})
    return token, record


def api_token_authenticate(token: str) -> Any | None:
    """The active user owning `token`, or None.  Records when the token was last used."""
    if not token or len(token) > 200:
        return None
    record = (
        ApiToken.objects.select_related("user")
        .filter(digest=ApiToken.digest_of(token), revoked_at__isnull=True)
        .first()
    )
    if record is None or not record.user.is_active:
        return None
    now = clock.now()
    if record.last_used_at is None or (now - record.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
    return record.user


def api_token_from_request(request: Any) -> Any | None:
    """The user of the request's `Authorization: Bearer TOKEN`, or None (no header, another scheme, a bad token)."""
    scheme, _space, token = str(request.META.get("HTTP_AUTHORIZATION", "")).partition(" ")
    if scheme.lower() != "bearer":
        return None
    return api_token_authenticate(token.strip())


CLOSED_DAY_REASON_MAX: int = ClosedDay._meta.get_field("reason").max_length or 200


@transaction.atomic
def closed_day_add(*, store: Store, day: dt.date, reason: str, by: User) -> ClosedDay:
    """Close `store` on `day` beyond the official calendar; working-day clocks skip it from now on.

    Refused (ValidationError naming the field): a day that is not a date, an empty or over-long reason, a day
    already closed for the store.  Due times computed before the change keep their value.
    """
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise ValidationError({"day": _("Enter a valid date.")})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason the store is closed.")})
    if len(reason) > CLOSED_DAY_REASON_MAX:
        raise ValidationError(
            {"reason": _("Keep the reason within {limit} characters.").format(limit=CLOSED_DAY_REASON_MAX)}
        )
    if ClosedDay.objects.select_for_update().filter(store=store, date=day).exists():
        raise ValidationError({"day": _("The store is already closed on {day}.").format(day=day.isoformat())})
    closed = ClosedDay.objects.create(store=store, date=day, reason=reason)
    audit_record(actor=by, action="closed_day.add", obj=closed, changes={"date": day.isoformat(), "reason": reason})
    return closed


@transaction.atomic
def closed_day_remove(*, store: Store, day: dt.date, by: User) -> None:
    """Open `store` again on `day`; ValidationError when the store was not closed that day."""
    closed = ClosedDay.objects.select_for_update().filter(store=store, date=day).first()
    if closed is None:
        raise ValidationError({"day": _("The store is not closed on {day}.").format(day=str(day))})
    audit_record(
        actor=by,
        action="closed_day.remove",
        obj=closed,
        changes={"date": closed.date.isoformat(), "reason": closed.reason},
    )
    closed.delete()


WECOM_URL_INVALID = gettext_noop("Enter the robot's webhook address, starting with https:// (or http://).")
WECOM_URL_MAX = 500


@transaction.atomic
def store_wecom_robot_set(*, store: Store, url: Any, by: User) -> Store:
    """Set (or, with an empty `url`, remove) the store's WeCom group robot, to which the store's staff alerts are
    also posted.  A store manager's (EDIT_STORE_SETTINGS in that store).  The URL is a secret: the audit trail
    records that it changed, never the address."""
    require(by, Capability.EDIT_STORE_SETTINGS, store_id=store.pk)
    url = "" if url is None else url
    if not isinstance(url, str):
        raise ValidationError({"wecom_webhook_url": [_(WECOM_URL_INVALID)]})
    refuse_control_characters(wecom_webhook_url=url)
    url = url.strip()
    if url:
        try:
            if len(url) > WECOM_URL_MAX:
                raise ValidationError("too long")
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError as exc:
            raise ValidationError({"wecom_webhook_url": [_(WECOM_URL_INVALID)]}) from exc
    old = Store.objects.filter(pk=store.pk).values_list("wecom_webhook_url", flat=True).first() or ""
    Store.objects.filter(pk=store.pk).update(wecom_webhook_url=url, updated_at=clock.now())
    store.wecom_webhook_url = url
    if old != url:
        audit_record(
            actor=by,
            action="store.wecom_robot",
            obj=store,
            changes={"wecom_webhook_url": "removed" if not url else ("replaced" if old else "set")},
        )
    return store


def audit_export_record(*, by: User, store_ids: frozenset[int], file_format: str, scope: dict[str, Any]) -> None:
    """Record that `by` exported the audit trail of `store_ids` (one entry per store, so each store's trail shows
    who took a copy of it); `scope` says what (the filters, or the record)."""
    for store_id in sorted(store_ids):
        require(by, Capability.VIEW_AUDIT, store_id=store_id)
    with transaction.atomic():
        stores: list[int | None] = [*sorted(store_ids)] or [None]
        for exported in stores:
            audit_record(
                actor=by,
                action="audit.export",
                object_type="core.auditentry",
                store_id=exported,
                changes={"format": file_format, **scope},
            )
