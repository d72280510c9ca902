"""Where each event type's fact is recorded in the lower apps, read by the sweep (never a signal).

Each source is a query over rows recorded at or after `since` (the sweep's mark), answering `Fact`s: the row's
identity (unique with the type), the store, when it happened, and the event's `data` — ids, codes and local times
(ISO 8601 with the +08:00 offset), never a name, a phone number or free text a customer wrote."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Sum
from django.utils import timezone

from aftersales.feedback.choices import ComplaintStatus
from aftersales.feedback.models import Complaint, ComplaintEscalation, ComplaintEvent, SurveyResponse
from aftersales.service.choices import AppointmentStatus, EstimateStatus, LineDecision
from aftersales.service.models import Appointment, Estimate, EstimateLine, RepairOrder, RepairOrderEvent
from aftersales.webhooks.choices import EventType


def iso(value: dt.datetime | dt.date | None) -> str | None:
    """ISO 8601 in the local time of China (+08:00), seconds; dates as YYYY-MM-DD."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    return value.isoformat()


@dataclass(frozen=True)
class Fact:
    type: str
    source: str
    source_id: str
    store_id: int
    group_id: int
    occurred_at: dt.datetime
    data: dict[str, Any]


def _order(order: RepairOrder) -> dict[str, Any]:
    return {
        "id": order.pk,
        "number": order.number,
        "store": order.store.code,
        "service_type": order.service_type,
        "status": order.status,
        "customer_id": order.customer_id,
        "vehicle_id": order.vehicle_id,
        "appointment_id": order.appointment_id,
    }


def _complaint(complaint: Complaint) -> dict[str, Any]:
    return {
        "id": complaint.pk,
        "store": complaint.store.code,
        "status": complaint.status,
        "category": complaint.category,
        "priority": complaint.priority,
        "channel": complaint.channel,
        "received_at": iso(complaint.received_at),
        "order_id": complaint.order_id,
        "customer_id": complaint.customer_id,
        "reopened_count": complaint.reopened_count,
    }


def order_status_changes(since: dt.datetime, group_ids: Iterable[int]) -> Iterator[Fact]:
    rows = RepairOrderEvent.objects.filter(at__gte=since, order__store__group_id__in=list(group_ids)).select_related(
        "order__store"
    )
    for event in rows.order_by("at", "id"):
        order = event.order
        yield Fact(
            type=EventType.ORDER_STATUS_CHANGED,
            source="service.repairorderevent",
            source_id=str(event.pk),
            store_id=order.store_id,
            group_id=order.store.group_id,
            occurred_at=event.at,
            data={
                "order": _order(order),
                "from_status": event.from_status or None,
                "to_status": event.to_status,
                "changed_at": iso(event.at),
            },
        )


def estimates_answered(since: dt.datetime, group_ids: Iterable[int]) -> Iterator[Fact]:
    """An estimate is answered when its last line is decided (status decided): the time is its last decision."""
    estimate_ids = (
        EstimateLine.objects.filter(
            decided_at__gte=since,
            estimate__status=EstimateStatus.DECIDED,
            estimate__order__store__group_id__in=list(group_ids),
        )
        .values_list("estimate_id", flat=True)
        .distinct()
    )
    estimates = Estimate.objects.filter(pk__in=list(estimate_ids)).select_related("order__store")
    for estimate in estimates.annotate(answered_at=Max("lines__decided_at")).order_by("answered_at", "id"):
        totals = estimate.lines.order_by().values("decision").annotate(n=Count("id"), amount=Sum("amount"))
        counts = {row["decision"]: row["n"] for row in totals}
        by_decision = {row["decision"]: row["amount"] or Decimal("0.00") for row in totals}
        last = estimate.lines.order_by("-decided_at", "-id").values_list("decision_channel", flat=True).first()
        yield Fact(
            type=EventType.ESTIMATE_ANSWERED,
            source="service.estimate",
            source_id=str(estimate.pk),
            store_id=estimate.order.store_id,
            group_id=estimate.order.store.group_id,
            occurred_at=estimate.answered_at,
            data={
                "order": _order(estimate.order),
                "estimate": {"id": estimate.pk, "number": estimate.number, "supplementary": estimate.is_supplementary},
                "approved_lines": counts.get(LineDecision.APPROVED, 0),
                "declined_lines": counts.get(LineDecision.DECLINED, 0),
                "approved_amount": str(by_decision.get(LineDecision.APPROVED, Decimal("0.00"))),
                "channel": last or None,
                "answered_at": iso(estimate.answered_at),
            },
        )


def surveys_answered(since: dt.datetime, group_ids: Iterable[int]) -> Iterator[Fact]:
    rows = SurveyResponse.objects.filter(created_at__gte=since, store__group_id__in=list(group_ids)).select_related(
        "store"
    )
    for response in rows.order_by("created_at", "id"):
        yield Fact(
            type=EventType.SURVEY_ANSWERED,
            source="feedback.surveyresponse",
            source_id=str(response.pk),
            store_id=response.store_id,
            group_id=response.store.group_id,
            occurred_at=response.created_at,
            data={
                "survey": {
                    "id": response.pk,
                    "store": response.store.code,
                    "channel": response.channel,
                    "overall": response.overall,
                    "recommend": response.recommend,
                    "submitted_at": iso(response.submitted_at),
                    "order_id": response.order_id,
                    "customer_id": response.customer_id,
                }
            },
        )


