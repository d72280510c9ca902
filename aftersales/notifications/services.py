"""Alerts to staff: the one function every alert of the product goes through (`staff_notify`), and reading.

An alert always lands in each person's in-app inbox (`InboxItem`), so nothing a person must act on is lost
for want of an address.  It also goes out through the outbox (`messaging.services.message_enqueue`, with its
retries) on each external channel there is: an e-mail to each person who has an address, and one post to the
store's WeCom group robot when the store has one.  No outbox row is written for a channel a person lacks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import translation
from django.utils.functional import Promise

from aftersales.core import clock
from aftersales.messaging import templates
from aftersales.messaging.choices import Channel, Language, Purpose
from aftersales.messaging.services import message_enqueue
from aftersales.notifications.models import InboxItem
from aftersales.organisation.models import Store

logger = logging.getLogger("aftersales.notifications")

# The language external messages are written in: users have no language of their own, the product's is Chinese.
EXTERNAL_LANGUAGE = Language.ZH_HANS


def _context_in(language: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """The values with lazy translations (choice labels, gettext_lazy) evaluated in `language`."""
    with translation.override(language):
        return {key: str(value) if isinstance(value, Promise) else value for key, value in context.items()}


def _people(users: Iterable[Any]) -> list[Any]:
    """Active users, each once, in the order given."""
    seen: dict[int, Any] = {}
    for user in users:
        if user is not None and user.is_active:
            seen.setdefault(user.pk, user)
    return list(seen.values())


@transaction.atomic
def staff_notify(
    *,
    store: Store,
    users: Iterable[Any],
    template: str,
    context: Mapping[str, Any],
    dedupe_key: str,
    related: models.Model | None = None,
    url: str = "",
    store_robot: bool = True,
) -> int:
    """Raise one alert: an inbox item for each active user, an e-mail to each who has an address, and one post
    to the store's WeCom robot.  Returns how many people it reached.  `dedupe_key` makes a repeat a no-op
    (for the inbox and the outbox alike), on top of the caller's own claim; `url` is the record to act on.
    `store_robot=False` keeps the store's group chat out of it: an alert about the store that its staff must not
    read (a mystery shopper's assignment)."""
    zh = _context_in(Language.ZH_HANS, context)
    en = _context_in(Language.EN, context)
    rendered_zh = templates.render(template=template, language=Language.ZH_HANS, context=zh)
    rendered_en = templates.render(template=template, language=Language.EN, context=en)
    related_type = related._meta.label_lower if related is not None else ""
    related_id = str(related.pk) if related is not None else ""
    people = _people(users)
    now = clock.now()
    for user in people:
        key = f"{dedupe_key}:{user.pk}" if dedupe_key else ""
        # `exclude("")` repeats the partial unique index's condition, without which SQLite reads every item.
        if not key or not InboxItem.objects.filter(dedupe_key=key[:160]).exclude(dedupe_key="").exists():
            item = InboxItem(
                recipient=user,
                store=store,
                kind=template,
                title_zh_hans=rendered_zh.subject[:200],
                text_zh_hans=rendered_zh.body,
                title_en=rendered_en.subject[:200],
                text_en=rendered_en.body,
                url=url,
                related_type=related_type,
                related_id=related_id,
                dedupe_key=key[:160],
                created_at=now,
            )
            item.full_clean()
            try:
                with transaction.atomic():
                    item.save()
            except IntegrityError:  # a concurrent run raised the same alert meanwhile
                logger.info("inbox: %s already delivered", key)
        if (getattr(user, "email", "") or "").strip():
            message_enqueue(
                store=store,
                template=template,
                context=zh,
                recipient_user=user,
                purpose=Purpose.STAFF,
                channel=Channel.EMAIL,
                language=EXTERNAL_LANGUAGE,
                related=related,
                dedupe_key=key[:128],
            )
    if store_robot and (store.wecom_webhook_url or "").strip():
        message_enqueue(
            store=store,
            template=template,
            context=zh,
            purpose=Purpose.STAFF,
            channel=Channel.WECOM,
            language=EXTERNAL_LANGUAGE,
            related=related,
            dedupe_key=f"{dedupe_key}:wecom"[:128] if dedupe_key else "",
        )
    return len(people)


def inbox_item_read(*, item: InboxItem, by: Any) -> InboxItem:
    """Mark one of `by`'s own items read (a second time changes nothing).  Another person's item is not found."""
    now = clock.now()
    InboxItem.objects.filter(pk=item.pk, recipient_id=by.pk, read_at__isnull=True).update(read_at=now, updated_at=now)
    item.refresh_from_db(fields=["read_at", "updated_at"])
    return item


def inbox_read_all(*, by: Any) -> int:
    """Mark every unread item of `by` read; returns how many."""
    now = clock.now()
    return InboxItem.objects.for_recipient(by).unread().update(read_at=now, updated_at=now)
