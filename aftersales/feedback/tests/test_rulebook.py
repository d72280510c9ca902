"""The voice of the customer on the rulebook (issue 9 items 1–2, issue 15's complaint bug).

- Parity: for every move of the feedback lifecycles that staff make and every role of the store, the page (POST to
  its URL with the role's session) and the API (POST with the role's token) both refuse (403) exactly when the
  rulebook says the role may not, and both let it through (not 403) when it may.  The rulebook itself is checked
  against the roles written out by hand, so the three cannot drift together unnoticed.
- Staff named in a body (complaint transfer `to`, CAPA action `owner`): another store's person, a colleague
  without the role and a missing id answer the same 422 (no existence oracle).
- Acknowledging a closed or resolved complaint is not a way around `/reopen`: 409 invalid_transition, nothing
  written; reopening needs its reason and counts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from aftersales.config.testing import make_user
from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.feedback import services
from aftersales.feedback.choices import CapaStatus, ComplaintStatus
from aftersales.feedback.models import Capa, Complaint, ComplaintEvent, FollowUp, RecoveryTask, SurveyResponse
from aftersales.feedback.tests.conftest import GOOD, LOW, deliver, grant_survey_consent
from aftersales.feedback.transitions import CAPA, COMPLAINT, FOLLOW_UP, RECOVERY, SUGGESTION
from aftersales.organisation.choices import Role
from aftersales.organisation.rules import Lifecycle, Party
from aftersales.service.tests.conftest import set_store_setting

pytestmark = pytest.mark.django_db

ROLES = (Role.ADVISOR, Role.TECHNICIAN, Role.FOREMAN, Role.AGENT, Role.PARTS_CLERK, Role.MANAGER, Role.GROUP_MANAGER)
# Written out by hand from SPEC §4 and the permissions table: who may make the moves of each group.
DESK = {Role.ADVISOR, Role.AGENT, Role.MANAGER}  # complaints, suggestions, service recovery
CALLERS = {Role.AGENT, Role.MANAGER}  # follow-up calls
CAPA_RUNNERS = {Role.MANAGER, Role.GROUP_MANAGER}


def _post_json(client: Client, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


@dataclass
class Scene:
    shop: Any
    people: dict[str, Any]
    delivered: Any = None

    def complaint(self, state: str) -> Complaint:
        """A complaint of the shop's customer walked to `state` by its owner, alice, through the services."""
        alice = self.shop.cast.alice
        complaint = services.complaint_log(
            store=self.shop.store,
            customer=self.shop.customer,
            channel="phone",
            category="waiting",
            priority="important",
            description="等了三个小时",
            by=alice,
        )
        path = [ComplaintStatus.ACKNOWLEDGED, ComplaintStatus.CONTACTED, ComplaintStatus.RESOLVED]
        path += [ComplaintStatus.CLOSED]
        steps: dict[str, Callable[[], Any]] = {
            ComplaintStatus.ACKNOWLEDGED: lambda: services.complaint_acknowledge(complaint=complaint, by=alice),
            ComplaintStatus.CONTACTED: lambda: services.complaint_contact(complaint=complaint, by=alice),
            ComplaintStatus.RESOLVED: lambda: services.complaint_resolve(
                complaint=complaint, by=alice, resolution="致歉"
            ),
            ComplaintStatus.CLOSED: lambda: services.complaint_close(
                complaint=complaint, by=alice, customer_confirmed=True, satisfaction=4
            ),
        }
        for step in path[: path.index(state) + 1] if state != ComplaintStatus.NEW else []:
            steps[step]()
        return complaint

    def suggestion(self, state: str) -> Any:
        alice = self.shop.cast.alice
        suggestion = services.suggestion_log(
            store=self.shop.store, customer=self.shop.customer, channel="phone", description="增加休息区", by=alice
        )
        if state in ("decided", "closed"):
            services.suggestion_decide(suggestion=suggestion, by=alice, decision="adopt")
        if state == "closed":
            services.suggestion_tell_customer(suggestion=suggestion, by=alice)
        return suggestion

    def capa(self, state: str) -> Capa:
        """A CAPA walked by the manager to `state`, with one action owned by alice (done from verifying on)."""
        mia = self.shop.cast.mia
        capa = services.capa_open(store=self.shop.store, by=mia, title="等待时间", complaint=self.complaint("new"))
        services.capa_update(capa=capa, by=mia, root_cause="排班不足", kpi_name="等待", kpi_before=60, kpi_after=30)
        services.capa_update(capa=capa, by=mia, procedure_change="高峰增派顾问")
        action = services.capa_action_add(
            capa=capa, by=mia, description="增派顾问", owner=self.shop.cast.alice, due_date=clock.today()
        )
        order = [CapaStatus.OPEN, CapaStatus.ANALYSING, CapaStatus.ACTING, CapaStatus.VERIFYING]
        for step in order[1 : order.index(state) + 1]:
            if step == CapaStatus.VERIFYING:
                services.capa_action_done(action=action, by=mia)
            services.capa_transition(capa=capa, to=step, by=mia)
        capa.refresh_from_db()
        return capa

    def follow_up(self) -> FollowUp:
        """A fresh open follow-up of the delivered order, opened by the system (the previous one removed)."""
        RecoveryTask.objects.filter(order=self.delivered).delete()
        SurveyResponse.objects.filter(order=self.delivered).delete()
        FollowUp.objects.filter(order=self.delivered).delete()
        follow_up = services.follow_up_create(order=self.delivered)
        assert follow_up is not None
        return follow_up

    def recovery(self) -> RecoveryTask:
        """A fresh recovery task: a low score given at the delivery desk by the advisor."""
        RecoveryTask.objects.filter(order=self.delivered).delete()
        SurveyResponse.objects.filter(order=self.delivered).delete()
        response = services.survey_response_record(
            order=self.delivered, channel="delivery", answers=LOW, by=self.shop.cast.alice
        )
        return RecoveryTask.objects.get(response=response)


