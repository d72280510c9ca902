"""Dealer groups, stores, bays, staff membership and the settings that tune the product."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.core.scoping import ScopedQuerySet
from aftersales.organisation.choices import BayCapability, Role, TechnicianGrade, Weekday


class DealerGroup(BaseModel):
    """A dealer group (经销商集团): owns stores and sets the default settings for them."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        verbose_name = _("dealer group")
        verbose_name_plural = _("dealer groups")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Store(BaseModel):
    """A 4S store: the unit that owns customers, bays, staff and (later) every order."""

    group = models.ForeignKey(
        DealerGroup, verbose_name=_("dealer group"), on_delete=models.PROTECT, related_name="stores"
    )
    code = models.CharField(
        _("code"), max_length=16, unique=True, help_text=_("Short unique code used in the API, e.g. SH01.")
    )
    name = models.CharField(_("name"), max_length=120)
    city = models.CharField(_("city"), max_length=60)
    address = models.CharField(_("address"), max_length=255)
    phone = models.CharField(_("service hotline"), max_length=32, blank=True)
    directions = models.CharField(
        _("directions"), max_length=200, blank=True, help_text=_("How to get there, sent with booking confirmations.")
    )
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6)
    plate_prefix = models.CharField(
        _("local plate prefix"),
        max_length=2,
        blank=True,
        help_text=_("Province character and authority letter, e.g. 沪A."),
    )
    rescue_capacity = models.PositiveSmallIntegerField(
        _("rescue vehicles"), default=0, help_text=_("Roadside rescue vehicles this store can dispatch at once.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    # A secret: whoever has the URL may post into the group chat.  Shown masked, never logged or audited in clear.
    wecom_webhook_url = models.URLField(
        _("WeCom group robot webhook"),
        max_length=500,
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Staff alerts of this store are also posted to this WeCom (企业微信) group robot."),
    )

    objects = ScopedQuerySet.as_manager()
    store_lookup = "id"

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(latitude__gte=-90) & Q(latitude__lte=90), name="store_latitude_range"),
            models.CheckConstraint(
                condition=Q(longitude__gte=-180) & Q(longitude__lte=180), name="store_longitude_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def wecom_webhook_masked(self) -> str:
        """The robot URL as a page may show it: its host and the last four characters of its key."""
        url = self.wecom_webhook_url
        if not url:
            return ""
        scheme, _sep, rest = url.partition("://")
        host = rest.split("/", 1)[0]
        return f"{scheme}://{host}/…{url[-4:]}" if len(url) > 12 else "…"


class OpeningHours(BaseModel):
    """When a store's service reception is open on one weekday; evening and weekend hours included."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["store", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(condition=Q(closes__gt=models.F("opens")), name="opening_hours_close_after_open"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Bay(BaseModel):
    """A workshop bay (工位) with what it can take (e.g. NEV high-voltage work)."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="bays")
    code = models.CharField(_("code"), max_length=16)
    name = models.CharField(_("name"), max_length=60)
    capabilities = models.JSONField(
        _("capabilities"), default=list, blank=True, help_text=_("Kinds of work the bay is equipped for.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("bay")
        verbose_name_plural = _("bays")
        ordering = ["store", "code"]
        constraints = [models.UniqueConstraint(fields=["store", "code"], name="bay_code_unique_per_store")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def capability_labels(self) -> list[str]:
        labels = dict(BayCapability.choices)
        return [str(labels.get(c, c)) for c in self.capabilities]


class Membership(BaseModel):
    """A user's role in one store, or in a whole dealer group (store left empty)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="memberships"
    )
    group = models.ForeignKey(
        DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="memberships"
    )
    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="memberships",
        help_text=_("Leave empty for a group-wide role."),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["group", "store", "role"]
        constraints = [
            models.UniqueConstraint(fields=["user", "store", "role"], name="membership_unique_store_role"),
            models.UniqueConstraint(
                fields=["user", "group", "role"], condition=Q(store__isnull=True), name="membership_unique_group_role"
            ),
        ]

    def __str__(self) -> str:
        owner = self.store if self.store_id else self.group
        where = owner.code if owner is not None else "?"
        return f"{self.user} · {self.get_role_display()} · {where}"


class StaffProfile(BaseModel):
    """What the product needs to know about a member of staff beyond the login."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="staff_profile"
    )
    display_name = models.CharField(_("display name"), max_length=60)
    technician_grade = models.CharField(
        _("technician grade"), max_length=20, choices=TechnicianGrade.choices, blank=True
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return self.display_name


class ApiToken(BaseModel):
    """A bearer token for the API.  Only its SHA-256 digest is stored; the token is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=60, blank=True)
    digest = models.CharField(_("digest"), max_length=64, unique=True)
    prefix = models.CharField(_("prefix"), max_length=8, help_text=_("First characters, to tell tokens apart."))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class SettingValue(BaseModel):
    """A setting's value for a group (store empty) or a store's override.  Keys come from settings_catalogue."""

    group = models.ForeignKey(
        DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="setting_values"
    )
    store = models.ForeignKey(
        Store, verbose_name=_("store"), null=True, blank=True, on_delete=models.CASCADE, related_name="setting_values"
    )
    key = models.CharField(_("key"), max_length=64)
    value = models.JSONField(_("value"))

    class Meta:
        verbose_name = _("setting value")
        verbose_name_plural = _("setting values")
        constraints = [
            models.UniqueConstraint(
                fields=["group", "key"], condition=Q(store__isnull=True), name="setting_unique_group_key"
            ),
            models.UniqueConstraint(
                fields=["store", "key"], condition=Q(store__isnull=False), name="setting_unique_store_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class SettingChange(models.Model):
    """Every change to a setting: who, when, where, from what to what."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("changed by"), null=True, on_delete=models.SET_NULL
    )
    group = models.ForeignKey(DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE)
    store = models.ForeignKey(Store, verbose_name=_("store"), null=True, blank=True, on_delete=models.CASCADE)
    key = models.CharField(_("key"), max_length=64)
    old_value = models.JSONField(_("old value"), null=True)
    new_value = models.JSONField(_("new value"), null=True, help_text=_("Empty when a store override was removed."))

    class Meta:
        verbose_name = _("setting change")
        verbose_name_plural = _("setting changes")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.key}: {self.old_value} → {self.new_value}"


class ClosedDay(BaseModel):
    """A day a store is closed beyond China's official calendar (stock-take, refurbishment, a local holiday).

    Working-day clocks (`core.calendar`) skip these days for the store, on top of the public holidays.
    """

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="closed_days")
    date = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=120)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("closed day")
        verbose_name_plural = _("closed days")
        ordering = ["store", "date"]
        constraints = [models.UniqueConstraint(fields=["store", "date"], name="closed_day_unique_per_store")]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.reason}"
