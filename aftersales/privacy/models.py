"""Customers' rights requests (PIPL arts. 44-47) with their clocks, and the retention purge's runs (SPEC §10,
issue 17).  Written only by `privacy.services` (requests), `privacy.erasure` and `privacy.retention`."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.core.models import person_fk as _person
from aftersales.core.scoping import ScopedQuerySet
from aftersales.customers.models import Customer
from aftersales.organisation.models import DealerGroup, Store
from aftersales.privacy.choices import (
    EscalationLevel,
    IdentityMethod,
    RequestChannel,
    RequestKind,
    RequestScope,
    RequestStatus,
)


class RightsRequest(BaseModel):
    """One request of a customer about their personal data.  Its clock starts at receipt and its due time is fixed
    then: `data_request_days` calendar days, or `vehicle_data_erasure_working_days` working days for erasing vehicle
    data (China's working-day calendar).  The request outlives an erasure: its customer is anonymised, the request
    keeps what was asked and answered (the proof that it was)."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="rights_requests"
    )
    number = models.CharField(_("number"), max_length=32, unique=True)
    kind = models.CharField(_("request"), max_length=16, choices=RequestKind.choices)
    scope = models.CharField(_("scope"), max_length=16, choices=RequestScope.choices, default=RequestScope.ALL)
    channel = models.CharField(_("received through"), max_length=8, choices=RequestChannel.choices)
    details = models.TextField(_("what the customer asks"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.RECEIVED)
    received_at = models.DateTimeField(_("received at"))
    due_at = models.DateTimeField(_("answer due by"))
    logged_by = _person(_("logged by"))
    owner = _person(_("owner"), related_name="owned_rights_requests")
    identity_method = models.CharField(
        _("identity checked by"), max_length=16, choices=IdentityMethod.choices, blank=True
    )
    identity_note = models.CharField(_("identity check note"), max_length=200, blank=True)
    identity_checked_by = _person(_("identity checked by (staff)"))
    identity_checked_at = models.DateTimeField(_("identity checked at"), null=True, blank=True)
    answer = models.TextField(_("answer"), blank=True)
    refusal_reason = models.TextField(_("reason for refusing"), blank=True)
    answered_by = _person(_("answered by"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    # Escalation of an overdue (or nearly due) request, each level once, claimed with a conditional UPDATE.
    escalated_store_at = models.DateTimeField(_("escalated to the store manager at"), null=True, blank=True)
    escalated_group_at = models.DateTimeField(_("escalated to the privacy officer at"), null=True, blank=True)
    escalation_level = models.CharField(_("escalated to"), max_length=8, choices=EscalationLevel.choices, blank=True)

    store_lookup = "store_id"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("rights request")
        verbose_name_plural = _("rights requests")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["store", "status", "due_at"], name="rights_request_open_due"),
            models.Index(fields=["customer", "received_at"], name="rights_request_customer"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="refused") | ~Q(refusal_reason=""), name="rights_request_refusal_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class RetentionRun(BaseModel):
    """One run of the retention purge: a dry run (the report of what would go) or the purge itself.  The report
    is {category: {"action": "anonymise" | "delete" | "coarsen" | "redact", "count": n, "ids": [...]}}; a purge
    run names the dry run it carried out (it does exactly that run's report, re-checked at run time)."""

    group = models.ForeignKey(DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="+")
    dry_run = models.BooleanField(_("dry run"))
    as_of = models.DateTimeField(_("as of"))
    started_by = _person(_("started by"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    report = models.JSONField(_("report"), default=dict)
    dry_run_of = models.ForeignKey(
        "self", verbose_name=_("carries out"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")
        ordering = ["-as_of", "-id"]
