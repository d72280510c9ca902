"""Roadside rescue (layer 6): the stores' rescue bases (where the crews start and how many there are) and the
requests, from the first call to completion.

A request always names one responsible store (`store`), so every store-scoped page and query sees it: the matched
store once it is matched, until then the nearest base of the group (or the vehicle's own store), whose staff and the
group's managers are told when no store has a free crew.  Precise locations are personal and sensitive (SPEC §10):
the retention sweep rounds them (and drops the typed address) after `location_retention_days`."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.core.scoping import ScopedQuerySet
from aftersales.customers.choices import ConsentChannel
from aftersales.customers.models import Customer, Vehicle
from aftersales.organisation.models import DealerGroup, Store
from aftersales.rescue.choices import RescueSource, RescueStatus, RoadType


def _nonce() -> str:
    return secrets.token_urlsafe(12)


class RescueBase(BaseModel):
    """A store's rescue base: where its crews start from and how many can be out at once.  Only active bases with
    at least one crew take requests."""

    store = models.OneToOneField(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="rescue_base")
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    crews = models.PositiveSmallIntegerField(
        _("rescue crews"),
        default=1,
        validators=[MaxValueValidator(50)],
        help_text=_("Crews (with their vehicles) that can be out on rescues at the same time."),
    )
    is_active = models.BooleanField(_("takes rescue requests"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("rescue base")
        verbose_name_plural = _("rescue bases")
        ordering = ["store__code"]

    def __str__(self) -> str:
        return str(self.store)


class RescueRequest(BaseModel):
    """One call for roadside help."""

    group = models.ForeignKey(
        DealerGroup, verbose_name=_("dealer group"), on_delete=models.PROTECT, related_name="rescue_requests"
    )
    store = models.ForeignKey(
        Store,
        verbose_name=_("responsible store"),
        on_delete=models.PROTECT,
        related_name="rescue_requests",
        help_text=_("The matched store; until a store is matched, the nearest base of the group."),
    )
    source = models.CharField(_("source"), max_length=16, choices=RescueSource.choices)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rescue_requests",
    )
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    plate = models.CharField(_("plate"), max_length=8, blank=True)
    vin = models.CharField(_("VIN"), max_length=17, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    address = models.CharField(_("location described"), max_length=200, blank=True)
    location_consent_at = models.DateTimeField(_("location consent given at"), null=True, blank=True)
    location_consent_channel = models.CharField(
        _("location consent channel"), max_length=16, choices=ConsentChannel.choices, blank=True
    )
    location_coarsened_at = models.DateTimeField(_("location coarsened at"), null=True, blank=True)
    road_type = models.CharField(_("road type"), max_length=12, choices=RoadType.choices)
    fault = models.CharField(_("fault"), max_length=500)
    status = models.CharField(
        _("status"), max_length=16, choices=RescueStatus.choices, default=RescueStatus.REQUESTED, db_index=True
    )
    distance_km = models.DecimalField(_("distance (km)"), max_digits=7, decimal_places=1, null=True, blank=True)
    match_due_at = models.DateTimeField(_("match due by"))
    respond_by = models.DateTimeField(_("on site due by"), null=True, blank=True)
    matched_at = models.DateTimeField(_("matched at"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    on_site_at = models.DateTimeField(_("on site at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    handed_off_at = models.DateTimeField(_("handed to 12122 at"), null=True, blank=True)
    crew = models.CharField(_("crew"), max_length=80, blank=True, help_text=_("Crew and rescue vehicle."))
    crew_lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("crew lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rescue_jobs",
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    link_nonce = models.CharField(_("link key"), max_length=32, default=_nonce, editable=False)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("rescue request")
        verbose_name_plural = _("rescue requests")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["store", "status"]),
            models.Index(fields=["group", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__isnull=False, longitude__isnull=False),
                name="rescue_request_both_coordinates_or_none",
            ),
        ]

    def __str__(self) -> str:
        return f"R{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in (
            RescueStatus.REQUESTED,
            RescueStatus.MATCHED,
            RescueStatus.DISPATCHED,
            RescueStatus.ON_SITE,
        )
