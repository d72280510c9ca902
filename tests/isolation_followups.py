"""Store B's feedback objects for the web isolation sweep (tests/test_web_isolation.py merges this module):
the pages with an id in this part, how to build their arguments, extra POST fields a form of this part
reads, and a snapshot of what such a POST must not change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftersales.config.testing import make_user, make_vehicle
from aftersales.feedback import services
from aftersales.feedback.models import CallAttempt, FollowUp, RecoveryTask, SurveyResponse
from aftersales.organisation.choices import Role, TechnicianGrade
from aftersales.organisation.models import StaffProfile
from aftersales.service import services as service_services
from aftersales.service.choices import RepairOrderStatus as S

# URL name → builder of the path arguments from store B's objects
OBJECTS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "feedback:follow-up-call": lambda o: [o["follow_up"].pk],
    "feedback:survey-detail": lambda o: [o["survey_response"].pk],
    "feedback:recovery-detail": lambda o: [o["recovery_task"].pk],
    "feedback:order-survey-qr": lambda o: [o["delivered_order"].pk],
}
# Customer pages that take a signed token, not an id
PUBLIC_LINK_PAGES: set[str] = {"feedback:customer-survey"}
# Fields a POST to this part's pages reads (merged into the sweep's tampering payload).  "refused" is a valid
# outcome of a call and of a recovery task alike, so a leak would close either.
POST_FIELDS: dict[str, Any] = {
    "outcome": "refused",
    "overall": 3,
    "recommend": 2,
    "consent": "on",
    "suggestions": "篡改",
    "action": "survey",
}
QC_ALL = dict.fromkeys(
    ("work_done", "road_test", "no_leaks", "warning_lights", "tightening", "clean", "old_parts"), True
)
LOW = {"overall": 4, "recommend": 3, "attitude": 2, "suggestions": "等太久"}


def _delivered_order(cast: Any, base: dict[str, Any]) -> Any:
    """A second car of store B's customer walked to delivery through the real services."""
    store = cast.store_b
    technician = make_user("hz_tech", Role.TECHNICIAN, store=store)
    StaffProfile.objects.filter(user=technician).update(technician_grade=TechnicianGrade.SENIOR)
    technician.refresh_from_db()
    foreman = make_user("hz_foreman", Role.FOREMAN, store=store)
    vehicle = make_vehicle(base["customer"], plate="浙A54321", mileage_km=8000)
    order = service_services.walk_in_register(store=store, by=cast.carol, service_type="repair", plate=vehicle.plate)
    service_services.inspection_record(order=order, by=cast.carol, mileage_in=8100, fuel_level=50)
    line = service_services.estimate_line_add(
        order=order, by=cast.carol, kind="labour", description="更换刹车片", standard_hours="1.0"
    )
    service_services.estimate_send(estimate=line.estimate, by=cast.carol)
    service_services.estimate_line_decide(line=line, decision="approved", channel="desk", by=cast.carol)
    bay = store.bays.order_by("pk").first()  # the sweep builds store B with one bay
    service_services.repair_order_assign(order=order, by=foreman, technician=technician, bay=bay)
    order = service_services.repair_order_transition(order=order, to=S.WAITING, by=cast.carol)  # the advisor releases
    for target in (S.IN_BAY, S.IN_PROGRESS, S.QC):  # the technician on his own job
        order = service_services.repair_order_transition(order=order, to=target, by=technician, reason="test")
    service_services.quality_check_record(order=order, by=foreman, passed=True, checklist=QC_ALL, skip_washing=True)
    order.refresh_from_db()
    return service_services.repair_order_deliver(
        order=order, by=cast.carol, explanation="更换了刹车片", next_service_date=None, next_service_km=None
    )


def build(cast: Any, base: dict[str, Any]) -> dict[str, Any]:
    """Store B's objects of this part, built through the services; `base` holds the service objects.

    One delivered order with an open follow-up, and a low score given at the desk (which opens a recovery
    task for carol) — the follow-up stays open, so a leaked POST to the call page would show."""
    order = _delivered_order(cast, base)
    services.follow_up_sweep(store=cast.store_b)
    response = services.survey_response_record(
        order=order, channel="delivery", answers=LOW, by=cast.carol, consent_given=True
    )
    return {
        "delivered_order": order,
        "follow_up": FollowUp.objects.get(order=order),
        "survey_response": response,
        "recovery_task": RecoveryTask.objects.get(response=response),
    }


def snapshot() -> tuple[Any, ...]:
    """What must not change when another store's user posts to this part's pages."""
    return (
        list(FollowUp.objects.order_by("pk").values_list("status", "attempts", "response_id")),
        CallAttempt.objects.count(),
        list(SurveyResponse.objects.order_by("pk").values_list("channel", "overall")),
        list(RecoveryTask.objects.order_by("pk").values_list("status", "outcome", "note")),
    )
