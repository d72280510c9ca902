"""Care playbooks per tier (SPEC §5): what a group does for its A, B, C and D customers, the editable table of
service suggestions for tier B, the dedicated advisor of each A customer, and one row per care action taken.

`CareAction` is unique on (customer, kind, episode): the sweep inserts the row before it queues the message or
raises the task, inside one transaction, so a rerun, or two workers at once, can never act twice.  The episode
says which occurrence it is: the tier change that put the customer in the tier (D's recall, call and win-back
happen once per D episode), a year (A's benefits package), a rule and a vehicle (B's suggestions)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.care.choices import CareKind
from aftersales.core.models import BaseModel
from aftersales.core.scoping import ScopedQuerySet
from aftersales.customers.choices import Tier
from aftersales.customers.models import Customer, Vehicle
from aftersales.messaging.models import OutboxMessage
from aftersales.notifications.models import InboxItem
from aftersales.organisation.models import DealerGroup, Store

# The playbook's switch of each kind of care action.
PLAYBOOK_SWITCH: dict[str, str] = {
    CareKind.A_ADVISOR: "a_advisor",
    CareKind.A_BENEFITS: "a_benefits",
    CareKind.B_SUGGESTION: "b_suggestions",
    CareKind.B_UPGRADE: "b_upgrade",
    CareKind.C_WELCOME: "c_welcome",
    CareKind.D_RECALL: "d_recall",
    CareKind.D_CALL: "d_call",
    CareKind.D_WIN_BACK: "d_win_back",
}


class CarePlaybook(BaseModel):
    """A group's playbook: which care actions it takes per tier, and the words of its offers.  The numbers
    (discounts, months without a visit, days) are settings of the catalogue's care section."""

    group = models.OneToOneField(
        DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="care_playbook"
    )
    a_advisor = models.BooleanField(_("A: assign a dedicated advisor (task to the advisor)"), default=True)
    a_benefits = models.BooleanField(_("A: yearly benefits package message"), default=True)
    a_benefits_text = models.CharField(
        _("A: the benefits package"), max_length=120, default="全年免费检测2次、免费洗车4次、工时费9折"
    )
    b_suggestions = models.BooleanField(_("B: service suggestions from the rule table"), default=True)
    b_upgrade = models.BooleanField(_("B: upgrade offer"), default=True)
    b_upgrade_text = models.CharField(_("B: the upgrade offered"), max_length=60, default="延长保修")
    c_welcome = models.BooleanField(_("C: welcome gift after the first maintenance"), default=True)
    c_welcome_text = models.CharField(_("C: the welcome gift"), max_length=60, default="精美车载礼品一份")
    d_recall = models.BooleanField(_("D: recall notice"), default=True)
    d_call = models.BooleanField(_("D: advisor call task to ask why"), default=True)
    d_win_back = models.BooleanField(_("D: win-back offer"), default=True)

    class Meta:
        verbose_name = _("care playbook")
        verbose_name_plural = _("care playbooks")

    def __str__(self) -> str:
        return f"{self.group}"

    def enabled(self, kind: str) -> bool:
        """Whether the playbook takes the care action `kind`."""
        return bool(getattr(self, PLAYBOOK_SWITCH[kind]))


class SuggestionRule(BaseModel):
    """One line of tier B's service-suggestion table: at a mileage and/or a vehicle age, suggest an item (e.g.
    20 000 km → transmission oil, 24 months → coolant).  Suggested once per rule and vehicle."""

    group = models.ForeignKey(
        DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="care_suggestion_rules"
    )
    item = models.CharField(_("service item"), max_length=60)
    at_km = models.PositiveIntegerField(
        _("at mileage (km)"), null=True, blank=True, validators=[MinValueValidator(1000), MaxValueValidator(500_000)]
    )
    at_months = models.PositiveSmallIntegerField(
        _("at vehicle age (months)"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(240)]
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service suggestion rule")
        verbose_name_plural = _("service suggestion rules")
        ordering = ["group", "at_km", "at_months", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(at_km__isnull=False) | Q(at_months__isnull=False), name="care_rule_has_a_threshold"
            )
        ]

    def __str__(self) -> str:
        return self.item


class CareAdvisor(BaseModel):
    """The dedicated advisor of a customer (tier A's benefit), at the store that registered the customer."""

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="care_advisor"
    )
    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("dedicated advisor"), on_delete=models.CASCADE, related_name="+"
    )
    assigned_at = models.DateTimeField(_("assigned at"))

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("dedicated advisor")
        verbose_name_plural = _("dedicated advisors")

    def __str__(self) -> str:
        return f"{self.customer_id} → {self.advisor_id}"


class CareAction(BaseModel):
    """One care action taken for one customer: a message queued in the outbox or a task in a person's inbox."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="care_actions")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="care_actions"
    )
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=CareKind.choices)
    episode = models.CharField(_("episode"), max_length=64)
    rule = models.ForeignKey(
        SuggestionRule,
        verbose_name=_("service suggestion rule"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    message = models.ForeignKey(
        OutboxMessage, verbose_name=_("message"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    inbox_item = models.ForeignKey(
        InboxItem, verbose_name=_("task"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    done_at = models.DateTimeField(_("done at"), db_index=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("care action")
        verbose_name_plural = _("care actions")
        ordering = ["-done_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "kind", "episode"], name="care_action_once_per_episode")
        ]
        indexes = [
            models.Index(fields=["store", "kind", "done_at"]),
            models.Index(fields=["updated_at"], name="care_action_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.customer_id} ({self.episode})"
