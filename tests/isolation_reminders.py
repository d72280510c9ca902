"""Store B's reminder for the web isolation sweep (tests/test_web_isolation.py merges this module): snoozing another
store's reminder answers 404 like a missing one and changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from aftersales.core import clock
from aftersales.reminders.models import Reminder

OBJECTS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "reminders:snooze": lambda o: [o["reminder"].pk],
}
PUBLIC_LINK_PAGES: set[str] = set()
POST_FIELDS: dict[str, Any] = {"days": "7"}


def build(cast: Any, objects: dict[str, Any]) -> dict[str, Any]:
    reminder = Reminder.objects.create(
        store=cast.store_b,
        customer=objects["customer"],
        vehicle=objects["vehicle"],
        kind="insurance",
        due_key="isolation",
        due_on=clock.today() + dt.timedelta(days=30),
        remind_on=clock.today(),
        state="sent",
    )
    return {"reminder": reminder}


def snapshot() -> tuple[Any, ...]:
    return (list(Reminder.objects.order_by("id").values_list("state", "snoozed_until")),)
