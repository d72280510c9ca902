"""The staff inbox: every alert the product raises for a person, kept in the product itself, read or not."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.core.scoping import ScopedQuerySet
from aftersales.organisation.models import Store


class InboxItemQuerySet(ScopedQuerySet["InboxItem"]):
    def for_recipient(self, user: Any) -> InboxItemQuerySet:
        """A person's own items, and nobody else's (an inbox is personal: no role reads another's)."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        return self.filter(recipient_id=user.pk)

    def unread(self) -> InboxItemQuerySet:
        return self.filter(read_at__isnull=True)


class InboxItem(BaseModel):
    """One alert for one member of staff: what happened, in both languages of the product, and where to act.

    Written only by `notifications.services` (created by `staff_notify`, marked read by `inbox_item_read`).
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="inbox_items"
    )
    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="inbox_items")
    kind = models.CharField(_("kind"), max_length=64, help_text=_("The message template of the alert."))
    # Rendered when the alert was raised, in both languages: each reader sees the one their page is in.
    title_zh_hans = models.CharField(_("title (Chinese)"), max_length=200)
    text_zh_hans = models.TextField(_("text (Chinese)"))
    title_en = models.CharField(_("title (English)"), max_length=200)
    text_en = models.TextField(_("text (English)"))
    url = models.CharField(_("link"), max_length=500, blank=True, help_text=_("The record to act on (a site path)."))
    related_type = models.CharField(_("related object type"), max_length=64, blank=True)
    related_id = models.CharField(_("related object id"), max_length=64, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    dedupe_key = models.CharField(
        _("de-duplication key"),
        max_length=160,
        blank=True,
        help_text=_("The same alert reaches one person's inbox once."),
    )

    objects = InboxItemQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("inbox item")
        verbose_name_plural = _("inbox items")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], condition=~Q(dedupe_key=""), name="inbox_dedupe_key_unique"),
        ]
        indexes = [
            # The bell's count (recipient, unread) and the list (recipient, unread first, newest first).
            models.Index(fields=["recipient", "read_at", "-created_at"], name="inbox_recipient_read_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} → {self.recipient_id}"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None

    @property
    def title(self) -> str:
        """The title in the language of the current page."""
        return self.title_en if (get_language() or "").startswith("en") else self.title_zh_hans

    @property
    def text(self) -> str:
        return self.text_en if (get_language() or "").startswith("en") else self.text_zh_hans
