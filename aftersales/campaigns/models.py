"""Care campaigns (SPEC §5): a message to an audience of a store's customers, with a random control group held
out so that the return the campaign brings can be measured against customers who got nothing.

Models are thin: the audience, the split, the sending and the results live in `selectors` and `services`; the
status moves only through `services.campaign_transition` (table: `transitions.CAMPAIGN`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.campaigns.choices import Arm, CampaignPurpose, CampaignStatus, SkipReason
from aftersales.core.models import BaseModel
from aftersales.core.scoping import ScopedQuerySet
from aftersales.customers.models import Customer
from aftersales.messaging.models import OutboxMessage
from aftersales.organisation.models import Store


class Campaign(BaseModel):
    """One campaign of one store: who (the audience filter), what (the text in both languages), when."""

    # Cascade: a store removed (the seed's --flush) takes its campaigns and their members along.
    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(_("name"), max_length=120)
    purpose = models.CharField(
        _("purpose"), max_length=16, choices=CampaignPurpose.choices, default=CampaignPurpose.MARKETING
    )
    # The audience as data (see selectors.AudienceFilter): tiers, nev, model_contains, last_visit_from/to,
    # mileage_min/max, open_deferred.  Kept as JSON so that a rule added later needs no migration.
    audience = models.JSONField(_("audience"), default=dict, blank=True)
    text_zh = models.TextField(_("message (Chinese)"))
    text_en = models.TextField(_("message (English)"))
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT, db_index=True
    )
    # The control share in force when the members were drawn (the setting may change later).
    control_share_percent = models.PositiveSmallIntegerField(_("control group (%)"), null=True, blank=True)
    started_at = models.DateTimeField(_("sending started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaigns_created",
    )

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["updated_at"], name="campaigns_campaign_upd_idx")]  # API sync

    def __str__(self) -> str:
        return self.name


class CampaignMember(BaseModel):
    """One customer drawn into a campaign, in one arm.  A treatment member gets one message (or a skip reason);
    a control member gets nothing.  The link token makes the message's link personal, so opening it counts."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="campaign_memberships"
    )
    arm = models.CharField(_("arm"), max_length=16, choices=Arm.choices)
    message = models.ForeignKey(
        OutboxMessage,
        verbose_name=_("message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaign_members",
    )
    skipped_reason = models.CharField(_("not sent because"), max_length=32, choices=SkipReason.choices, blank=True)
    # Set once the member has been handled (message queued, or skipped): the sender's resume point.
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    link_token = models.CharField(_("link token"), max_length=32, null=True, blank=True, unique=True)
    opened_at = models.DateTimeField(_("link opened at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "campaign__store_id"

    class Meta:
        verbose_name = _("campaign member")
        verbose_name_plural = _("campaign members")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="campaign_member_unique_customer"),
            models.CheckConstraint(
                condition=Q(arm=Arm.TREATMENT) | Q(message__isnull=True, link_token__isnull=True),
                name="campaign_member_control_gets_nothing",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "arm", "handled_at"])]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.customer_id} {self.arm}"