@dataclass(frozen=True)
class Case:
    """One move: the record to act on, the page's POST and the API's POST."""

    lifecycle: Lifecycle
    move: str
    make: Callable[[Scene], Any]
    page: Callable[[Any, Scene], tuple[str, dict[str, Any]]]
    api: Callable[[Any, Scene], tuple[str, dict[str, Any]]]
    assignee: Callable[[Any], int | None] = lambda record: None


def _complaint_case(move: str, state: str, page_data: dict[str, Any], api_body: dict[str, Any] | None = None) -> Case:
    return Case(
        COMPLAINT,
        move,
        lambda s: s.complaint(state),
        lambda c, s: (reverse(f"feedback:complaint-{move}", args=[c.pk]), page_data),
        lambda c, s: (f"/api/v1/complaints/{c.pk}/{move}", page_data if api_body is None else api_body),
    )


def _transfer_body(c: Any, s: Scene) -> dict[str, Any]:
    return {"to": s.shop.cast.bob.pk, "reason": "换班"}


def _capa_step(move: str, state: str, to: str) -> Case:
    return Case(
        CAPA,
        move,
        lambda s: s.capa(state),
        lambda c, s: (reverse("feedback:capa-transition", args=[c.pk]), {"to": to}),
        lambda c, s: (f"/api/v1/capas/{c.pk}/transition", {"to": to}),
    )


def _attempt(move: str, outcome: str) -> Case:
    answers = {**GOOD} if outcome == "reached" else None
    page = {"outcome": outcome, **({k: str(v) for k, v in GOOD.items()} if answers else {})}
    api = {"outcome": outcome, **({"answers": answers} if answers else {})}
    return Case(
        FOLLOW_UP,
        move,
        lambda s: s.follow_up(),
        lambda f, s: (reverse("feedback:follow-up-call", args=[f.pk]), page),
        lambda f, s: (f"/api/v1/follow-ups/{f.pk}/attempts", api),
    )


def _month() -> str:
    return f"{clock.today().replace(day=1) - dt.timedelta(days=1):%Y-%m}"


