"""The CAPA pages: advisors read, managers open and run a CAPA; it is opened from a complaint or a cluster;
bad input is shown next to its field and writes nothing; the status walk stops at each guard with a message
that names what is missing; the list keeps a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales.config.testing import make_user
from aftersales.feedback import services
from aftersales.feedback.models import Capa, CapaAction, CapaEvent
from aftersales.organisation.choices import Role

from .conftest import frozen, shanghai

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Pages answer in English here (the store default is Chinese), so tests can read the messages."""
    return Client(headers={"accept-language": "en"})


def complaint(shop, category="waiting", at=None, store=None, customer=None, by=None):
    with time_machine.travel(at or shanghai(2026, 3, 10, 9, 0), tick=False):
        return services.complaint_log(
            store=store or shop.store,
            customer=customer or shop.customer,
            channel="phone",
            category=category,
            priority="general",
            description="等待时间过长，接待没人理",
            by=by or shop.cast.alice,
        )


def open_capa(shop, **kwargs):
    kwargs.setdefault("title", "缩短等待")
    if "complaint" not in kwargs:
        kwargs.setdefault("cluster_category", "waiting")
        kwargs.setdefault("cluster_month", dt.date(2026, 3, 1))
    return services.capa_open(store=shop.store, by=shop.cast.mia, **kwargs)


def add_action(shop, capa, *, owner=None, due=dt.date(2026, 4, 1), description="高峰期增派顾问"):
    return services.capa_action_add(
        capa=capa, by=shop.cast.mia, description=description, owner=owner or shop.cast.bob, due_date=due
    )


def url(name, *args):
    return reverse(f"feedback:{name}", args=args)


# ----------------------------------------------------------------------------------------------- roles


class RoleTests:
    def test_an_advisor_reads_but_may_not_open_or_run_a_capa(self, client, shop):
        capa = open_capa(shop)
        action = add_action(shop, capa)
        client.force_login(shop.cast.alice)
        assert client.get(url("capa-list")).status_code == 200
        page = client.get(url("capa-detail", capa.pk))
        assert page.status_code == 200
        body = page.content.decode()
        assert 'id="capa-next"' not in body and 'id="action-add-form"' not in body
        assert client.get(url("capa-create")).status_code == 403
        assert client.post(url("capa-create"), {"title": "x"}).status_code == 403
        assert client.post(url("capa-update", capa.pk), {"root_cause": "x"}).status_code == 403
        assert client.post(url("capa-transition", capa.pk), {"to": "analysing"}).status_code == 403
        assert client.post(url("capa-action-done", capa.pk, action.pk)).status_code == 403
        post = {"description": "x", "owner": shop.cast.bob.pk, "due_date": "2026-04-01"}
        assert client.post(url("capa-action-add", capa.pk), post).status_code == 403
        capa.refresh_from_db()
        assert capa.status == "open" and capa.root_cause == "" and capa.actions.count() == 1

    def test_a_technician_may_not_see_capas(self, client, shop):
        capa = open_capa(shop)
        client.force_login(shop.cast.tom)
        assert client.get(url("capa-list")).status_code == 403
        assert client.get(url("capa-detail", capa.pk)).status_code == 403

    def test_a_manager_sees_the_forms(self, client, shop):
        capa = open_capa(shop)
        client.force_login(shop.cast.mia)
        assert client.get(url("capa-create")).status_code == 200
        body = client.get(url("capa-detail", capa.pk)).content.decode()
        assert 'id="capa-next"' in body and 'id="action-add-form"' in body and 'name="root_cause"' in body

    def test_another_stores_capa_is_not_found_even_with_valid_input(self, client, shop):
        manager_b = make_user("hank", Role.MANAGER, store=shop.cast.store_b)
        capa = services.capa_open(
            store=shop.cast.store_b,
            by=manager_b,
            title="杭州",
            cluster_category="price",
            cluster_month=dt.date(2026, 3, 1),
        )
        action = services.capa_action_add(
            capa=capa, by=manager_b, description="x", owner=shop.cast.carol, due_date=dt.date(2026, 4, 1)
        )
        client.force_login(shop.cast.mia)
        assert client.get(url("capa-detail", capa.pk)).status_code == 404
        assert client.post(url("capa-transition", capa.pk), {"to": "analysing"}).status_code == 404
        assert client.post(url("capa-update", capa.pk), {"root_cause": "篡改"}).status_code == 404
        assert client.post(url("capa-action-done", capa.pk, action.pk)).status_code == 404
        post = {"description": "篡改", "owner": shop.cast.carol.pk, "due_date": "2026-04-01"}
        assert client.post(url("capa-action-add", capa.pk), post).status_code == 404
        capa.refresh_from_db()
        assert capa.status == "open" and capa.root_cause == "" and capa.actions.count() == 1
        assert CapaAction.objects.get().done_at is None

    def test_an_action_of_another_capa_is_not_found(self, client, shop):
        first, second = open_capa(shop), open_capa(shop, title="第二个")
        action = add_action(shop, second)
        client.force_login(shop.cast.mia)
        assert client.post(url("capa-action-done", first.pk, action.pk)).status_code == 404
        action.refresh_from_db()
        assert action.done_at is None


