"""The ehr endpoints of /api/v1/: an order's e-health record (public contract of issue 14)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema

from aftersales.core.api_schema import choices_of
from aftersales.customers.validators import mask_plate
from aftersales.ehr import selectors
from aftersales.ehr.models import EhrSubmission
from aftersales.ehr.record import is_settled
from aftersales.organisation.access import require
from aftersales.organisation.permissions import Capability, user_can
from aftersales.service.models import RepairOrder

router = Router(tags=["ehr"])


class PartOut(Schema):
    """A part on the e-health record: code, name and quantity."""

    code: str
    name: str
    quantity: str


class RepairItemOut(Schema):
    """A repair item on the e-health record with its standard hours."""

    name: str
    hours: str


class SubmissionOut(Schema):
    """Where the upload of an e-health record to the province's platform stands."""

    status: choices_of(EhrSubmission, "status")  # type: ignore[valid-type]
    attempts: int
    remote_id: str
    reason: str
    next_attempt_at: dt.datetime | None
    accepted_at: dt.datetime | None


class EhrRecordOut(Schema):
    """A repair order's e-health record (JT/T 1132) as the province receives it, with its upload state."""

    order: int
    settled: bool
    settlement_number: str
    plate: str
    vin: str
    company_code: str
    company_name: str
    repair_date: str = Field(..., description="The local day the car arrived (YYYY-MM-DD)")
    mileage_km: int | None
    fault_description: str
    settlement_date: str = Field(..., description="The local day of settlement (YYYY-MM-DD); '' before it")
    parts: list[PartOut]
    repair_items: list[RepairItemOut]
    submission: SubmissionOut | None


@router.get(
    "/repair-orders/{order_id}/ehr-record",
    response=EhrRecordOut,
    summary="An order's repair e-health record (JT/T 1132)",
    description="The record of the order as the province receives it: plate, VIN, repair business (code and name), "
    "repair date, mileage, fault description, settlement date and settlement list number (the order number), parts "
    "(code, name, quantity) and repair items (standard hours) of the approved lines; dates are local (YYYY-MM-DD). "
    "`submission` is where its upload stands (status, attempts, the remote record id, the platform's reason), null "
    "before the order is settled and queued. Plates follow the caller's right to see them in full.",
)
def ehr_record(request: HttpRequest, order_id: int) -> Any:
    order = RepairOrder.objects.select_related("store", "vehicle", "concern_category").get_for_user_or_404(
        request.auth, pk=order_id
    )
    require(request.auth, Capability.VIEW_SERVICE, Capability.MANAGE_EHR, store_id=order.store_id)
    record = selectors.order_ehr_record(order)
    if not user_can(request.auth, Capability.SEE_PLATES, order.store_id):
        record["plate"] = mask_plate(record["plate"]) if record["plate"] else ""
    submission = selectors.submission_of_order(order)
    return {
        "order": order.pk,
        "settled": is_settled(order),
        **record,
        "submission": None
        if submission is None
        else {
            "status": submission.status,
            "attempts": submission.attempts,
            "remote_id": submission.remote_id,
            "reason": submission.reason,
            "next_attempt_at": timezone.localtime(submission.next_attempt_at) if submission.next_attempt_at else None,
            "accepted_at": timezone.localtime(submission.accepted_at) if submission.accepted_at else None,
        },
    }
