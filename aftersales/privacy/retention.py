"""The retention purge (SPEC §10, issue 17 part 2): what is kept how long, the dry-run report, and the purge that
carries out exactly a reviewed dry run.

One table (`POLICY`) derived from the data inventory (customers/inventory.py) says, per data category, which rows
it covers, the clock that starts its time, the setting that sets the length and what happens after it:

- customers: anonymised (`privacy.erasure.anonymise_customer`) `record_retention_years` after the last visit
  (default 3, never less than the legal minimum of 1: the setting's minimum) — orders, amounts and scores stay;
- unmatched replies (a reply we could not tie to any customer file): deleted after `record_retention_years`;
- rescue locations: rounded to 0.01° (about 1 km), the described place dropped, `location_retention_days` after
  the request closed;
- connected-car positions: rounded the same way `location_retention_days` after the event was processed;
- outbox texts to customers and staff (signed links, names, plates): replaced by a short note
  `OUTBOX_REDACT_DAYS` after delivery (or the final failure); template, channel, status and times stay.

The settings are read per store (store override → group → default): a record follows its store's setting, a
customer the store they registered at.  Retention is group-wide: only someone holding MANAGE_RETENTION in every
store of the group plans or purges it.  Nothing here runs unattended: the weekly job makes a dry run and asks the
privacy officers to review it (tasks_retention.py); only a person carries one out.

The report is {category: {"action": ..., "count": n, "ids": [...]}} (ids ascending).  The purge re-computes the
plan as of the dry run's `as_of` and acts on the ids both name (a row that changed since, e.g. a customer who came
back, is left alone), so on unchanged data the purge's report equals the dry run's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import DateTimeField, F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.customers.models import Customer
from aftersales.feedback.choices import ComplaintStatus
from aftersales.messaging.choices import Channel, MessageStatus
from aftersales.messaging.models import InboundMessage, OutboxMessage
from aftersales.organisation.models import DealerGroup, SettingValue, Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.organisation.settings_catalogue import BY_KEY
from aftersales.privacy.choices import OPEN_STATUSES
from aftersales.privacy.models import RetentionRun
from aftersales.rescue.choices import OPEN as RESCUE_OPEN
from aftersales.rescue.models import RescueRequest
from aftersales.service.choices import RepairOrderStatus
from aftersales.service.models import Appointment, RepairOrder
from aftersales.telematics.models import VehicleEvent

BATCH = 500
COARSE = Decimal("0.01")  # about 1 km of latitude
# Days a delivered (or finally failed) message keeps its text: long enough to answer "what did you send me?" the
# same week and to match replies; the signed links in it have expired by then.
OUTBOX_REDACT_DAYS = 7
REDACTED_BODY = "[removed by the retention purge / 已按保存期限删除]"
ERASED_BODY = "***"  # privacy.erasure.MASK: the text of an erased customer's message
# 机动车维修管理规定: the repair file is kept at least 2 years after the repair (privacy.erasure's rule).
REPAIR_FILE_YEARS = 2
# The message channels whose texts may name a person: an integrator's webhook body is ids and codes only.
REDACTED_CHANNELS = (Channel.SMS, Channel.WECHAT, Channel.EMAIL, Channel.WECOM)
FINAL_STATUSES = (MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.SUPPRESSED)
OPEN_ORDER_STATUSES = [s for s in RepairOrderStatus.values if s not in ("delivered", "cancelled")]


class Action:
    ANONYMISE = "anonymise"
    DELETE = "delete"
    COARSEN = "coarsen"
    REDACT = "redact"


ACTION_LABELS: dict[str, Promise] = {
    Action.ANONYMISE: _("Anonymise"),
    Action.DELETE: _("Delete"),
    Action.COARSEN: _("Coarsen to about 1 km"),
    Action.REDACT: _("Replace the text by a note"),
}


@dataclass(frozen=True)
class Category:
    key: str
    label: Promise
    rows: Promise  # which rows, in words
    clock: Promise  # what starts the time
    setting: str  # the settings_catalogue key of its length, or "" for a fixed number of days
    fixed_days: int  # when setting is ""
    action: str
    inventory: tuple[str, ...]  # the inventory's models it serves


POLICY: tuple[Category, ...] = (
    Category(
        "customers",
        _("Customers"),
        _("The customer's file: name, mobile, ID number, address, birthday, consents, replies and message texts"),
        _("the customer's last visit (arrival or delivery of an order, a booking made, else the file's creation)"),
        "record_retention_years",
        0,
        Action.ANONYMISE,
        ("customers.Customer", "customers.Vehicle", "customers.Consent", "messaging.OutboxMessage"),
    ),
    Category(
        "unmatched_replies",
        _("Replies from unknown numbers"),
        _("Text messages that matched no customer file (sender's number and text)"),
        _("the reply's arrival"),
        "record_retention_years",
        0,
        Action.DELETE,
        ("messaging.InboundMessage",),
    ),
    Category(
        "rescue_locations",
        _("Rescue locations"),
        _("Where the car stood: coordinates rounded to 0.01°, the described place dropped"),
        _("the rescue's end (completed, cancelled or handed to 12122)"),
        "location_retention_days",
        0,
        Action.COARSEN,
        ("rescue.RescueRequest",),
    ),
    Category(
        "vehicle_event_locations",
        _("Connected-car positions"),
        _("Positions the car reported: rounded to 0.01°"),
        _("the event's processing (rules applied, else its arrival)"),
        "location_retention_days",
        0,
        Action.COARSEN,
        ("telematics.VehicleEvent",),
    ),
    Category(
        "outbox_texts",
        _("Message texts"),
        _("Texts sent to customers and staff (names, plates, signed links); template, channel, status and times stay"),
        _("delivery, or the final failure"),
        "",
        OUTBOX_REDACT_DAYS,
        Action.REDACT,
        ("messaging.OutboxMessage",),
    ),
)
BY_CATEGORY = {c.key: c for c in POLICY}


# ------------------------------------------------------------------------------------------------ the clocks


def _store_values(group: DealerGroup, key: str) -> dict[int, int]:
    """{store_id: value of `key`} for every store of the group (store override → group → default), two queries."""
    setting = BY_KEY[key]
    default = int(setting.default)
    rows = SettingValue.objects.filter(group=group, key=key).values_list("store_id", "value")
    group_value = next((int(v) for s, v in rows if s is None), default)
    overrides = {s: int(v) for s, v in rows if s is not None}
    # Never below the setting's minimum (the legal minimum for records): a value stored before a rule changed.
    floor = int(setting.minimum)
    return {
        sid: max(floor, overrides.get(sid, group_value))
        for sid in Store.objects.filter(group=group).values_list("id", flat=True)
    }


def policy_lengths(group: DealerGroup) -> dict[str, dict[str, Any]]:
    """{category: {"days": [min, max] over the stores, "unit": "years"|"days", "setting": label}} for the page."""
    out: dict[str, dict[str, Any]] = {}
    for category in POLICY:
        if category.setting:
            values = sorted(set(_store_values(group, category.setting).values())) or [
                int(BY_KEY[category.setting].default)
            ]
            setting = BY_KEY[category.setting]
            out[category.key] = {"low": values[0], "high": values[-1], "unit": setting.unit, "label": setting.label}
        else:
            out[category.key] = {
                "low": category.fixed_days,
                "high": category.fixed_days,
                "unit": _("days"),
                "label": "",
            }
    return out


def _years_before(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def _by_store_cutoff(
    group: DealerGroup, key: str, as_of: dt.datetime, to_cutoff: Callable[[dt.datetime, int], dt.datetime]
) -> dict[int, dt.datetime]:
    return {sid: to_cutoff(as_of, n) for sid, n in _store_values(group, key).items()}


def _older_than(field: str, store_field: str, cutoffs: dict[int, dt.datetime]) -> Q:
    """Rows whose `field` is before their store's cutoff: one OR term per distinct cutoff (stores rarely differ)."""
    by_cutoff: dict[dt.datetime, list[int]] = {}
    for sid, cutoff in cutoffs.items():
        by_cutoff.setdefault(cutoff, []).append(sid)
    q = Q(pk__in=[])
    for cutoff, store_ids in by_cutoff.items():
        q |= Q(**{f"{store_field}__in": store_ids, f"{field}__lt": cutoff})
    return q