# ---------------------------------------------------------------------------------------------- create


class CreateTests:
    def test_open_from_a_complaint(self, client, shop):
        source = complaint(shop)
        client.force_login(shop.cast.mia)
        page = client.get(url("capa-create"), {"complaint": source.pk})
        assert page.status_code == 200
        assert page.context["form"]["title"].value().startswith("Waiting time: 等待时间过长")
        assert "cluster_month" not in page.context["form"].fields
        response = client.post(f"{url('capa-create')}?complaint={source.pk}", {"title": "缩短接待等待"})
        capa = Capa.objects.get()
        assert response.status_code == 302 and response["Location"] == url("capa-detail", capa.pk)
        assert capa.complaint == source and capa.store == shop.store and capa.opened_by == shop.cast.mia
        assert capa.cluster_category == "" and capa.cluster_month is None
        assert list(capa.events.values_list("to_status", flat=True)) == ["open"]

    def test_another_stores_complaint_is_not_found(self, client, shop):
        from aftersales.config.testing import make_customer

        customer_b = make_customer(shop.cast.store_b, name="杭州客户")
        theirs = complaint(shop, store=shop.cast.store_b, customer=customer_b, by=shop.cast.carol)
        client.force_login(shop.cast.mia)
        assert client.get(url("capa-create"), {"complaint": theirs.pk}).status_code == 404
        assert client.post(f"{url('capa-create')}?complaint={theirs.pk}", {"title": "x"}).status_code == 404
        assert client.get(url("capa-create"), {"complaint": "abc"}).status_code == 404
        assert not Capa.objects.exists()

    def test_open_from_a_cluster_shows_its_complaints(self, client, shop):
        complaint(shop, "price", at=shanghai(2026, 2, 10, 9, 0))
        complaint(shop, "price", at=shanghai(2026, 2, 20, 9, 0))
        complaint(shop, "price", at=shanghai(2026, 3, 2, 9, 0))  # another month: not in the cluster
        client.force_login(shop.cast.mia)
        page = client.get(url("capa-create"), {"category": "price", "month": "2026-02"})
        assert page.status_code == 200
        form = page.context["form"]
        assert form["cluster_category"].value() == "price" and form["cluster_month"].value() == "2026-02"
        assert form["title"].value() == "Frequent issue: Price, 2026-02"
        assert page.context["cluster"]["count"] == 2
        response = client.post(
            url("capa-create"), {"title": "价格解释", "cluster_category": "price", "cluster_month": "2026-02"}
        )
        capa = Capa.objects.get()
        assert response.status_code == 302 and response["Location"] == url("capa-detail", capa.pk)
        assert capa.complaint is None
        assert (capa.cluster_category, capa.cluster_month) == ("price", dt.date(2026, 2, 1))

    @pytest.mark.parametrize(
        ("post", "field"),
        [
            ({"title": "", "cluster_category": "price", "cluster_month": "2026-02"}, "title"),
            ({"title": "x" * 201, "cluster_category": "price", "cluster_month": "2026-02"}, "title"),
            ({"title": "x", "cluster_category": "", "cluster_month": "2026-02"}, "cluster_category"),
            ({"title": "x", "cluster_category": "nonsense", "cluster_month": "2026-02"}, "cluster_category"),
            ({"title": "x", "cluster_category": "price", "cluster_month": "2026-13"}, "cluster_month"),
            ({"title": "x", "cluster_category": "price", "cluster_month": "Feb 2026"}, "cluster_month"),
            ({"title": "x", "cluster_category": "price", "cluster_month": ""}, "cluster_month"),
        ],
    )
    def test_bad_input_is_shown_next_to_its_field_and_writes_nothing(self, client, shop, post, field):
        client.force_login(shop.cast.mia)
        response = client.post(url("capa-create"), post)
        assert response.status_code == 400
        assert response.context["form"].errors[field]
        assert f'data-error-for="{field}"' in response.content.decode()
        assert not Capa.objects.exists() and not CapaEvent.objects.exists()

    def test_a_group_manager_chooses_the_store(self, client, shop):
        client.force_login(shop.cast.grace)
        page = client.get(url("capa-create"), {"category": "waiting", "month": "2026-03"})
        assert "store" in page.context["form"].fields
        response = client.post(
            url("capa-create"), {"title": "x", "cluster_category": "waiting", "cluster_month": "2026-03", "store": ""}
        )
        assert response.status_code == 400 and response.context["form"].errors["store"]
        store_c = shop.cast.store_c.pk  # another group's store is not a choice
        post = {"title": "x", "cluster_category": "waiting", "cluster_month": "2026-03", "store": store_c}
        assert client.post(url("capa-create"), post).status_code == 400
        post["store"] = shop.cast.store_b.pk
        assert client.post(url("capa-create"), post).status_code == 302
        assert Capa.objects.get().store == shop.cast.store_b


