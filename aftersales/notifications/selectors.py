"""Reads of the staff inbox: always a person's own items (`InboxItem.objects.for_recipient`)."""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.http import Http404

from aftersales.notifications.models import InboxItem


def inbox_unread_count(*, user: Any) -> int:
    """The bell's number: one COUNT on the (recipient, read_at) index."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return InboxItem.objects.for_recipient(user).unread().count()


def inbox_list(*, user: Any, unread_only: bool = False) -> QuerySet[InboxItem]:
    """Unread first, then newest first."""
    items = InboxItem.objects.for_recipient(user).select_related("store")
    if unread_only:
        items = items.unread()
    unread = ExpressionWrapper(Q(read_at__isnull=True), output_field=BooleanField())
    return items.order_by(unread.desc(), "-created_at", "-id")


def inbox_item_get_for_user(*, user: Any, pk: Any) -> InboxItem:
    """One of the user's own items; anyone else's, or a missing one, is 404 alike."""
    try:
        return InboxItem.objects.for_recipient(user).get(pk=int(pk))
    except (InboxItem.DoesNotExist, TypeError, ValueError, OverflowError) as exc:
        raise Http404 from exc