def _days(as_of: dt.datetime, n: int) -> dt.datetime:
    return as_of - dt.timedelta(days=n)


# ------------------------------------------------------------------------------------------------ the rows


def _is_anonymised() -> Q:
    """Customers already anonymised (by an erasure or an earlier purge): `anonymise_customer` leaves the mobile's
    hash as "erased-<id>", which no mobile hashes to.  Never listed again."""
    return Q(phone_hash__startswith="erased-")


def _customers(group: DealerGroup, as_of: dt.datetime) -> QuerySet[Customer]:
    cutoffs = _by_store_cutoff(group, "record_retention_years", as_of, _years_before)

    def latest(model: Any, field: str) -> Subquery:
        rows = model.objects.filter(customer=OuterRef("pk")).order_by().values("customer")
        return Subquery(rows.annotate(m=Max(field)).values("m")[:1], output_field=DateTimeField())

    last = Greatest(
        F("created_at"),
        Coalesce(latest(RepairOrder, "arrived_at"), F("created_at")),
        Coalesce(latest(RepairOrder, "delivered_at"), F("created_at")),
        Coalesce(latest(Appointment, "created_at"), F("created_at")),
    )
    # What erasure also waits for (privacy.erasure.erasure_refusals): an open order, complaint or rescue, an open
    # rights request, and the repair file's legal minimum after the last delivery (even with a 1-year setting).
    repair_file = _years_before(as_of, REPAIR_FILE_YEARS)
    busy = (
        Q(repair_orders__status__in=OPEN_ORDER_STATUSES)
        | Q(repair_orders__status=RepairOrderStatus.DELIVERED, repair_orders__delivered_at__gte=repair_file)
        | Q(complaints__status__in=[s for s in ComplaintStatus.values if s != ComplaintStatus.CLOSED])
        | Q(rights_requests__status__in=list(OPEN_STATUSES))
        | Q(pk__in=RescueRequest.objects.filter(status__in=list(RESCUE_OPEN)).values("customer_id"))
    )
    return (
        Customer.objects.filter(group=group)
        .annotate(last_visit=last)
        .filter(_older_than("last_visit", "store_id", cutoffs))
        .exclude(pk__in=Customer.objects.filter(busy).values("pk"))
        .exclude(_is_anonymised())
    )