# ---------------------------------------------------------------------------------------------- detail


class DetailTests:
    def test_the_page_shows_the_steps_the_source_and_the_actions(self, client, shop):
        capa = open_capa(shop, complaint=complaint(shop))
        services.capa_transition(capa=capa, to="analysing", by=shop.cast.mia)
        add_action(shop, capa)
        client.force_login(shop.cast.alice)
        page = client.get(url("capa-detail", capa.pk))
        body = page.content.decode()
        assert [s["status"] for s in page.context["steps"] if s["current"]] == ["analysing"]
        assert [s["status"] for s in page.context["steps"] if s["done"]] == ["open"]
        assert 'data-step="analysing" aria-current="step"' in body
        assert "Analyse the root cause" in body and "Fix the procedure" in body
        assert f"#{capa.complaint_id}" in body
        assert "高峰期增派顾问" in body and "Bob" in body and "2026-04-01" in body

    def test_an_overdue_action_is_flagged_on_the_page_and_in_the_list(self, client, shop):
        capa = open_capa(shop)
        late = add_action(shop, capa, due=dt.date(2026, 3, 9), description="培训接待")
        add_action(shop, capa, due=dt.date(2026, 3, 20), description="增派顾问")
        client.force_login(shop.cast.mia)
        with frozen(2026, 3, 10, 9, 0):
            body = client.get(url("capa-detail", capa.pk)).content.decode()
            listing = client.get(url("capa-list"))
        assert f'id="action-{late.pk}" class="table-danger" data-overdue' in body
        assert body.count("data-overdue") == 1
        row = listing.context["rows"][0]
        assert (row["done"], row["total"], row["overdue"]) == (0, 2, 1)
        assert "1 action overdue" in listing.content.decode()

    def test_the_whole_walk_stops_at_each_guard_with_what_is_missing(self, client, shop):
        capa = open_capa(shop, complaint=complaint(shop))
        client.force_login(shop.cast.mia)

        def move(to, note=""):
            return client.post(url("capa-transition", capa.pk), {"to": to, "note": note})

        def status():
            capa.refresh_from_db()
            return capa.status

        assert move("analysing", "开始分析").status_code == 302 and status() == "analysing"
        refused = move("acting")
        assert refused.status_code == 400 and "Record the root cause first." in refused.content.decode()
        assert status() == "analysing"
        assert (
            client.post(
                url("capa-update", capa.pk), {"section": "analysis", "root_cause": "高峰期人手不足"}
            ).status_code
            == 302
        )
        refused = move("acting")
        assert refused.status_code == 400 and "Add at least one corrective action" in refused.content.decode()
        post = {"description": "高峰期增派顾问", "owner": shop.cast.bob.pk, "due_date": "2026-04-01"}
        assert client.post(url("capa-action-add", capa.pk), post).status_code == 302
        assert move("acting").status_code == 302 and status() == "acting"
        refused = move("verifying")
        assert refused.status_code == 400 and "Every corrective action must be done" in refused.content.decode()
        action = CapaAction.objects.get(capa=capa)
        assert client.post(url("capa-action-done", capa.pk, action.pk)).status_code == 302
        assert move("verifying").status_code == 302 and status() == "verifying"
        refused = move("closed")
        assert refused.status_code == 400 and "Record the KPI and its figures" in refused.content.decode()
        kpi = {"section": "verification", "kpi_name": "平均等待(分钟)", "kpi_before": "42", "kpi_after": "25.5"}
        assert client.post(url("capa-update", capa.pk), kpi).status_code == 302
        refused = move("closed")
        assert refused.status_code == 400 and "standard-procedure change" in refused.content.decode()
        post = {"section": "procedure", "procedure_change": "接待SOP：高峰期双顾问"}
        assert client.post(url("capa-update", capa.pk), post).status_code == 302
        assert move("closed", "效果确认").status_code == 302 and status() == "closed"
        capa.refresh_from_db()
        assert capa.root_cause == "高峰期人手不足" and capa.kpi_before == Decimal("42.00")
        assert capa.kpi_after == Decimal("25.50") and capa.closed_at is not None
        events = list(capa.events.values_list("to_status", "note"))
        assert events == [
            ("open", ""),
            ("analysing", "开始分析"),
            ("acting", ""),
            ("verifying", ""),
            ("closed", "效果确认"),
        ]
        page = client.get(url("capa-detail", capa.pk))
        body = page.content.decode()
        assert 'id="capa-closed"' in body and 'name="root_cause"' not in body and "action-add-form" not in body
        assert all(s["done"] for s in page.context["steps"])
        # closed is the end: nothing moves it, nothing edits it
        assert move("acting").status_code == 400 and status() == "closed"
        refused = client.post(url("capa-update", capa.pk), {"root_cause": "改"})
        assert refused.status_code == 302 and status() == "closed"
        capa.refresh_from_db()
        assert capa.root_cause == "高峰期人手不足"

    def test_verifying_can_go_back_to_the_actions(self, client, shop):
        capa = open_capa(shop)
        services.capa_transition(capa=capa, to="analysing", by=shop.cast.mia)
        services.capa_update(capa=capa, by=shop.cast.mia, root_cause="x")
        action = add_action(shop, capa)
        services.capa_transition(capa=capa, to="acting", by=shop.cast.mia)
        services.capa_action_done(action=action, by=shop.cast.mia)
        services.capa_transition(capa=capa, to="verifying", by=shop.cast.mia)
        client.force_login(shop.cast.mia)
        page = client.get(url("capa-detail", capa.pk))
        targets = [(t["target"], t["back"]) for t in page.context["transition_forms"]]
        assert targets == [("closed", False), ("acting", True)]
        assert client.post(url("capa-transition", capa.pk), {"to": "acting", "note": "未改善"}).status_code == 302
        capa.refresh_from_db()
        assert capa.status == "acting"

    def test_a_move_the_table_forbids_is_refused(self, client, shop):
        capa = open_capa(shop)
        client.force_login(shop.cast.mia)
        response = client.post(url("capa-transition", capa.pk), {"to": "closed"})
        assert response.status_code == 400 and "cannot go from" in response.context["transition_error"]
        response = client.post(url("capa-transition", capa.pk), {"to": "nonsense"})
        assert response.status_code == 400
        capa.refresh_from_db()
        assert capa.status == "open" and capa.events.count() == 1

    def test_the_page_says_beforehand_what_is_missing(self, client, shop):
        capa = open_capa(shop)
        services.capa_transition(capa=capa, to="analysing", by=shop.cast.mia)
        client.force_login(shop.cast.mia)
        page = client.get(url("capa-detail", capa.pk))
        (form,) = page.context["transition_forms"]
        assert form["missing"] == ["the root cause", "at least one corrective action"]

    def test_saving_one_card_keeps_the_others(self, client, shop):
        capa = open_capa(shop)
        services.capa_update(capa=capa, by=shop.cast.mia, root_cause="原因", procedure_change="SOP")
        client.force_login(shop.cast.mia)
        post = {"section": "verification", "kpi_name": "CSAT (%)", "kpi_before": "80", "kpi_after": ""}
        assert client.post(url("capa-update", capa.pk), post).status_code == 302
        capa.refresh_from_db()
        assert (capa.root_cause, capa.procedure_change, capa.kpi_name) == ("原因", "SOP", "CSAT (%)")
        assert capa.kpi_before == Decimal("80.00") and capa.kpi_after is None

    @pytest.mark.parametrize(
        ("post", "field"),
        [
            ({"kpi_before": "abc"}, "kpi_before"),
            ({"kpi_after": "1e20"}, "kpi_after"),
            ({"kpi_name": "x" * 81}, "kpi_name"),
            ({"root_cause": "bad\x00text"}, "root_cause"),
        ],
    )
    def test_bad_analysis_input_writes_nothing(self, client, shop, post, field):
        capa = open_capa(shop)
        client.force_login(shop.cast.mia)
        response = client.post(url("capa-update", capa.pk), {"section": "verification", "kpi_name": "CSAT", **post})
        assert response.status_code == 400
        assert f'data-error-for="{field}"' in response.content.decode()
        capa.refresh_from_db()
        assert capa.kpi_name == "" and capa.kpi_before is None and capa.root_cause == ""