CASES: tuple[Case, ...] = (
    Case(
        COMPLAINT,
        "log",
        lambda s: None,
        lambda _, s: (
            reverse("feedback:complaint-create") + f"?customer={s.shop.customer.pk}",
            {
                "customer": s.shop.customer.pk,
                "channel": "phone",
                "category": "waiting",
                "priority": "general",
                "description": "等太久",
            },
        ),
        lambda _, s: (
            "/api/v1/complaints",
            {
                "store": "SH01",
                "customer": s.shop.customer.pk,
                "channel": "phone",
                "category": "waiting",
                "priority": "general",
                "description": "等太久",
            },
        ),
    ),
    _complaint_case("acknowledge", ComplaintStatus.NEW, {"note": ""}),
    _complaint_case("contact", ComplaintStatus.ACKNOWLEDGED, {"note": "已致电"}),
    _complaint_case("resolve", ComplaintStatus.CONTACTED, {"resolution": "免费补做"}),
    _complaint_case(
        "close",
        ComplaintStatus.RESOLVED,
        {"customer_confirmed": "on", "satisfaction": "4"},
        {"customer_confirmed": True, "satisfaction": 4},
    ),
    _complaint_case("reopen", ComplaintStatus.CLOSED, {"reason": "问题复发"}),
    Case(
        COMPLAINT,
        "transfer",
        lambda s: s.complaint(ComplaintStatus.NEW),
        lambda c, s: (reverse("feedback:complaint-transfer", args=[c.pk]), _transfer_body(c, s)),
        lambda c, s: (f"/api/v1/complaints/{c.pk}/transfer", _transfer_body(c, s)),
    ),
    Case(
        SUGGESTION,
        "log",
        lambda s: None,
        lambda _, s: (
            reverse("feedback:suggestion-create") + f"?customer={s.shop.customer.pk}",
            {"customer": s.shop.customer.pk, "channel": "phone", "description": "增加休息区"},
        ),
        lambda _, s: (
            "/api/v1/suggestions",
            {"store": "SH01", "customer": s.shop.customer.pk, "channel": "phone", "description": "增加休息区"},
        ),
    ),
    Case(
        SUGGESTION,
        "decide",
        lambda s: s.suggestion("open"),
        lambda g, s: (reverse("feedback:suggestion-decide", args=[g.pk]), {"decision": "adopt"}),
        lambda g, s: (f"/api/v1/suggestions/{g.pk}/decide", {"decision": "adopt"}),
    ),
    Case(
        SUGGESTION,
        "close",
        lambda s: s.suggestion("decided"),
        lambda g, s: (reverse("feedback:suggestion-tell", args=[g.pk]), {}),
        lambda g, s: (f"/api/v1/suggestions/{g.pk}/tell", {}),
    ),
    Case(
        CAPA,
        "open",
        lambda s: None,
        lambda _, s: (
            reverse("feedback:capa-create"),
            {"title": "等待", "store": s.shop.store.pk, "cluster_category": "waiting", "cluster_month": _month()},
        ),
        lambda _, s: (
            "/api/v1/capas",
            {"store": "SH01", "title": "等待", "cluster_category": "waiting", "cluster_month": f"{_month()}-01"},
        ),
    ),
    _capa_step("analyse", CapaStatus.OPEN, CapaStatus.ANALYSING),
    _capa_step("act", CapaStatus.ANALYSING, CapaStatus.ACTING),
    _capa_step("verify", CapaStatus.ACTING, CapaStatus.VERIFYING),
    _capa_step("close", CapaStatus.VERIFYING, CapaStatus.CLOSED),
    _capa_step("back_to_acting", CapaStatus.VERIFYING, CapaStatus.ACTING),
    Case(
        CAPA,
        "edit",
        lambda s: s.capa(CapaStatus.ANALYSING),
        lambda c, s: (
            reverse("feedback:capa-action-add", args=[c.pk]),
            {"description": "培训", "owner": s.shop.cast.alice.pk, "due_date": f"{clock.today():%Y-%m-%d}"},
        ),
        lambda c, s: (
            f"/api/v1/capas/{c.pk}/actions",
            {"description": "培训", "owner": s.shop.cast.alice.pk, "due_date": f"{clock.today():%Y-%m-%d}"},
        ),
    ),
    Case(
        CAPA,
        "action_done",
        lambda s: s.capa(CapaStatus.ANALYSING),
        lambda c, s: (reverse("feedback:capa-action-done", args=[c.pk, c.actions.get().pk]), {}),
        lambda c, s: (f"/api/v1/capas/{c.pk}/actions/{c.actions.get().pk}/done", {}),
        assignee=lambda c: c.actions.get().owner_id,
    ),
    _attempt("no_answer", "no_answer"),
    _attempt("reached", "reached"),
    _attempt("refused", "refused"),
    _attempt("unreachable", "wrong_number"),
    Case(
        RECOVERY,
        "record",
        lambda s: s.recovery(),
        lambda t, s: (reverse("feedback:recovery-detail", args=[t.pk]), {"outcome": "resolved", "note": "已致歉"}),
        lambda t, s: (f"/api/v1/recovery-tasks/{t.pk}/outcome", {"outcome": "resolved", "note": "已致歉"}),
    ),
)
HAND_WRITTEN: dict[tuple[str, str], set[str]] = {
    **{("complaint", m): DESK for m in ("log", "acknowledge", "contact", "resolve", "close", "reopen", "transfer")},
    **{("suggestion", m): DESK for m in ("log", "decide", "close")},
    **{("capa", m): CAPA_RUNNERS for m in ("open", "analyse", "act", "verify", "close", "back_to_acting", "edit")},
    ("capa", "action_done"): CAPA_RUNNERS,  # … and the action's owner, whatever their role (below)
    **{("follow_up", m): CALLERS for m in ("no_answer", "reached", "refused", "unreachable")},
    ("recovery", "record"): DESK,
}


