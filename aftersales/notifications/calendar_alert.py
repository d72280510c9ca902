"""The December warning about the official calendar (docs/calendar.md): every administrator is told, once per year,
in the staff inbox (and by e-mail), when next year has no calendar from 1 December, or when a working-day clock
already reached a year with none (`core.CalendarGap`).  Run daily by `notifications.calendar_check` (tasks.py)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from aftersales.core import calendar, clock
from aftersales.core.models import CalendarGap
from aftersales.messaging import templates
from aftersales.notifications.services import staff_notify
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Membership, Store

logger = logging.getLogger("aftersales.notifications")

TEMPLATE = "calendar_missing"
TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    TEMPLATE: {
        "zh-hans": (
            "{year}年工作日历尚未录入",
            "{year}年尚无国务院节假日安排（既未录入，也不在 chinese-calendar 数据中）。"
            "按工作日计算的时限（如建议的处理时限）在{year}年将按周一至周五计算，不考虑法定节假日和调休。"
            "通知发布后，请在“官方日历”页面（{path}）录入，或在服务器上运行 aftersales calendar import FILE。",
        ),
        "en": (
            "No official calendar for {year}",
            "{year} has no State Council holiday notice yet (neither entered nor in the chinese-calendar data). "
            "Working-day clocks (such as a suggestion's decision) count Monday–Friday in {year}, ignoring the public "
            "holidays and the make-up working days. Once the notice is published, enter it on the official "
            "calendar page ({path}) or run `aftersales calendar import FILE` on the server.",
        ),
    }
}


def register() -> None:
    """Add the alert's texts to the outbox's templates (a name the outbox already has is left alone)."""
    for key, texts in TEMPLATES.items():
        templates.TEMPLATES.setdefault(key, texts)


register()


def administrators() -> dict[int, list[Any]]:
    """{store id: administrators} — each active administrator (an ADMIN membership, or a superuser) once, under the
    store their inbox item is filed in: their membership's store, else their group's first store, else (a superuser
    with no membership) the first store of all."""
    first_store_of_group: dict[int, int] = {}
    for store_id, group_id in Store.objects.order_by("pk").values_list("pk", "group_id"):
        first_store_of_group.setdefault(group_id, store_id)
    any_store = min(first_store_of_group.values(), default=None)
    placed: dict[int, int] = {}
    for user_id, store_id, group_id in (
        Membership.objects.filter(role=Role.ADMIN).order_by("pk").values_list("user_id", "store_id", "group_id")
    ):
        store = store_id or first_store_of_group.get(group_id)
        if store is not None:
            placed.setdefault(user_id, store)
    users = get_user_model().objects.filter(Q(pk__in=placed) | Q(is_superuser=True), is_active=True).order_by("pk")
    result: dict[int, list[Any]] = {}
    for user in users:
        store = placed.get(user.pk, any_store)
        if store is not None:
            result.setdefault(store, []).append(user)
    return result


def calendar_gap_alert_sweep(*, now: dt.datetime | None = None) -> int:
    """Tell the administrators about each year needing a notice (`core.calendar.years_needing_notice`), once per
    year: the year's `CalendarGap` row is claimed by setting `alerted_at` (a conditional UPDATE in the same
    transaction as the inbox items), so a rerun or a second worker tells nobody twice.  Returns the years alerted."""
    register()
    now = now or clock.now()
    today = timezone.localdate(now)
    alerted = 0
    for year in calendar.years_needing_notice(today):
        with transaction.atomic():
            gap, _created = CalendarGap.objects.get_or_create(year=year, defaults={"first_reached_at": None})
            if not CalendarGap.objects.filter(pk=gap.pk, alerted_at__isnull=True).update(alerted_at=now):
                continue
            path = reverse("organisation:calendar-year", kwargs={"year": year})
            people = administrators()
            for store_id, users in people.items():
                staff_notify(
                    store=Store.objects.get(pk=store_id),
                    users=users,
                    template=TEMPLATE,
                    context={"year": year, "path": path},
                    dedupe_key=f"{TEMPLATE}:{year}",
                    related=gap,
                    url=path,
                    store_robot=False,  # for the administrators, not the store's group chat
                )
            if not people:
                logger.warning("official calendar: no administrator to tell that %s has no calendar", year)
            alerted += 1
    if alerted:
        logger.info("official calendar: administrators told about %s year(s) without a calendar", alerted)
    return alerted