def _complaint_moves(since: dt.datetime, group_ids: Iterable[int], event_type: str, **condition: Any) -> Iterator[Fact]:
    rows = ComplaintEvent.objects.filter(
        at__gte=since, complaint__store__group_id__in=list(group_ids), **condition
    ).select_related("complaint__store")
    for event in rows.order_by("at", "id"):
        complaint = event.complaint
        yield Fact(
            type=event_type,
            source="feedback.complaintevent",
            source_id=str(event.pk),
            store_id=complaint.store_id,
            group_id=complaint.store.group_id,
            occurred_at=event.at,
            data={
                "complaint": _complaint(complaint),
                "from_status": event.from_status or None,
                "to_status": event.to_status,
                "changed_at": iso(event.at),
            },
        )


def complaints_opened(since: dt.datetime, group_ids: Iterable[int]) -> Iterator[Fact]:
    return _complaint_moves(since, group_ids, EventType.COMPLAINT_OPENED, from_status="", to_status=ComplaintStatus.NEW)


def complaints_closed(since: dt.datetime, group_ids: Iterable[int]) -> Iterator[Fact]:
    return _complaint_moves(since, group_ids, EventType.COMPLAINT_CLOSED, to_status=ComplaintStatus.CLOSED)


def complaints_reopened(since: dt.datetime, group_ids: Iterable[int]) -> Iterator[Fact]:
    return _complaint_moves(
        since,
        group_ids,
        EventType.COMPLAINT_REOPENED,
        from_status__in=[ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED],
        to_status=ComplaintStatus.ACKNOWLEDGED,
    )


def complaints_escalated(since: dt.datetime, group_ids: Iterable[int]) -> Iterator[Fact]:
    rows = ComplaintEscalation.objects.filter(
        at__gte=since, complaint__store__group_id__in=list(group_ids)
    ).select_related("complaint__store")
    for escalation in rows.order_by("at", "id"):
        complaint = escalation.complaint
        yield Fact(
            type=EventType.COMPLAINT_ESCALATED,
            source="feedback.complaintescalation",
            source_id=str(escalation.pk),
            store_id=complaint.store_id,
            group_id=complaint.store.group_id,
            occurred_at=escalation.at,
            data={
                "complaint": _complaint(complaint),
                "clock": escalation.clock,
                "level": escalation.level,
                "was_due_at": iso(escalation.due_at),
                "escalated_at": iso(escalation.at),
            },
        )


def _appointment(appointment: Appointment) -> dict[str, Any]:
    return {
        "id": appointment.pk,
        "store": appointment.store.code,
        "status": appointment.status,
        "service_type": appointment.service_type,
        "channel": appointment.channel,
        "start": iso(appointment.slot.start),
        "end": iso(appointment.slot.end),
        "pickup": appointment.pickup,
        "customer_id": appointment.customer_id,
        "vehicle_id": appointment.vehicle_id,
        "advisor_id": appointment.advisor_id,
    }


def appointments_booked(since: dt.datetime, group_ids: Iterable[int]) -> Iterator[Fact]:
    rows = Appointment.objects.filter(created_at__gte=since, store__group_id__in=list(group_ids)).select_related(
        "store", "slot"
    )
    for appointment in rows.order_by("created_at", "id"):
        yield Fact(
            type=EventType.APPOINTMENT_BOOKED,
            source="service.appointment",
            source_id=str(appointment.pk),
            store_id=appointment.store_id,
            group_id=appointment.store.group_id,
            occurred_at=appointment.created_at,
            data={"appointment": _appointment(appointment), "booked_at": iso(appointment.created_at)},
        )


def appointments_cancelled(since: dt.datetime, group_ids: Iterable[int]) -> Iterator[Fact]:
    rows = Appointment.objects.filter(
        cancelled_at__gte=since, status=AppointmentStatus.CANCELLED, store__group_id__in=list(group_ids)
    ).select_related("store", "slot")
    for appointment in rows.order_by("cancelled_at", "id"):
        if appointment.cancelled_at is None:  # the filter above excludes it; says so to the type checker
            continue
        yield Fact(
            type=EventType.APPOINTMENT_CANCELLED,
            source="service.appointment",
            source_id=str(appointment.pk),
            store_id=appointment.store_id,
            group_id=appointment.store.group_id,
            occurred_at=appointment.cancelled_at,
            data={"appointment": _appointment(appointment), "cancelled_at": iso(appointment.cancelled_at)},
        )


# The sweep's sources: a name (its mark) → the query.  Two types may share a source row (an appointment).
SOURCES: dict[str, Callable[[dt.datetime, Iterable[int]], Iterator[Fact]]] = {
    EventType.ORDER_STATUS_CHANGED: order_status_changes,
    EventType.ESTIMATE_ANSWERED: estimates_answered,
    EventType.SURVEY_ANSWERED: surveys_answered,
    EventType.COMPLAINT_OPENED: complaints_opened,
    EventType.COMPLAINT_ESCALATED: complaints_escalated,
    EventType.COMPLAINT_CLOSED: complaints_closed,
    EventType.COMPLAINT_REOPENED: complaints_reopened,
    EventType.APPOINTMENT_BOOKED: appointments_booked,
    EventType.APPOINTMENT_CANCELLED: appointments_cancelled,
}
