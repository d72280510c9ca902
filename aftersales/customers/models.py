"""Customers, their vehicles and their consents.  Phone, ID number and address are stored encrypted."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.core.scoping import ScopedQuerySet
from aftersales.customers import crypto
from aftersales.customers.choices import NEV_POWERTRAINS, ConsentChannel, ConsentPurpose, Gender, Powertrain, Tier
from aftersales.organisation.models import DealerGroup, Store


class Customer(BaseModel):
    """A vehicle owner (车主): one file per person in the dealer group (the group is the PIPL handler).

    The stores the customer deals with are `store_links`; a store's staff see the customers linked to their store
    and find any customer of the group by mobile, plate or VIN to serve them.  `store` is where the file was
    opened.  Personal fields are ciphertext; search goes through keyed hashes."""

    group = models.ForeignKey(
        DealerGroup, verbose_name=_("dealer group"), on_delete=models.PROTECT, related_name="customers"
    )
    store = models.ForeignKey(
        Store, verbose_name=_("registered at"), on_delete=models.PROTECT, related_name="customers"
    )
    name = models.CharField(_("name"), max_length=60)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    phone_encrypted = models.TextField(_("mobile (encrypted)"))
    phone_hash = models.CharField(_("mobile search hash"), max_length=64, db_index=True)
    phone_last4_hash = models.CharField(_("mobile last-four hash"), max_length=64, db_index=True)
    id_number_encrypted = models.TextField(_("ID number (encrypted)"), blank=True)
    id_number_hash = models.CharField(_("ID number search hash"), max_length=64, blank=True, db_index=True)
    address_encrypted = models.TextField(_("address (encrypted)"), blank=True)
    is_priority = models.BooleanField(
        _("priority lane"),
        default=False,
        help_text=_("Served first in the walk-in queue (tier A); set by hand until tiers are computed."),
    )
    # The tier as the crm app last computed it (SPEC §5); its history is kept in crm.TierChange.
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices, blank=True, db_index=True)
    tier_rule = models.CharField(_("tier rule"), max_length=160, blank=True)
    tier_recency_days = models.PositiveIntegerField(_("days since the last closed visit"), null=True, blank=True)
    tier_frequency = models.PositiveIntegerField(_("closed visits in the window"), default=0)
    tier_monetary = models.DecimalField(
        _("amount paid in the window (CNY)"), max_digits=14, decimal_places=2, default=0
    )
    tier_as_of = models.DateField(_("tier computed on"), null=True, blank=True)
    # Who brought the customer (SPEC §7: referrals count for the advisor's scorecard).
    referred_by_customer = models.ForeignKey(
        "self",
        verbose_name=_("referred by (customer)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referrals",
    )
    referred_by_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("referred by (staff)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referred_customers",
    )
    # The customer's id in the system an integrator brought them from (core/external_refs.py): unique per source
    # in the group, so the same person posted twice is answered with the first file.
    external_source = models.CharField(_("external source"), max_length=40, blank=True)
    external_ref = models.CharField(_("external reference"), max_length=100, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_links__store_id"
    store_lookup_many = True  # a customer may be linked to several stores: scope with a subquery, no duplicates

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["store", "name"]),
            models.Index(fields=["updated_at"], name="customers_customer_upd_idx"),  # API sync: updated_since
        ]
        constraints = [
            # The mobile number names the person in the group (the migration merged earlier duplicates).
            models.UniqueConstraint(fields=["group", "phone_hash"], name="customer_phone_unique_per_group"),
            models.UniqueConstraint(
                fields=["group", "external_source", "external_ref"],
                condition=~Q(external_ref=""),
                name="customer_external_ref_unique_per_group",
            ),
            models.CheckConstraint(
                condition=Q(external_ref="", external_source="") | (~Q(external_ref="") & ~Q(external_source="")),
                name="customer_external_ref_with_source",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def phone(self) -> str:
        return crypto.decrypt(self.phone_encrypted)

    @property
    def id_number(self) -> str:
        return crypto.decrypt(self.id_number_encrypted)

    @property
    def address(self) -> str:
        return crypto.decrypt(self.address_encrypted)


class LinkReason(models.TextChoices):
    REGISTERED = "registered", _("Registered at the store")
    VISIT = "visit", _("Booked or visited the store")
    SERVE = "serve", _("Found in the group and served by the store")
    MERGED = "merged", _("Record merged from the store")


class CustomerStoreLink(BaseModel):
    """A store's relationship with a group customer: the store's lists, scoping and campaigns go through it."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="store_links"
    )
    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="customer_links")
    reason = models.CharField(_("why"), max_length=16, choices=LinkReason.choices)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("linked by"), null=True, blank=True, on_delete=models.SET_NULL
    )

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("customer's store")
        verbose_name_plural = _("customers' stores")
        constraints = [models.UniqueConstraint(fields=["customer", "store"], name="customer_store_link_unique")]
        indexes = [models.Index(fields=["store", "customer"])]

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.store_id}"