@pytest.fixture
def scene(shop) -> Scene:
    store = shop.store
    people = {
        Role.ADVISOR: shop.cast.bob,  # an advisor who is not alice, the owner of what the scene makes
        Role.TECHNICIAN: shop.cast.tom,
        Role.FOREMAN: shop.foreman,
        Role.AGENT: make_user("ann", Role.AGENT, store=store),
        Role.PARTS_CLERK: make_user("pat", Role.PARTS_CLERK, store=store),
        Role.MANAGER: shop.cast.mia,
        Role.GROUP_MANAGER: shop.cast.grace,
    }
    set_store_setting(shop, follow_up_max_attempts=9)
    grant_survey_consent(shop.customer, shop.cast.alice)
    return Scene(shop=shop, people=people, delivered=deliver(shop))


def test_every_staff_move_of_the_feedback_lifecycles_is_covered():
    staff_moves = {
        (lc.name, m.name)
        for lc in (COMPLAINT, SUGGESTION, CAPA, FOLLOW_UP, RECOVERY)
        for m in lc.moves
        if m.capabilities or m.own_capabilities
    }
    assert staff_moves == {(case.lifecycle.name, case.move) for case in CASES} == set(HAND_WRITTEN)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.lifecycle.name}.{c.move}")
def test_the_page_and_the_api_refuse_exactly_what_the_rulebook_refuses(case, scene, api_token):
    store_id = scene.shop.store.pk
    move = case.lifecycle.get(case.move)
    for role, user in scene.people.items():
        for interface in ("page", "api"):
            record = case.make(scene)
            allowed = case.lifecycle.may(
                move, actor=user, store_id=store_id, assignee_id=case.assignee(record) if record else None
            )
            assert allowed is (role in HAND_WRITTEN[(case.lifecycle.name, case.move)]), (role, "rulebook")
            if interface == "page":
                client = Client(headers={"accept-language": "en"})
                client.force_login(user)
                url, data = case.page(record, scene)
                response = client.post(url, data)
            else:
                url, body = case.api(record, scene)
                response = _post_json(Client(), url, body, api_token(user))
            refused = response.status_code == 403
            assert refused is not allowed, (role, interface, response.status_code, response.content[:300])
            assert response.status_code < 500


def test_an_action_s_owner_marks_their_own_action_done_on_the_page_and_through_the_api(scene, api_token):
    alice = scene.shop.cast.alice  # owns the action; an advisor does not run CAPAs
    for interface in ("page", "api"):
        capa = scene.capa(CapaStatus.ANALYSING)
        action = capa.actions.get()
        if interface == "page":
            client = Client()
            client.force_login(alice)
            response = client.post(reverse("feedback:capa-action-done", args=[capa.pk, action.pk]))
        else:
            response = _post_json(Client(), f"/api/v1/capas/{capa.pk}/actions/{action.pk}/done", {}, api_token(alice))
        assert response.status_code in (200, 302), (interface, response.status_code)
        action.refresh_from_db()
        assert action.done_at is not None
    bob_capa = scene.capa(CapaStatus.ANALYSING)
    with pytest.raises(PermissionDenied):
        services.capa_action_done(action=bob_capa.actions.get(), by=scene.shop.cast.bob)


def test_the_system_and_the_customer_make_only_their_own_moves(scene):
    complaint = scene.complaint(ComplaintStatus.NEW)
    with pytest.raises(PermissionDenied):
        services.complaint_acknowledge(complaint=complaint, by=Party.CUSTOMER)
    with pytest.raises(PermissionDenied):
        services.complaint_acknowledge(complaint=complaint, by=Party.SYSTEM)
    with pytest.raises(PermissionDenied):  # staff never answer the survey as the customer's link
        services.survey_response_record(
            order=scene.delivered, channel="customer_link", answers=GOOD, by=scene.shop.cast.alice
        )
    with pytest.raises(PermissionDenied):  # the follow-up call is the agents'
        services.survey_response_record(
            order=scene.delivered, channel="follow_up_call", answers=GOOD, by=scene.shop.cast.alice
        )
    assert not SurveyResponse.objects.filter(order=scene.delivered).exists()
    response = services.survey_response_record(
        order=scene.delivered, channel="customer_link", answers=GOOD, by=Party.CUSTOMER
    )
    assert response.recorded_by is None