def _unmatched_replies(group: DealerGroup, as_of: dt.datetime) -> QuerySet[InboundMessage]:
    cutoffs = _by_store_cutoff(group, "record_retention_years", as_of, _years_before)
    condition = _older_than("received_at", "store_id", cutoffs)
    if cutoffs:
        # A reply from an unknown number that named no store belongs to no group: it goes after the longest of
        # the group's retention periods (the earliest cutoff), whichever group's purge reaches it first.
        condition |= Q(store__isnull=True, received_at__lt=min(cutoffs.values()))
    return InboundMessage.objects.filter(customer__isnull=True).filter(condition)


def _rescue_locations(group: DealerGroup, as_of: dt.datetime) -> QuerySet[RescueRequest]:
    cutoffs = _by_store_cutoff(group, "location_retention_days", as_of, _days)
    ended = Coalesce("completed_at", "cancelled_at", "handed_off_at", "updated_at", output_field=DateTimeField())
    return (
        RescueRequest.objects.filter(group=group, location_coarsened_at__isnull=True)
        .exclude(status__in=list(RESCUE_OPEN))
        .annotate(ended_at=ended)
        .filter(_older_than("ended_at", "store_id", cutoffs))
    )


def _vehicle_event_locations(group: DealerGroup, as_of: dt.datetime) -> QuerySet[VehicleEvent]:
    cutoffs = _by_store_cutoff(group, "location_retention_days", as_of, _days)
    processed = Coalesce("evaluated_at", "received_at", output_field=DateTimeField())
    return (
        VehicleEvent.objects.filter(vehicle__group=group, location_coarsened=False)
        .filter(Q(latitude__isnull=False) | Q(longitude__isnull=False))
        .annotate(processed_at=processed)
        .filter(_older_than("processed_at", "vehicle__store_id", cutoffs))
    )


