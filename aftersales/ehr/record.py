"""The record of one settled repair order in the shape of JT/T 1132 (汽车维修电子健康档案系统): vehicle, repair
business, dates, mileage, fault, settlement, parts fitted and repair items.

`order_record` gives our field names (the API's contract, `GET /api/v1/repair-orders/{id}/ehr-record`);
`wire_record` renames them to the names the provincial platforms commonly use on the wire, in this one place.
Only the approved lines count, as on the bill (service/bill.py): parts with their part number, description and
quantity; labour with its description and standard hours.  Fees (inspection fee …) are neither parts nor items."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from aftersales.service.choices import LineDecision, LineKind, RepairOrderStatus
from aftersales.service.models import EstimateLine, RepairOrder


def _local_date(value: Any) -> str:
    return timezone.localtime(value).date().isoformat() if value is not None else ""


def _number(value: Decimal | None) -> str:
    """A quantity or hours as the platforms want it: a plain decimal, no trailing zeros ("2", "1.5")."""
    if value is None:
        return "0"
    return format(value.normalize(), "f")


def is_settled(order: RepairOrder) -> bool:
    """Settled = handed over (交车) with its bill final: the order is delivered (KPIS.md: a closed visit)."""
    return order.status == RepairOrderStatus.DELIVERED and order.delivered_at is not None


def order_record(order: RepairOrder, *, company_code: str = "") -> dict[str, Any]:
    """The record's fields for `order` (read its store and vehicle with select_related)."""
    lines = list(
        EstimateLine.objects.filter(estimate__order=order, decision=LineDecision.APPROVED).order_by(
            "estimate__number", "id"
        )
    )
    fault = order.customer_words.strip()
    if not fault and order.concern_category_id:
        # the province reads Chinese: the category's Chinese name, whatever the worker's language
        fault = order.concern_category.name_zh_hans if order.concern_category else ""
    return {
        "settlement_number": order.number,
        "plate": order.vehicle.plate,
        "vin": order.vehicle.vin,
        "company_code": company_code,
        "company_name": order.store.name,
        "repair_date": _local_date(order.arrived_at),
        "mileage_km": order.mileage_in,
        "fault_description": fault,
        "settlement_date": _local_date(order.delivered_at),
        "parts": [
            {"code": line.part_number, "name": line.description, "quantity": _number(line.quantity)}
            for line in lines
            if line.kind == LineKind.PART
        ],
        "repair_items": [
            {"name": line.description, "hours": _number(line.standard_hours)}
            for line in lines
            if line.kind == LineKind.LABOUR
        ],
    }


def wire_record(record: dict[str, Any]) -> dict[str, Any]:
    """The record with the provincial platforms' usual field names (JT/T 1132 interface documents)."""
    return {
        "costlistcode": record["settlement_number"],
        "vehicleplatenumber": record["plate"],
        "vin": record["vin"],
        "companycode": record["company_code"],
        "companyname": record["company_name"],
        "repairdate": record["repair_date"].replace("-", ""),
        "repairmileage": "" if record["mileage_km"] is None else str(record["mileage_km"]),
        "faultdescription": record["fault_description"],
        "settledate": record["settlement_date"].replace("-", ""),
        "vehiclepartslist": [
            {"partscode": p["code"], "partsname": p["name"], "partsquantity": p["quantity"]} for p in record["parts"]
        ],
        "repairprojectlist": [{"repairproject": i["name"], "workinghours": i["hours"]} for i in record["repair_items"]],
    }
