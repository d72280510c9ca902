"""Business actions of the service process, split by sub-domain and re-exported here."""

from aftersales.service.services.booking import (
    appointment_assign_driver,
    appointment_book,
    appointment_book_for_visitor,
    appointment_cancel,
    appointment_reschedule,
    slots_ensure,
    slots_ensure_bookable,
)
from aftersales.service.services.estimates import (
    deferred_work_close,
    estimate_draft,
    estimate_line_add,
    estimate_line_decide,
    estimate_line_remove,
    estimate_send,
)
from aftersales.service.services.orders import (
    appointment_check_in,
    bill_total,
    efficiency_sweep,
    inspection_record,
    part_trace_record,
    quality_check_record,
    repair_order_assign,
    repair_order_deliver,
    repair_order_rate,
    repair_order_transition,
    walk_in_register,
)
from aftersales.service.services.pickups import pickup_record
from aftersales.service.services.uploads import attachment_add

__all__ = [
    "appointment_assign_driver",
    "appointment_book",
    "appointment_book_for_visitor",
    "appointment_cancel",
    "appointment_check_in",
    "appointment_reschedule",
    "attachment_add",
    "bill_total",
    "deferred_work_close",
    "efficiency_sweep",
    "estimate_draft",
    "estimate_line_add",
    "estimate_line_decide",
    "estimate_line_remove",
    "estimate_send",
    "inspection_record",
    "part_trace_record",
    "pickup_record",
    "quality_check_record",
    "repair_order_assign",
    "repair_order_deliver",
    "repair_order_rate",
    "repair_order_transition",
    "slots_ensure",
    "slots_ensure_bookable",
    "walk_in_register",
]