def _outbox_texts(group: DealerGroup, as_of: dt.datetime) -> QuerySet[OutboxMessage]:
    finished = Coalesce("sent_at", "updated_at", output_field=DateTimeField())
    return (
        OutboxMessage.objects.filter(store__group=group, channel__in=REDACTED_CHANNELS, status__in=FINAL_STATUSES)
        .exclude(body__in=[REDACTED_BODY, ERASED_BODY])
        .annotate(finished_at=finished)
        .filter(finished_at__lt=as_of - dt.timedelta(days=OUTBOX_REDACT_DAYS))
    )


ROWS: dict[str, Callable[[DealerGroup, dt.datetime], QuerySet[Any]]] = {
    "customers": _customers,
    "unmatched_replies": _unmatched_replies,
    "rescue_locations": _rescue_locations,
    "vehicle_event_locations": _vehicle_event_locations,
    "outbox_texts": _outbox_texts,
}


# ------------------------------------------------------------------------------------------------ plan, dry run, purge


def _require(user: User, group: DealerGroup) -> None:
    """Retention acts on every store of the group: the capability is needed in each of them."""
    store_ids = list(Store.objects.filter(group=group).values_list("id", flat=True))
    if not store_ids or not all(user_can(user, Capability.MANAGE_RETENTION, sid) for sid in store_ids):
        raise PermissionDenied(_("Your role may not do this."))


def retention_plan(*, group: DealerGroup, as_of: dt.datetime) -> dict[str, dict[str, Any]]:
    """What the purge would do as of `as_of`: {category: {"action", "count", "ids"}}.  Reads only."""
    report: dict[str, dict[str, Any]] = {}
    for category in POLICY:
        ids = sorted(ROWS[category.key](group, as_of).values_list("pk", flat=True).distinct())
        report[category.key] = {"action": category.action, "count": len(ids), "ids": ids}
    return report


def retention_moves_for(*, group: DealerGroup, user: User, run: RetentionRun | None = None) -> dict[str, bool]:
    """What the page may offer: a new dry run; carrying out `run` (a dry run of this group not yet carried out)."""
    try:
        _require(user, group)
    except PermissionDenied:
        return {"dry_run": False, "purge": False}
    purgeable = bool(
        run is not None
        and run.dry_run
        and run.group_id == group.pk
        and run.finished_at is not None
        and not RetentionRun.objects.filter(dry_run_of=run).exists()
    )
    return {"dry_run": True, "purge": purgeable}


def retention_dry_run(*, group: DealerGroup, by: User | None, as_of: dt.datetime | None = None) -> RetentionRun:
    """Make and keep the report of what the purge would do.  `by` None: the weekly job (no person)."""
    if by is not None:
        _require(by, group)
    as_of = as_of or clock.now()
    report = retention_plan(group=group, as_of=as_of)
    with transaction.atomic():
        run = RetentionRun.objects.create(
            group=group, dry_run=True, as_of=as_of, started_by=by, finished_at=clock.now(), report=report
        )
        audit_record(actor=by, action="retention.dry_run", obj=run, changes=_counts(report))
    return run