# --------------------------------------------------------------------------------------------- actions


class ActionTests:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"description": ""}, "description"),
            ({"due_date": "01/04/2026"}, "due_date"),
            ({"due_date": "2026-02-30"}, "due_date"),
            ({"due_date": ""}, "due_date"),
            ({"owner": ""}, "owner"),
            ({"owner": "abc"}, "owner"),
        ],
    )
    def test_bad_input_is_shown_next_to_its_field_and_writes_nothing(self, client, shop, change, field):
        capa = open_capa(shop)
        client.force_login(shop.cast.mia)
        post = {"description": "增派顾问", "owner": shop.cast.bob.pk, "due_date": "2026-04-01", **change}
        response = client.post(url("capa-action-add", capa.pk), post)
        assert response.status_code == 400
        assert response.context["action_form"].errors[field]
        assert f'data-error-for="{field}"' in response.content.decode()
        assert not CapaAction.objects.exists()

    @pytest.mark.parametrize("who", ["carol", "otto", "tom"])
    def test_the_owner_must_be_staff_of_this_store_who_sees_feedback(self, client, shop, who):
        capa = open_capa(shop)
        client.force_login(shop.cast.mia)
        post = {"description": "增派顾问", "owner": getattr(shop.cast, who).pk, "due_date": "2026-04-01"}
        response = client.post(url("capa-action-add", capa.pk), post)
        assert response.status_code == 400
        assert response.context["action_form"].errors["owner"] == ["Choose a member of this store's staff."]
        assert not CapaAction.objects.exists()

    def test_the_owner_list_holds_the_stores_staff_who_see_feedback(self, client, shop):
        capa = open_capa(shop)
        client.force_login(shop.cast.mia)
        page = client.get(url("capa-detail", capa.pk))
        owners = {value for value, _label in page.context["action_form"].fields["owner"].choices if value}
        assert {shop.cast.alice.pk, shop.cast.bob.pk, shop.cast.mia.pk} <= owners
        assert shop.cast.carol.pk not in owners and shop.cast.tom.pk not in owners

    def test_the_owner_may_mark_their_own_action_done_but_not_anothers(self, client, shop):
        capa = open_capa(shop)
        mine = add_action(shop, capa, owner=shop.cast.bob)
        other = add_action(shop, capa, owner=shop.cast.alice)
        client.force_login(shop.cast.bob)
        body = client.get(url("capa-detail", capa.pk)).content.decode()
        assert url("capa-action-done", capa.pk, mine.pk) in body
        assert url("capa-action-done", capa.pk, other.pk) not in body
        assert client.post(url("capa-action-done", capa.pk, mine.pk)).status_code == 302
        assert client.post(url("capa-action-done", capa.pk, other.pk)).status_code == 403
        mine.refresh_from_db()
        other.refresh_from_db()
        assert mine.done_at is not None and other.done_at is None

    def test_marking_twice_says_so(self, client, shop):
        capa = open_capa(shop)
        action = add_action(shop, capa)
        client.force_login(shop.cast.mia)
        client.post(url("capa-action-done", capa.pk, action.pk))
        response = client.post(url("capa-action-done", capa.pk, action.pk), follow=True)
        assert "This action is already done." in response.content.decode()

    def test_get_is_refused_on_the_actions(self, client, shop):
        capa = open_capa(shop)
        action = add_action(shop, capa)
        client.force_login(shop.cast.mia)
        assert client.get(url("capa-action-done", capa.pk, action.pk)).status_code == 405
        assert client.get(url("capa-transition", capa.pk)).status_code == 405