class Vehicle(BaseModel):
    """A customer's vehicle: one file per vehicle in the dealer group (一车一档), VIN unique in the group;
    every store's visits hang off this one record.  `store` is where the file was opened."""

    group = models.ForeignKey(
        DealerGroup, verbose_name=_("dealer group"), on_delete=models.PROTECT, related_name="vehicles"
    )
    store = models.ForeignKey(Store, verbose_name=_("registered at"), on_delete=models.PROTECT, related_name="vehicles")
    customer = models.ForeignKey(Customer, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="vehicles")
    vin = models.CharField(_("VIN"), max_length=17)
    plate = models.CharField(_("plate"), max_length=8, blank=True)
    brand = models.CharField(_("brand"), max_length=40)
    model_name = models.CharField(_("model"), max_length=60)
    powertrain = models.CharField(_("powertrain"), max_length=8, choices=Powertrain.choices, default=Powertrain.PETROL)
    purchase_date = models.DateField(_("purchase date"), null=True, blank=True)
    purchase_price = models.DecimalField(
        _("purchase price (CNY)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    mileage_km = models.PositiveIntegerField(_("mileage (km)"), default=0)
    mileage_recorded_on = models.DateField(_("mileage recorded on"), null=True, blank=True)
    # Dates that reminders count down to (SPEC §5: insurance 30 days before, annual inspection).
    insurance_expires_on = models.DateField(_("insurance expires on"), null=True, blank=True)
    inspection_due_on = models.DateField(_("annual inspection due on"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "customer__store_links__store_id"
    store_lookup_many = True

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        ordering = ["customer", "id"]
        constraints = [
            models.UniqueConstraint(fields=["group", "vin"], name="vehicle_vin_unique_per_group"),
            models.UniqueConstraint(
                fields=["group", "plate"], condition=~Q(plate=""), name="vehicle_plate_unique_per_group"
            ),
            models.CheckConstraint(
                condition=Q(purchase_price__isnull=True) | Q(purchase_price__gte=0),
                name="vehicle_purchase_price_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["plate"]),
            models.Index(fields=["vin"]),
            models.Index(fields=["updated_at"], name="customers_vehicle_upd_idx"),  # API sync: updated_since
        ]

    def __str__(self) -> str:
        return f"{self.plate or self.vin} {self.brand} {self.model_name}"

    @property
    def is_nev(self) -> bool:
        return self.powertrain in NEV_POWERTRAINS


class Consent(BaseModel):
    """The customer's current answer for one purpose.  Its history is kept in ConsentEvent."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="consents"
    )
    purpose = models.CharField(_("purpose"), max_length=16, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("granted"), default=False)
    notice_version = models.CharField(_("privacy notice version"), max_length=16)
    channel = models.CharField(_("channel"), max_length=16, choices=ConsentChannel.choices)
    decided_at = models.DateTimeField(_("decided at"))

    objects = ScopedQuerySet.as_manager()
    store_lookup = "customer__store_links__store_id"
    store_lookup_many = True

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(fields=["customer", "purpose"], name="consent_unique_purpose"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.purpose}={self.granted}"


class ConsentEvent(models.Model):
    """Every grant and withdrawal, with the notice version, channel, time and the staff member who noted it."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="consent_events"
    )
    purpose = models.CharField(_("purpose"), max_length=16, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("granted"))
    notice_version = models.CharField(_("privacy notice version"), max_length=16)
    channel = models.CharField(_("channel"), max_length=16, choices=ConsentChannel.choices)
    at = models.DateTimeField(_("time"), db_index=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.SET_NULL
    )

    objects = ScopedQuerySet.as_manager()
    store_lookup = "customer__store_links__store_id"
    store_lookup_many = True

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent history")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.purpose}={self.granted} @ {self.at}"
