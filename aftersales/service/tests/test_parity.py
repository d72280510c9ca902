"""Roles × moves: the order page, the API and the technician's job list allow and refuse exactly the same moves,
and exactly those the rulebook allows.

For every move of the repair order made through a page or the API (the generic transitions, dispatch, the quality
check and delivery) and every role of the store (advisor, the technician on the job, another technician, foreman,
agent, parts clerk, manager, group manager, another store's advisor), the order is put in the move's starting
state with every business guard satisfied, and the move is tried once through the page and once through the API
(each in a savepoint that is rolled back).  A refusal for want of the right is 403 on the page and on the API
(404 for another store on both); anything else means the role was let through.  The expectation is written out by
hand per move below, not read from the rulebook, so a change to the table must be made on purpose in both places.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse

from aftersales.config.testing import make_user
from aftersales.organisation.choices import Role
from aftersales.organisation.services import api_token_issue
from aftersales.service import services
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.models import QualityCheck, RepairOrder
from aftersales.service.transitions import REPAIR_ORDER, repair_order_moves_for

from .conftest import QC_ALL_TICKED, approved_labour, inspect, open_order

pytestmark = pytest.mark.django_db

ROLES = ("advisor", "own_technician", "other_technician", "foreman", "agent", "parts", "manager", "group", "stranger")
_WORKSHOP = {"own_technician", "foreman", "manager"}
# Who may make each move, by hand from the issue's rules (SPEC §3.4): the advisor releases, cancels, delivers and
# may mark a washed car ready; the workshop (the technician on his own job, or whoever dispatches) moves the car
# through the bay states; QC is the quality checker's; dispatch is the foreman's.
EXPECTED: dict[str, set[str]] = {
    "release": {"advisor", "manager"},
    "to_bay": _WORKSHOP,
    "start_work": _WORKSHOP,
    "out_of_bay": _WORKSHOP,
    "wait_parts": _WORKSHOP,
    "parts_arrived": _WORKSHOP,
    "to_qc": _WORKSHOP,
    "washed": _WORKSHOP | {"advisor"},
    "cancel": {"advisor", "manager"},
    "qc_pass": {"foreman", "manager"},
    "deliver": {"advisor", "manager"},
    "assign": {"foreman", "manager"},
}


@pytest.fixture
def people(shop) -> dict[str, Any]:
    store = shop.store
    cast = shop.cast
    return {
        "advisor": cast.alice,
        "own_technician": shop.senior,
        "other_technician": shop.junior,
        "foreman": shop.foreman,
        "agent": make_user("ada", Role.AGENT, store=store),
        "parts": make_user("pat", Role.PARTS_CLERK, store=store),
        "manager": cast.mia,
        "group": cast.grace,
        "stranger": cast.carol,
    }


@pytest.fixture
def tokens(people) -> dict[str, str]:
    return {role: api_token_issue(username=user.username)[0] for role, user in people.items()}


@pytest.fixture
def prepared(shop) -> RepairOrder:
    """Every guard satisfied: inspected, an approved line, bay 1 and the senior technician, a passed QC on file."""
    order = open_order(shop)
    inspect(shop, order)
    approved_labour(shop, order)
    services.repair_order_assign(order=order, by=shop.foreman, technician=shop.senior, bay=shop.bay_1)
    QualityCheck.objects.create(order=order, passed=True, checklist=QC_ALL_TICKED, by=shop.foreman, at=order.arrived_at)
    return order


def _attempt(client, order: RepairOrder, state: str, call, target: str | None) -> str:
    """Put the order in `state`, make the call, read the verdict, undo everything."""
    sid = transaction.savepoint()
    try:
        RepairOrder.objects.filter(pk=order.pk).update(status=state)
        verdict = _verdict(call().status_code)
        if verdict == "allowed" and target and RepairOrder.objects.get(pk=order.pk).status != target:
            return "let through but not moved"  # a page answers 302 with a message when a guard refuses
        return verdict
    finally:
        transaction.savepoint_rollback(sid)
        client.logout()


def _page_call(client, user, order: RepairOrder, name: str):
    move = REPAIR_ORDER.get(name)

    def call():
        client.force_login(user)
        if name == "qc_pass":
            body = {"passed": "1", **{f"check_{key}": "on" for key in QC_ALL_TICKED}}
            return client.post(reverse("service:order-quality-check", args=[order.pk]), body)
        if name == "deliver":
            url = reverse("service:order-deliver", args=[order.pk])
            return client.post(url, {"explanation": "换了刹车片", "next_service_km": "30000"})
        if name == "assign":
            return client.post(reverse("service:order-assign", args=[order.pk]), {"bay": order.bay_id})
        return client.post(reverse("service:order-transition", args=[order.pk]), {"to": move.target, "reason": "x"})

    return call


def _api_call(client, token: str, order: RepairOrder, name: str):
    move = REPAIR_ORDER.get(name)
    base = f"/api/v1/repair-orders/{order.pk}"
    if name == "qc_pass":
        path, body = f"{base}/quality-checks", {"passed": True, "checklist": QC_ALL_TICKED}
    elif name == "deliver":
        path, body = f"{base}/delivery", {"explanation": "换了刹车片", "next_service_km": 30000}
    elif name == "assign":
        path, body = f"{base}/assign", {"bay": order.bay_id}
    else:
        path, body = f"{base}/transitions", {"to": move.target, "reason": "x"}

    def call():
        return client.post(
            path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )

    return call


def _verdict(status: int) -> str:
    """403 refused, 404 hidden; a let-through move must also have succeeded (redirect or 2xx), so a form
    error cannot pass for "allowed"."""
    if status == 404:
        return "hidden"
    if status == 403:
        return "refused"
    return "allowed" if status in (200, 201, 302) else f"failed with {status}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_page_and_api_allow_and_refuse_the_same_moves_as_the_rulebook(client, shop, people, tokens, prepared, name):
    move = REPAIR_ORDER.get(name)
    state = sorted(move.sources, key=list(S.values).index)[0]
    if name == "washed":
        state = S.WASHING
    outcomes = {}
    for role, user in people.items():
        page = _attempt(client, prepared, state, _page_call(client, user, prepared, name), move.target)
        api = _attempt(client, prepared, state, _api_call(client, tokens[role], prepared, name), move.target)
        rulebook = REPAIR_ORDER.may(move, actor=user, store_id=prepared.store_id, assignee_id=prepared.technician_id)
        outcomes[role] = (page, api, rulebook)
    expected = {
        role: ("hidden", "hidden", False)
        if role == "stranger"
        else ("allowed", "allowed", True)
        if role in EXPECTED[name]
        else ("refused", "refused", False)
        for role in people
    }
    assert outcomes == expected


@pytest.mark.parametrize("state", [s for s in S.values if s not in (S.DELIVERED, S.CANCELLED)])
def test_the_page_and_the_job_list_offer_exactly_the_rulebooks_moves(client, shop, people, prepared, state):
    RepairOrder.objects.filter(pk=prepared.pk).update(status=state)
    prepared.refresh_from_db()
    for role, user in people.items():
        if role == "stranger":
            continue
        offered = {m.target for m in repair_order_moves_for(order=prepared, user=user) if m.target}
        client.force_login(user)
        page = client.get(reverse("service:order-detail", args=[prepared.pk]))
        assert page.status_code == 200, role
        buttons = {form["target"] for form in page.context["transition_forms"]}
        assert buttons == offered, (role, state)
        if role in ("own_technician", "other_technician", "foreman"):
            jobs = client.get(reverse("service:my-jobs"))
            listed = {
                button["target"]
                for job in jobs.context["jobs"]
                if job["order"].pk == prepared.pk
                for button in job["buttons"]
            }
            # the job list shows the technician's own jobs only; on his job it offers what the page offers
            assert listed == (offered if user == shop.senior else set()), (role, state)
        client.logout()
