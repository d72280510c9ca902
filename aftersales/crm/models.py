"""Tiers (RFM), tier history and the customer 360° profile: the crm app (layer 6).

The tier itself lives on `customers.Customer` (tier, tier_rule, tier_recency_days, tier_frequency, tier_monetary,
tier_as_of) so that lower layers (the walk-in queue, the profile, the API) can read it; this app computes it and
keeps its history."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.customers.choices import Tier
from aftersales.customers.models import Customer


class TierChange(BaseModel):
    """One change of a customer's tier, written by `crm.services.tiers_compute` only when the tier differs from the
    one stored (a nightly run that confirms the tier writes nothing here).  `from_tier`/`to_tier` are blank for
    "no tier" (no closed visit)."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="tier_changes"
    )
    from_tier = models.CharField(_("from tier"), max_length=1, choices=Tier.choices, blank=True)
    to_tier = models.CharField(_("to tier"), max_length=1, choices=Tier.choices, blank=True)
    rule = models.CharField(_("tier rule"), max_length=160, blank=True)
    r_days = models.PositiveIntegerField(_("days since the last closed visit"), null=True, blank=True)
    f = models.PositiveIntegerField(_("closed visits in the window"), default=0)
    m = models.DecimalField(_("amount paid in the window (CNY)"), max_digits=14, decimal_places=2, default=0)
    as_of = models.DateField(_("computed on"))
    # Whether this change put the customer in the priority lane (entering A while not already in it).  Leaving A
    # takes the lane away only when the tier gave it, so a lane granted by hand survives (see services.py).
    priority_granted = models.BooleanField(_("priority lane granted"), default=False)

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ["-as_of", "-id"]
        indexes = [models.Index(fields=["customer", "as_of"], name="crm_tierchange_customer_asof")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_tier or '-'} → {self.to_tier or '-'} ({self.as_of})"