# ------------------------------------------------------------------------------------- existence oracle


def _answers_for(client: Client, url: str, field: str, ids: dict[str, int], headers: dict[str, str], **body: Any):
    answers = {}
    for name, pk in ids.items():
        response = _post_json(client, url, {**body, field: pk}, headers)
        assert response.status_code == 422, (name, response.status_code, response.content)
        answers[name] = response.json()
    return answers


def test_a_transfer_to_another_store_s_person_answers_like_a_missing_id(scene, api_token):
    complaint = scene.complaint(ComplaintStatus.ACKNOWLEDGED)
    url = f"/api/v1/complaints/{complaint.pk}/transfer"
    ids = {
        "another store's advisor": scene.shop.cast.carol.pk,
        "another group's manager": scene.shop.cast.otto.pk,
        "a colleague who does not handle complaints": scene.shop.cast.tom.pk,
        "missing": 999_999,
    }
    answers = _answers_for(Client(), url, "to", ids, api_token(scene.shop.cast.alice), reason="换班")
    assert len({json.dumps(a, sort_keys=True) for a in answers.values()}) == 1, answers
    assert "to" in answers["missing"]["errors"]
    complaint.refresh_from_db()
    assert complaint.owner == scene.shop.cast.alice and not complaint.transfers.exists()


def test_a_capa_action_owned_by_another_store_s_person_answers_like_a_missing_id(scene, api_token):
    capa = scene.capa(CapaStatus.ANALYSING)
    url = f"/api/v1/capas/{capa.pk}/actions"
    ids = {
        "another store's advisor": scene.shop.cast.carol.pk,
        "another group's manager": scene.shop.cast.otto.pk,
        "a colleague who cannot read feedback": scene.shop.cast.tom.pk,
        "missing": 999_999,
    }
    headers = api_token(scene.shop.cast.mia)
    answers = _answers_for(
        Client(), url, "owner", ids, headers, description="培训", due_date=f"{clock.today():%Y-%m-%d}"
    )
    assert len({json.dumps(a, sort_keys=True) for a in answers.values()}) == 1, answers
    assert "owner" in answers["missing"]["errors"]
    assert capa.actions.count() == 1


# ------------------------------------------------------------------------------ acknowledge is not reopen


@pytest.mark.parametrize("state", [ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED])
def test_acknowledging_a_resolved_or_closed_complaint_is_refused_and_writes_nothing(scene, api_token, state):
    complaint = scene.complaint(state)
    before = (Complaint.objects.filter(pk=complaint.pk).values().get(), ComplaintEvent.objects.count())
    response = _post_json(
        Client(), f"/api/v1/complaints/{complaint.pk}/acknowledge", {}, api_token(scene.shop.cast.alice)
    )
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "invalid_transition"
    client = Client(headers={"accept-language": "en"})
    client.force_login(scene.shop.cast.alice)
    page = client.post(reverse("feedback:complaint-acknowledge", args=[complaint.pk]), {"note": ""}, follow=True)
    assert "cannot go from" in page.content.decode()
    with pytest.raises(ApplicationError) as caught:
        services.complaint_acknowledge(complaint=complaint, by=scene.shop.cast.alice)
    assert caught.value.extra["code"] == "invalid_transition"
    assert (Complaint.objects.filter(pk=complaint.pk).values().get(), ComplaintEvent.objects.count()) == before


def test_reopening_needs_the_reason_and_counts(scene, api_token):
    complaint = scene.complaint(ComplaintStatus.CLOSED)
    headers = api_token(scene.shop.cast.alice)
    url = f"/api/v1/complaints/{complaint.pk}/reopen"
    assert _post_json(Client(), url, {"reason": ""}, headers).status_code == 422
    assert _post_json(Client(), url, {}, headers).status_code == 422
    reopened = _post_json(Client(), url, {"reason": "问题复发"}, headers)
    assert reopened.status_code == 200, reopened.content
    data = reopened.json()
    assert (data["status"], data["reopened_count"], data["closed_at"]) == ("acknowledged", 1, None)
    assert {m["name"] for m in data["moves"]} == {"contact", "transfer"}