# ------------------------------------------------------------------------------------------------ list


class ListTests:
    def test_filters_by_status_and_source(self, client, shop):
        from_complaint = open_capa(shop, title="投诉来源", complaint=complaint(shop))
        cluster = open_capa(shop, title="高频问题来源")
        services.capa_transition(capa=cluster, to="analysing", by=shop.cast.mia)
        client.force_login(shop.cast.alice)
        page = client.get(url("capa-list"))
        assert [r["capa"] for r in page.context["rows"]] == [cluster, from_complaint]
        assert {t["value"]: t["count"] for t in page.context["tabs"]}["analysing"] == 1
        assert [r["capa"] for r in client.get(url("capa-list"), {"status": "analysing"}).context["rows"]] == [cluster]
        assert [r["capa"] for r in client.get(url("capa-list"), {"source": "complaint"}).context["rows"]] == [
            from_complaint
        ]
        assert [r["capa"] for r in client.get(url("capa-list"), {"source": "cluster"}).context["rows"]] == [cluster]
        assert client.get(url("capa-list"), {"status": "nonsense", "page": "x"}).status_code == 200

    def test_the_empty_list_says_what_to_do(self, client, shop):
        client.force_login(shop.cast.mia)
        body = client.get(url("capa-list")).content.decode()
        assert 'id="capa-empty"' in body and "Open one from a complaint" in body
        assert url("capa-create") in body  # the manager's button
        client.force_login(shop.cast.alice)
        assert url("capa-create") not in client.get(url("capa-list")).content.decode()

    def test_another_stores_capas_are_not_listed(self, client, shop):
        manager_b = make_user("hank", Role.MANAGER, store=shop.cast.store_b)
        services.capa_open(
            store=shop.cast.store_b,
            by=manager_b,
            title="杭州店的",
            cluster_category="price",
            cluster_month=dt.date(2026, 3, 1),
        )
        client.force_login(shop.cast.mia)
        assert "杭州店的" not in client.get(url("capa-list")).content.decode()

    def test_the_number_of_queries_does_not_grow_with_the_rows(self, client, shop):
        client.force_login(shop.cast.mia)

        def build(n):
            for i in range(n):
                capa = open_capa(shop, title=f"CAPA {i}", complaint=complaint(shop))
                add_action(shop, capa)
                add_action(shop, capa, owner=shop.cast.alice)

        def count():
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url("capa-list"))
            assert response.status_code == 200
            return len(ctx.captured_queries)

        build(2)
        few = count()
        build(6)
        assert count() == few
        assert few <= 12

    def test_the_detail_page_queries_do_not_grow_with_actions_and_events(self, client, shop):
        capa = open_capa(shop)
        add_action(shop, capa)
        client.force_login(shop.cast.mia)

        def count():
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url("capa-detail", capa.pk))
            assert response.status_code == 200
            return len(ctx.captured_queries)

        few = count()
        for i in range(5):
            add_action(shop, capa, owner=shop.cast.alice, description=f"措施{i}")
        services.capa_update(capa=capa, by=shop.cast.mia, root_cause="x")
        services.capa_transition(capa=capa, to="analysing", by=shop.cast.mia, note="n")
        assert count() == few