def retention_purge(*, group: DealerGroup, by: User, dry_run: RetentionRun) -> RetentionRun:
    """Carry out a reviewed dry run: re-compute the plan as of its `as_of` and act on the rows both name, in one
    transaction (in batches).  A dry run is carried out once; the dry run row is locked meanwhile."""
    _require(by, group)
    if not dry_run.dry_run or dry_run.group_id != group.pk:
        raise ValidationError({"dry_run": [_("Choose a dry run of this dealer group.")]})
    with transaction.atomic():
        RetentionRun.objects.select_for_update().filter(pk=dry_run.pk).first()
        if RetentionRun.objects.filter(dry_run_of=dry_run).exists():
            raise ValidationError({"dry_run": [_("This dry run has already been carried out.")]})
        now = clock.now()
        plan = retention_plan(group=group, as_of=dry_run.as_of)
        done: dict[str, dict[str, Any]] = {}
        # Customers last: anonymising one also deletes its cars' events and masks its messages, which the other
        # categories would then find already done (and count less than the dry run reported).
        for category in sorted(POLICY, key=lambda c: c.key == "customers"):
            reviewed = set((dry_run.report.get(category.key) or {}).get("ids", []))
            ids = [pk for pk in plan[category.key]["ids"] if pk in reviewed]
            acted = _carry_out(category, ids, now=now)
            done[category.key] = {"action": category.action, "count": len(acted), "ids": acted}
        run = RetentionRun.objects.create(
            group=group,
            dry_run=False,
            as_of=dry_run.as_of,
            started_by=by,
            finished_at=clock.now(),
            report=done,
            dry_run_of=dry_run,
        )
        audit_record(actor=by, action="retention.purge", obj=run, changes={**_counts(done), "dry_run": dry_run.pk})
    return run


def _counts(report: dict[str, dict[str, Any]]) -> dict[str, int]:
    return {key: int(entry.get("count", 0)) for key, entry in report.items()}


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def _carry_out(category: Category, ids: list[int], *, now: dt.datetime) -> list[int]:
    """Act on `ids` of the category; returns the ids acted on (ascending)."""
    acted: list[int] = []
    for chunk in _chunks(ids):
        if category.key == "customers":
            from aftersales.privacy.erasure import anonymise_customer, erasure_refusals

            for customer in Customer.objects.select_for_update().filter(pk__in=chunk).order_by("pk"):
                if erasure_refusals(customer, on=now):
                    continue  # came back (an order opened) while the purge ran: kept, as erasure would
                anonymise_customer(customer, scope="all")
                acted.append(customer.pk)
        elif category.key == "unmatched_replies":
            rows = list(InboundMessage.objects.filter(pk__in=chunk, customer__isnull=True).values_list("pk", flat=True))
            InboundMessage.objects.filter(pk__in=rows).delete()
            acted += rows
        elif category.key == "rescue_locations":
            for pk, lat, lon in RescueRequest.objects.filter(
                pk__in=chunk, location_coarsened_at__isnull=True
            ).values_list("pk", "latitude", "longitude"):
                RescueRequest.objects.filter(pk=pk).update(
                    latitude=_coarse(lat), longitude=_coarse(lon), address="", location_coarsened_at=now, updated_at=now
                )
                acted.append(pk)
        elif category.key == "vehicle_event_locations":
            for pk, lat, lon in VehicleEvent.objects.filter(pk__in=chunk, location_coarsened=False).values_list(
                "pk", "latitude", "longitude"
            ):
                VehicleEvent.objects.filter(pk=pk).update(
                    latitude=_coarse(lat), longitude=_coarse(lon), location_coarsened=True
                )
                acted.append(pk)
        elif category.key == "outbox_texts":
            rows = list(
                OutboxMessage.objects.filter(pk__in=chunk)
                .exclude(body__in=[REDACTED_BODY, ERASED_BODY])
                .values_list("pk", flat=True)
            )
            # updated_at is kept: it dates the message's last move, which the purge is not.
            OutboxMessage.objects.filter(pk__in=rows).update(body=REDACTED_BODY)
            acted += rows
    return sorted(acted)


