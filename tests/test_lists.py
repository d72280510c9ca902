"""Every staff list page shows one bounded page of rows, and the number of queries it runs does not grow with the
number of rows: the same page is fetched with 3 rows and with 60 rows and must run exactly as many queries.

Rows are written straight with the ORM (fast, and the same for every list); the services that normally write
them are tested in their apps.  Live boards that must show everything current (the workshop board, the
technician's jobs, the advisor's workbench) are not paged and not listed here."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales.config.testing import Cast, make_customer, make_store, make_vehicle
from aftersales.core import clock
from aftersales.core.models import AuditEntry
from aftersales.core.pagination import MAX_PAGE_SIZE, PAGE_SIZE
from aftersales.feedback.choices import (
    ComplaintCategory,
    ComplaintPriority,
    FeedbackChannel,
    SuggestionStatus,
    SurveyChannel,
)
from aftersales.feedback.models import (
    Capa,
    CapaAction,
    Complaint,
    FollowUp,
    RecoveryTask,
    Suggestion,
    SurveyInstrument,
    SurveyResponse,
)
from aftersales.service.choices import AppointmentStatus, BookingChannel, RepairOrderStatus, ServiceType
from aftersales.service.models import Appointment, DeferredWork, RepairOrder, Slot

_numbers = itertools.count(1)
FEW, MANY = 3, 60


@dataclass
class World:
    cast: Cast
    customer: Any
    vehicle: Any

    @property
    def store(self) -> Any:
        return self.cast.store_a


def _orders(w: World, n: int, status: str = RepairOrderStatus.DELIVERED) -> list[RepairOrder]:
    now = clock.now()
    return [
        RepairOrder.objects.create(
            store=w.store,
            number=f"RO-T-{next(_numbers):06d}",
            customer=w.customer,
            vehicle=w.vehicle,
            service_type=ServiceType.REPAIR,
            status=status,
            advisor=w.cast.alice,
            arrived_at=now - dt.timedelta(days=2),
            delivered_at=now - dt.timedelta(days=1) if status == RepairOrderStatus.DELIVERED else None,
        )
        for _ in range(n)
    ]


def _responses(w: World, n: int) -> list[SurveyResponse]:
    instrument = SurveyInstrument.objects.get(is_default=True)
    return [
        SurveyResponse.objects.create(
            store=w.store,
            order=order,
            customer=w.customer,
            instrument=instrument,
            channel=SurveyChannel.FOLLOW_UP_CALL,
            overall=3,
            submitted_at=clock.now(),
        )
        for order in _orders(w, n)
    ]


def make_deferred(w: World, n: int) -> None:
    for i in range(n):
        DeferredWork.objects.create(
            store=w.store,
            vehicle=w.vehicle,
            description=f"空调清洗 {i}",
            amount=Decimal("280"),
            suggested_date=clock.today() + dt.timedelta(days=i),
        )


def make_orders(w: World, n: int) -> None:
    _orders(w, n)


def make_appointments(w: World, n: int) -> None:
    start = dt.datetime.combine(clock.today(), dt.time(9), tzinfo=dt.UTC)
    slot, _new = Slot.objects.get_or_create(
        store=w.store, start=start, defaults={"end": start + dt.timedelta(hours=1), "capacity": 100}
    )
    for _ in range(n):
        Appointment.objects.create(
            store=w.store,
            slot=slot,
            customer=w.customer,
            vehicle=w.vehicle,
            service_type=ServiceType.MAINTENANCE,
            channel=BookingChannel.PHONE,
            advisor=w.cast.alice,
            status=AppointmentStatus.BOOKED,
        )


def make_follow_ups(w: World, n: int) -> None:
    for order in _orders(w, n):
        FollowUp.objects.create(store=w.store, order=order, due_at=clock.now() - dt.timedelta(hours=1))


def make_surveys(w: World, n: int) -> None:
    _responses(w, n)


def make_recovery(w: World, n: int) -> None:
    now = clock.now()
    for response in _responses(w, n):
        RecoveryTask.objects.create(
            store=w.store,
            response=response,
            order=response.order,
            advisor=w.cast.alice,
            opened_at=now,
            due_at=now + dt.timedelta(hours=1),
        )


def _suggestions(w: World, n: int, status: str) -> None:
    now = clock.now()
    for i in range(n):
        Suggestion.objects.create(
            store=w.store,
            customer=w.customer,
            channel=FeedbackChannel.PHONE,
            description=f"建议 {i}",
            status=status,
            received_at=now,
            logged_at=now,
            decision_due=now + dt.timedelta(days=3),
        )


def make_suggestions_awaiting(w: World, n: int) -> None:
    _suggestions(w, n, SuggestionStatus.OPEN)


def make_suggestions_decided(w: World, n: int) -> None:
    _suggestions(w, n, SuggestionStatus.DECIDED)


def _complaints(w: World, n: int) -> list[Complaint]:
    now = clock.now()
    return [
        Complaint.objects.create(
            store=w.store,
            customer=w.customer,
            channel=FeedbackChannel.PHONE,
            category=ComplaintCategory.ATTITUDE,
            priority=ComplaintPriority.GENERAL,
            description=f"投诉 {i}",
            owner=w.cast.alice,
            received_at=now,
            logged_at=now,
            acknowledge_due=now + dt.timedelta(hours=2),
            contact_due=now + dt.timedelta(hours=24),
            resolve_due=now + dt.timedelta(days=5),
        )
        for i in range(n)
    ]


def make_complaints(w: World, n: int) -> None:
    _complaints(w, n)


def make_capas(w: World, n: int) -> None:
    for complaint in _complaints(w, n):
        capa = Capa.objects.create(store=w.store, title=f"CAPA {complaint.pk}", complaint=complaint)
        CapaAction.objects.create(capa=capa, description="培训", due_date=clock.today())


def make_customers(w: World, n: int) -> None:
    for i in range(n):
        make_vehicle(make_customer(w.store, name=f"客户{i}"))


def make_audit(w: World, n: int) -> None:
    for i in range(n):
        AuditEntry.objects.create(
            actor=w.cast.mia,
            action="customer.update",
            object_type="customers.customer",
            object_id=str(w.customer.pk),
            store_id=w.store.pk,
            changes={"name": [f"客户{i}", "张三"], "email": ["", "a@example.com"]},
        )


def make_reminders(w: World, n: int) -> None:
    from aftersales.reminders.models import Reminder

    for _ in range(n):
        Reminder.objects.create(
            store=w.store,
            customer=w.customer,
            vehicle=w.vehicle,
            kind="insurance",
            due_key=f"t{next(_numbers)}",
            due_on=clock.today() + dt.timedelta(days=30),
            remind_on=clock.today(),
            state="sent",
            sent_at=clock.now(),
        )


def make_campaigns(w: World, n: int) -> None:
    from aftersales.campaigns.models import Campaign

    Campaign.objects.bulk_create(
        Campaign(store=w.store, name=f"活动{i}", text_zh="关爱 {link}", text_en="Care {link}") for i in range(n)
    )


def make_tier_customers(w: World, n: int) -> None:
    from aftersales.customers.models import Customer

    made = [make_customer(w.store, name=f"新客{i}").pk for i in range(n)]
    Customer.objects.filter(pk__in=made).update(tier="C", tier_rule="N = 1 ∧ R ≤ 30", tier_recency_days=3)


def make_stores(w: World, n: int) -> None:
    for _ in range(n):
        make_store(w.cast.group, f"T{next(_numbers):04d}")


def make_ehr_submissions(w: World, n: int) -> None:
    from aftersales.ehr.models import EhrSubmission

    EhrSubmission.objects.bulk_create(
        EhrSubmission(store=w.store, order=order, status="rejected", reason="VIN 不符") for order in _orders(w, n)
    )


def make_stock(w: World, n: int) -> None:
    from aftersales.parts.models import Part, Stock

    parts = Part.objects.bulk_create(
        Part(group=w.cast.group, code=f"P{next(_numbers):05d}", name="机油滤清器", category="oem") for _ in range(n)
    )
    Stock.objects.bulk_create(Stock(store=w.store, part=part, on_hand=2, safety_stock=3) for part in parts)


def make_orders_waiting_for_parts(w: World, n: int) -> None:
    from aftersales.parts.models import Part
    from aftersales.service.models import Estimate, EstimateLine

    part = Part.objects.create(group=w.cast.group, code=f"W{next(_numbers):05d}", name="刹车片", category="oem")
    for order in _orders(w, n, status=RepairOrderStatus.IN_PROGRESS):
        estimate = Estimate.objects.create(order=order, number=1, status="decided", sent_at=clock.now())
        EstimateLine.objects.create(
            estimate=estimate, kind="part", description="刹车片", part=part, amount=380, decision="approved"
        )


@dataclass(frozen=True)
class Case:
    name: str
    url: str
    make: Callable[[World, int], None]
    page: str = "page"  # the context name of the paged list, and its ?parameter
    user: str = "mia"
    query: str = ""


def make_audits(w: World, n: int) -> None:
    """Submitted mystery-shopper audits of store A, each with a failed item and its open finding."""
    from aftersales.audits.models import Audit, AuditAnswer, AuditChecklist, Finding

    checklist, _created = AuditChecklist.objects.get_or_create(
        group=w.cast.group, kind="mystery_shopper", title="暗访清单"
    )
    item = checklist.items.first() or checklist.items.create(text="主动问候", weight=1, position=1)
    now = clock.now()
    for _ in range(n):
        audit = Audit.objects.create(
            store=w.store, kind="mystery_shopper", checklist=checklist, status="submitted", score=0, submitted_at=now
        )
        answer = AuditAnswer.objects.create(audit=audit, item=item, result="fail", note="未问候")
        Finding.objects.create(
            audit=audit, answer=answer, store=w.store, text=item.text, owner=w.cast.mia, due_date=clock.today()
        )


def make_rights_requests(w: World, n: int) -> None:
    """Open rights requests of store A (the list shows open ones first, each with its countdown)."""
    from aftersales.privacy.models import RightsRequest

    now = clock.now()
    start = RightsRequest.objects.count()
    RightsRequest.objects.bulk_create(
        RightsRequest(
            store=w.store,
            customer=w.customer,
            number=f"LIST-{start + i:05d}",
            kind="access",
            channel="desk",
            received_at=now,
            due_at=now + dt.timedelta(days=30),
        )
        for i in range(n)
    )


CASES = [
    Case("deferred work", "service:deferred-list", make_deferred),
    Case("repair orders", "service:order-list", make_orders),
    Case("appointments of the day", "service:appointment-list", make_appointments),
    Case("follow-up queue", "feedback:follow-up-queue", make_follow_ups),
    Case("survey responses", "feedback:survey-list", make_surveys),
    Case("service recovery", "feedback:recovery-list", make_recovery),
    Case("suggestions awaiting a decision", "feedback:suggestion-list", make_suggestions_awaiting, "awaiting_page"),
    Case("suggestions decided", "feedback:suggestion-list", make_suggestions_decided, "decided_page"),
    Case("complaints", "feedback:complaint-list", make_complaints),
    Case("CAPA", "feedback:capa-list", make_capas),
    Case("customers", "customers:customer-list", make_customers),
    Case("audit trail", "organisation:audit", make_audit),
    Case("stores", "organisation:store-list", make_stores, user="grace"),
    Case("reminders", "reminders:list", make_reminders),
    Case("campaigns", "campaigns:campaign-list", make_campaigns),
    Case("customers of a tier", "crm:tiers", make_tier_customers, query="?tier=C"),
    Case("e-health record uploads", "ehr:submissions", make_ehr_submissions),
    Case("parts stock", "parts:stock", make_stock),
    Case("orders waiting for parts", "service:parts-issue", make_orders_waiting_for_parts),
    Case("submitted audits of the store", "audits:list", make_audits),
    Case("audit findings", "audits:findings", make_audits),
    Case("rights requests", "privacy:request-list", make_rights_requests),
]


@pytest.fixture
def world(cast: Cast) -> World:
    customer = make_customer(cast.store_a, name="张三")
    return World(cast=cast, customer=customer, vehicle=make_vehicle(customer, plate="沪A12345"))


def _get(client: Any, case: Case) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(case.url) + case.query)
    assert response.status_code == 200
    return len(queries), response


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_list_page_is_bounded_and_its_queries_do_not_grow_with_the_rows(client, world, case):
    client.force_login(getattr(world.cast, case.user))
    _get(client, case)  # warm the per-process caches (content types, settings) once
    case.make(world, FEW)
    few_queries, response = _get(client, case)
    few_total = response.context[case.page].paginator.count
    assert few_total >= FEW
    case.make(world, MANY - FEW)
    many_queries, response = _get(client, case)
    page = response.context[case.page]
    assert page.paginator.count == few_total + MANY - FEW
    assert len(page.object_list) == PAGE_SIZE <= MAX_PAGE_SIZE  # a full first page, never more
    assert page.paginator.num_pages == -(-page.paginator.count // PAGE_SIZE)
    assert many_queries == few_queries, f"{case.name}: {few_queries} queries for {FEW} rows, {many_queries} for {MANY}"
    # a page number past the end gives the last page (never an error); the parameter is named like the list
    last = client.get(reverse(case.url) + case.query + ("&" if case.query else "?") + f"{case.page}=999")
    assert last.status_code == 200
    assert last.context[case.page].number == page.paginator.num_pages


# --------------------------------------------------------------------------------------------- deferred work


def test_deferred_work_filters_by_search_dates_and_advisor(client, world):
    cast = world.cast
    make_deferred(world, 5)  # 空调清洗 0..4, suggested today + 0..4 days
    other = make_customer(cast.store_a, name="李四")
    other_vehicle = make_vehicle(other, plate="沪B54321")
    DeferredWork.objects.create(
        store=cast.store_a,
        vehicle=other_vehicle,
        description="更换雨刮",
        amount=Decimal("90"),
        suggested_date=clock.today() + dt.timedelta(days=30),
    )
    client.force_login(cast.alice)
    url = reverse("service:deferred-list")

    def shown(**params: str) -> list[str]:
        return [item.description for item in client.get(url, params).context["items"]]

    assert len(shown()) == 6
    assert shown(q="雨刮") == ["更换雨刮"]  # the work
    assert shown(q="李四") == ["更换雨刮"]  # the customer's name
    assert shown(q="B54321") == ["更换雨刮"]  # a plate fragment
    today = clock.today()
    assert shown(
        **{"from": (today + dt.timedelta(days=3)).isoformat(), "to": (today + dt.timedelta(days=4)).isoformat()}
    ) == [
        "空调清洗 3",
        "空调清洗 4",
    ]
    assert shown(advisor=str(cast.alice.pk)) == []  # none came from a declined line of alice's orders
    assert len(shown(advisor="999999", **{"from": "2026-02-31"})) == 6  # a bad filter is no filter


def test_the_pager_keeps_the_filters_and_speaks_both_languages(client, world):
    make_deferred(world, 30)
    client.force_login(world.cast.alice)
    url = reverse("service:deferred-list")
    body = client.get(url, {"q": "空调"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "30 results" in body and "Page 1 of 2" in body
    assert 'href="?q=%E7%A9%BA%E8%B0%83&amp;page=2"' in body  # the next page keeps the search
    second = client.get(url, {"q": "空调", "page": "2"}, HTTP_ACCEPT_LANGUAGE="en")
    assert len(second.context["items"]) == 5 and 'rel="prev"' in second.content.decode()
    chinese = client.get(url, {"q": "空调"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "共 30 条" in chinese and "30 results" not in chinese


# --------------------------------------------------------------------------------------------- repair orders


def test_the_order_list_finds_any_order_by_number_plate_customer_state_date_and_advisor(client, world):
    cast = world.cast
    delivered = _orders(world, 2)
    other = make_customer(cast.store_a, name="李四")
    other_vehicle = make_vehicle(other, plate="沪B54321")
    open_order = RepairOrder.objects.create(
        store=cast.store_a,
        number="RO-T-LISI",
        customer=other,
        vehicle=other_vehicle,
        service_type=ServiceType.MAINTENANCE,
        status=RepairOrderStatus.RECEPTION,
        advisor=cast.bob,
        arrived_at=clock.now() - dt.timedelta(days=10),
    )
    client.force_login(cast.alice)
    url = reverse("service:order-list")

    def shown(**params: str) -> list[str]:
        return [o.number for o in client.get(url, params).context["orders"]]

    assert shown() == [delivered[1].number, delivered[0].number, "RO-T-LISI"]  # the latest arrival first
    assert shown(q="LISI") == ["RO-T-LISI"]
    assert shown(q="B54321") == ["RO-T-LISI"]
    assert shown(q="李四") == ["RO-T-LISI"]
    assert shown(status=RepairOrderStatus.RECEPTION) == ["RO-T-LISI"]
    assert shown(advisor=str(cast.bob.pk)) == ["RO-T-LISI"]
    ten_days_ago = (clock.today() - dt.timedelta(days=10)).isoformat()
    assert shown(**{"from": ten_days_ago, "to": ten_days_ago}) == ["RO-T-LISI"]
    assert shown(status="nonsense") == shown()  # an unknown state is no filter
    assert open_order.pk in {o.pk for o in client.get(url).context["orders"]}
    client.force_login(cast.carol)  # another store's advisor sees none of them
    assert shown() == []


def test_the_workbench_links_to_the_order_list(client, world):
    client.force_login(world.cast.alice)
    assert reverse("service:order-list") in client.get(reverse("service:workbench")).content.decode()