def _coarse(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(COARSE, rounding=ROUND_HALF_UP)


# ------------------------------------------------------------------------------------------------ reads for the page


def groups_for(user: User) -> list[DealerGroup]:
    """The dealer groups whose retention the user manages (the capability in every store of the group)."""
    groups = DealerGroup.objects.filter(stores__isnull=False).distinct().order_by("code")
    result = []
    for group in groups:
        try:
            _require(user, group)
        except PermissionDenied:
            continue
        result.append(group)
    return result


def run_list(*, group: DealerGroup, limit: int = 20) -> list[RetentionRun]:
    return list(RetentionRun.objects.filter(group=group).select_related("started_by").defer("report")[:limit])


def latest_dry_run(*, group: DealerGroup) -> RetentionRun | None:
    return RetentionRun.objects.filter(group=group, dry_run=True).select_related("started_by").first()


__all__ = [
    "POLICY",
    "REDACTED_BODY",
    "retention_dry_run",
    "retention_moves_for",
    "retention_plan",
    "retention_purge",
]


# ------------------------------------------------------------------------------------------------ the weekly review

MESSAGES: dict[str, dict[str, tuple[str, str]]] = {
    "retention_review": {
        "zh-hans": (
            "个人信息保存期限：请审核清理预演｜{group}",
            "{group}：本周的清理预演列出{total}条已过保存期限的记录（{summary}）。请审核后在“数据保存期限”页面执行；"
            "系统不会自动清理。",
        ),
        "en": (
            "Retention: a dry run to review – {group}",
            "{group}: this week's dry run lists {total} records past their retention ({summary}). Review it and "
            "carry it out on the Data retention page; nothing is purged unattended.",
        ),
    },
}


def _register_messages() -> None:
    from aftersales.messaging import templates

    for key, texts in MESSAGES.items():
        templates.TEMPLATES.setdefault(key, texts)


def retention_weekly_review(*, as_of: dt.datetime | None = None) -> dict[str, int]:
    """The weekly job: a dry run per dealer group, and when it lists anything, an inbox item for the group's
    privacy officers (else its administrators) to review and carry it out.  Never purges: deleting or anonymising
    records is a person's decision, on a report they have read.  Returns {group code: rows listed}."""
    from django.urls import reverse

    from aftersales.notifications.services import staff_notify
    from aftersales.organisation.choices import Role
    from aftersales.organisation.models import Membership

    _register_messages()
    as_of = as_of or clock.now()
    result: dict[str, int] = {}
    for group in DealerGroup.objects.filter(stores__isnull=False).distinct().order_by("code"):
        run = retention_dry_run(group=group, by=None, as_of=as_of)
        counts = _counts(run.report)
        total = sum(counts.values())
        result[group.code] = total
        if not total:
            continue
        people: list[Any] = []
        for role in (Role.PRIVACY_OFFICER, Role.ADMIN):
            people = [
                m.user
                for m in Membership.objects.filter(group=group, store__isnull=True, role=role, user__is_active=True)
                .select_related("user")
                .order_by("user_id")
            ]
            if people:
                break
        store = Store.objects.filter(group=group).order_by("pk").first()
        if not people or store is None:
            continue
        labels = {c.key: c.label for c in POLICY}
        staff_notify(
            store=store,
            users=people,
            template="retention_review",
            context={
                "group": group.name,
                "total": total,
                "summary": "; ".join(f"{labels[k]} {n}" for k, n in counts.items() if n),
            },
            dedupe_key=f"retention_review:{run.pk}",
            related=run,
            url=reverse("privacy:retention"),
            store_robot=False,  # a privacy matter, not for the store's group chat
        )
    return result
