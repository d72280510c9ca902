"""Alternatives read as one choice (totals, the service's rule, the staff and customer pages, the API) and the guards
a workshop expects: bay equipment warnings and grade refusals at dispatch, no passing one's own quality check, the
DRAFT bill of an open order, delivery with a part's batch pending, and the arrival clock stopping at delivery."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from aftersales.config.testing import make_user, make_vehicle
from aftersales.organisation.choices import BayCapability, Role
from aftersales.organisation.models import Bay
from aftersales.organisation.rules import Party
from aftersales.service import selectors, services
from aftersales.service.bill import bill_html
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.models import DeferredWork, EstimateLine, RepairOrder
from aftersales.service.services.links import order_link_token

from .conftest import QC_ALL_TICKED, frozen, inspect, open_order, order_in_progress, set_store_setting, walk

pytestmark = pytest.mark.django_db
API = "/api/v1"


def add(shop, order, **fields):
    return services.estimate_line_add(order=order, by=shop.advisor, **fields)


def brake_pads(shop, order):
    """A recommended OEM part (¥420.00), one labour line between (1.5 h × ¥300 = ¥450.00), and the brand
    alternative (¥260.00) offered last: three lines, two rows."""
    oem = add(shop, order, kind="part", description="前刹车片", grade="oem", unit_price="420.00")
    labour = add(shop, order, kind="labour", description="更换刹车片", standard_hours="1.5", capability="general")
    brand = add(
        shop, order, kind="part", description="前刹车片", grade="brand", unit_price="260.00", alternative_to=oem
    )
    return oem, labour, brand


def decide(line, decision, by=Party.CUSTOMER, channel="link", **extra):
    return services.estimate_line_decide(line=line, decision=decision, channel=channel, by=by, **extra)


def view_of(order, line):
    page = selectors.order_page(order, include_drafts=True)
    return next(v for v in page.estimates if v.estimate.pk == line.estimate_id), page


class ChoiceTotalTests:
    def test_the_draft_counts_the_recommended_option_and_shows_the_alternative_next_to_it(self, shop):
        order = open_order(shop)
        oem, labour, brand = brake_pads(shop, order)
        view, _page = view_of(order, oem)
        assert view.total == Decimal("870.00")  # 420.00 (recommended) + 450.00, not + 260.00
        assert [[lv.line.pk for lv in row.options] for row in view.rows] == [[oem.pk, brand.pk], [labour.pk]]
        choice = view.rows[0]
        assert choice.is_choice and choice.counted.pk == oem.pk
        assert [lv.difference for lv in choice.options] == [Decimal("0.00"), Decimal("-160.00")]

    def test_the_approved_option_is_counted_and_billed(self, shop):
        order = open_order(shop)
        oem, labour, brand = brake_pads(shop, order)
        services.estimate_send(estimate=oem.estimate, by=shop.advisor)
        decide(brand, "approved")
        view, page = view_of(order, oem)
        assert view.total == Decimal("710.00")  # 260.00 chosen + 450.00 still open
        assert page.bill_total == Decimal("260.00")
        assert page.pending_decisions == 1  # the labour; the choice is decided
        assert view.rows[1].if_approved == Decimal("710.00")  # 260.00 approved + 450.00 if approved

    def test_declining_the_recommended_one_counts_the_alternative_still_open(self, shop):
        order = open_order(shop)
        oem, _labour, brand = brake_pads(shop, order)
        services.estimate_send(estimate=oem.estimate, by=shop.advisor)
        decide(oem, "declined")
        view, page = view_of(order, oem)
        assert view.rows[0].counted.pk == brand.pk
        assert view.total == Decimal("710.00")
        assert page.pending_decisions == 2  # the choice (brand still open) and the labour
        assert view.rows[0].if_approved == Decimal("260.00")

    def test_a_choice_of_two_open_options_is_one_decision_for_the_customer(self, shop):
        order = open_order(shop)
        oem, _labour, _brand = brake_pads(shop, order)
        services.estimate_send(estimate=oem.estimate, by=shop.advisor)
        _view, page = view_of(order, oem)
        assert (page.pending_lines, page.pending_decisions) == (3, 2)


class ChoiceRuleTests:
    def test_approving_an_option_when_another_is_approved_is_refused_naming_decision(self, shop):
        order = open_order(shop)
        oem, _labour, brand = brake_pads(shop, order)
        services.estimate_send(estimate=oem.estimate, by=shop.advisor)
        # As two approvals racing before the lock would leave it: the brand part approved, the OEM one still open.
        EstimateLine.objects.filter(pk=brand.pk).update(decision="approved")
        with pytest.raises(ValidationError) as caught:
            decide(oem, "approved")
        assert list(caught.value.message_dict) == ["decision"]
        assert EstimateLine.objects.get(pk=oem.pk).decision == "pending"

    def test_neither_for_now_declines_every_option_and_defers_the_work_once(self, shop):
        order = open_order(shop)
        oem, labour, brand = brake_pads(shop, order)
        services.estimate_send(estimate=oem.estimate, by=shop.advisor)
        decide(oem, "declined", whole_group=True, reason="下次再换")
        assert set(EstimateLine.objects.filter(pk__in=[oem.pk, brand.pk]).values_list("decision", flat=True)) == {
            "declined"
        }
        assert EstimateLine.objects.get(pk=labour.pk).decision == "pending"
        item = DeferredWork.objects.get()
        assert (item.source_line_id, item.amount, item.reason) == (oem.pk, Decimal("420.00"), "下次再换")

    def test_whole_group_only_declines(self, shop):
        order = open_order(shop)
        oem, _labour, _brand = brake_pads(shop, order)
        services.estimate_send(estimate=oem.estimate, by=shop.advisor)
        with pytest.raises(ValidationError) as caught:
            decide(oem, "approved", whole_group=True)
        assert list(caught.value.message_dict) == ["decision"]
        assert EstimateLine.objects.get(pk=oem.pk).decision == "pending"

    def test_an_unknown_bay_equipment_is_refused_naming_capability(self, shop):
        with pytest.raises(ValidationError) as caught:
            add(shop, open_order(shop), kind="labour", description="工时", standard_hours="1", capability="moon")
        assert list(caught.value.message_dict) == ["capability"]
        assert not EstimateLine.objects.exists()


@pytest.fixture
def customer_client():
    return Client()


class CustomerChoicePageTests:
    def _page(self, client, order):
        return client.get(reverse("service:customer-order", args=[order_link_token(order)]), HTTP_ACCEPT_LANGUAGE="en")

    def test_the_choice_shows_both_prices_the_difference_and_the_running_total_without_internal_ids(
        self, shop, customer_client
    ):
        order = open_order(shop)
        oem, labour, brand = brake_pads(shop, order)
        services.estimate_send(estimate=oem.estimate, by=shop.advisor)
        decide(labour, "approved")
        html = self._page(customer_client, order).content.decode()
        assert 'id="approved-total">¥450.00<' in html
        assert f'name="line" value="{oem.pk}"' in html and f'name="line" value="{brand.pk}"' in html
        assert "¥160.00 less than the recommended" in html
        assert "¥870.00" in html  # 450.00 approved + the recommended 420.00: the total before deciding
        assert '/choose/" data-choice-form' in html  # one form for the choice (the link is signed anew each time)
        assert not re.search(r"(choice|group) \d", html, re.IGNORECASE)  # no internal ids on screen

    def test_choosing_the_alternative_approves_it_and_declines_its_partner(self, shop, customer_client):
        order = open_order(shop)
        oem, _labour, brand = brake_pads(shop, order)
        services.estimate_send(estimate=oem.estimate, by=shop.advisor)
        url = reverse("service:customer-order-choose", args=[order_link_token(order)])
        response = customer_client.post(url, {"line": brand.pk, "decision": "approved"})
        assert response.status_code == 302 and response["Location"].endswith(f"#line-{brand.pk}")
        assert dict(EstimateLine.objects.filter(pk__in=[oem.pk, brand.pk]).values_list("pk", "decision")) == {
            oem.pk: "declined",
            brand.pk: "approved",
        }
        html = self._page(customer_client, order).content.decode()
        assert 'id="approved-total">¥260.00<' in html

    def test_neither_declines_the_whole_choice(self, shop, customer_client):
        order = open_order(shop)
        oem, _labour, brand = brake_pads(shop, order)
        services.estimate_send(estimate=oem.estimate, by=shop.advisor)
        url = reverse("service:customer-order-choose", args=[order_link_token(order)])
        customer_client.post(url, {"line": oem.pk, "decision": "declined"})
        assert set(EstimateLine.objects.filter(pk__in=[oem.pk, brand.pk]).values_list("decision", flat=True)) == {
            "declined"
        }
        assert DeferredWork.objects.count() == 1

    def test_a_line_of_another_order_is_not_found(self, shop, customer_client):
        order = open_order(shop)
        oem, _labour, _brand = brake_pads(shop, order)
        services.estimate_send(estimate=oem.estimate, by=shop.advisor)
        other_vehicle = make_vehicle(shop.customer, by=shop.advisor, plate="沪B54321", mileage_km=100)
        foreign = add(shop, open_order(shop, vehicle=other_vehicle), kind="fee", description="费", amount="1")
        services.estimate_send(estimate=foreign.estimate, by=shop.advisor)
        url = reverse("service:customer-order-choose", args=[order_link_token(order)])
        assert customer_client.post(url, {"line": foreign.pk, "decision": "approved"}).status_code == 404
        assert EstimateLine.objects.get(pk=foreign.pk).decision == "pending"
        response = customer_client.post(url, {"line": "x", "decision": "approved"})
        assert "error=decision_refused" in response["Location"]


class StaffChoicePageTests:
    def test_the_order_page_groups_the_choice_and_notes_a_desk_decision(self, shop, client):
        order = open_order(shop)
        oem, _labour, brand = brake_pads(shop, order)
        client.force_login(shop.advisor)
        url = reverse("service:order-detail", args=[order.pk])
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "¥870.00" in html  # the draft total: one option per choice
        assert not re.search(r"(choice|group) \d", html, re.IGNORECASE)
        assert "¥160.00 less than the recommended" in html
        services.estimate_send(estimate=oem.estimate, by=shop.advisor)
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert reverse("service:estimate-choice-decide", args=[order.pk]) in html
        response = client.post(
            reverse("service:estimate-choice-decide", args=[order.pk]),
            {"line": brand.pk, "decision": "approved", "channel": "desk"},
        )
        assert response.status_code == 302
        brand.refresh_from_db()
        assert (brand.decision, brand.decision_channel, brand.decided_by) == ("approved", "desk", shop.advisor)
        assert EstimateLine.objects.get(pk=oem.pk).decision == "declined"


class ChoiceApiTests:
    def test_whole_group_and_the_refusal_name_their_field(self, shop, client, api_token):
        order = open_order(shop)
        oem, _labour, brand = brake_pads(shop, order)
        services.estimate_send(estimate=oem.estimate, by=shop.advisor)
        headers = {**api_token(shop.advisor), "HTTP_ACCEPT_LANGUAGE": "en"}
        EstimateLine.objects.filter(pk=brand.pk).update(decision="approved")
        url = f"{API}/repair-orders/{order.pk}/lines/{oem.pk}/decision"
        body = {"decision": "approved", "channel": "desk"}
        response = client.post(url, json.dumps(body), content_type="application/json", **headers)
        assert response.status_code == 422
        assert list(response.json()["errors"]) == ["decision"]
        EstimateLine.objects.filter(pk=brand.pk).update(decision="pending")
        body = {"decision": "declined", "channel": "phone", "whole_group": True}
        response = client.post(url, json.dumps(body), content_type="application/json", **headers)
        assert response.status_code == 200, response.content
        assert EstimateLine.objects.get(pk=brand.pk).decision == "declined"
        detail = client.get(f"{API}/repair-orders/{order.pk}", **headers).json()
        assert Decimal(detail["estimates"][0]["total"]) == Decimal("450.00")  # both options declined


class DispatchGuardTests:
    def test_a_bay_lacking_a_lines_equipment_is_assigned_with_a_warning(self, shop):
        body_bay = Bay.objects.create(
            store=shop.store, code="BW1", name="钣金", capabilities=[BayCapability.BODYWORK, BayCapability.PAINT]
        )
        order = open_order(shop)
        brake_pads(shop, order)  # the brake job needs a general repair bay
        assigned = services.repair_order_assign(order=order, by=shop.foreman, bay=body_bay)
        assert assigned.dispatch_warnings == ["BW1 is not equipped for “更换刹车片” (General repair)."]
        assert RepairOrder.objects.get(pk=order.pk).bay_id == body_bay.pk
        assigned = services.repair_order_assign(order=order, by=shop.foreman, bay=shop.bay_1)
        assert assigned.dispatch_warnings == []

    def test_a_declined_line_warns_no_more(self, shop):
        order = open_order(shop)
        _oem, labour, _brand = brake_pads(shop, order)
        services.estimate_send(estimate=labour.estimate, by=shop.advisor)
        decide(labour, "declined")
        assigned = services.repair_order_assign(order=order, by=shop.foreman, bay=shop.nev_bay)
        assert assigned.dispatch_warnings == []

    def test_a_technician_below_the_lines_grade_is_refused_naming_technician(self, shop, client, api_token):
        order = open_order(shop)
        add(shop, order, kind="labour", description="高压电池检修", standard_hours="2", min_grade="senior")
        with pytest.raises(ValidationError) as caught:
            services.repair_order_assign(order=order, by=shop.foreman, technician=shop.junior)
        assert list(caught.value.message_dict) == ["technician"]
        assert RepairOrder.objects.get(pk=order.pk).technician_id is None
        headers = {**api_token(shop.foreman), "HTTP_ACCEPT_LANGUAGE": "en"}
        response = client.post(
            f"{API}/repair-orders/{order.pk}/assign",
            json.dumps({"technician": shop.junior.pk}),
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 422
        assert list(response.json()["errors"]) == ["technician"]

    def test_the_api_answers_the_warning(self, shop, client, api_token):
        order = open_order(shop)
        brake_pads(shop, order)
        headers = {**api_token(shop.foreman), "HTTP_ACCEPT_LANGUAGE": "en"}
        response = client.post(
            f"{API}/repair-orders/{order.pk}/assign",
            json.dumps({"bay": shop.nev_bay.pk}),
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 200, response.content
        assert response.json()["dispatch_warnings"] == ["N01 is not equipped for “更换刹车片” (General repair)."]


def foreman_did_the_work(shop):
    """An order in QC whose work the foreman did himself."""
    order = open_order(shop)
    inspect(shop, order)
    line = add(shop, order, kind="labour", description="更换刹车片", standard_hours="1")
    services.estimate_send(estimate=line.estimate, by=shop.advisor)
    decide(line, "approved", by=shop.advisor, channel="desk")
    services.repair_order_assign(order=order, by=shop.foreman, technician=shop.foreman, bay=shop.bay_1)
    return walk(shop, order, S.WAITING, S.IN_BAY, S.IN_PROGRESS, S.QC)


class OwnQualityCheckTests:
    def test_the_worker_cannot_pass_his_own_work(self, shop):
        order = foreman_did_the_work(shop)
        with pytest.raises(ValidationError) as caught:
            services.quality_check_record(order=order, by=shop.foreman, passed=True, checklist=QC_ALL_TICKED)
        assert list(caught.value.message_dict) == ["passed"]
        assert not order.quality_checks.exists()
        assert RepairOrder.objects.get(pk=order.pk).status == S.QC

    def test_he_may_record_a_failure_and_another_may_pass(self, shop):
        order = foreman_did_the_work(shop)
        other = make_user("second_foreman", Role.FOREMAN, store=shop.store)
        services.quality_check_record(order=order, by=other, passed=True, checklist=QC_ALL_TICKED)
        assert RepairOrder.objects.get(pk=order.pk).status == S.WASHING

    def test_the_store_may_switch_the_rule_off(self, shop):
        set_store_setting(shop, qc_not_by_worker=0)
        order = foreman_did_the_work(shop)
        services.quality_check_record(order=order, by=shop.foreman, passed=True, checklist=QC_ALL_TICKED)
        assert RepairOrder.objects.get(pk=order.pk).status == S.WASHING

    def test_the_api_answers_422_naming_passed(self, shop, client, api_token):
        order = foreman_did_the_work(shop)
        headers = {**api_token(shop.foreman), "HTTP_ACCEPT_LANGUAGE": "en"}
        response = client.post(
            f"{API}/repair-orders/{order.pk}/quality-checks",
            json.dumps({"passed": True, "checklist": QC_ALL_TICKED}),
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 422
        assert list(response.json()["errors"]) == ["passed"]


def ready_with_a_part(shop):
    """Ready for pick-up: 1.0 h labour (¥300.00) and brake pads (¥420.00) whose batch is not recorded."""
    with frozen(2026, 3, 2, 8, 0):
        order = order_in_progress(shop)
        services.repair_order_assign(order=order, by=shop.foreman, technician=shop.senior)
        part = add(shop, order, kind="part", description="前刹车片", grade="oem", unit_price="420.00")
        services.estimate_send(estimate=part.estimate, by=shop.advisor)
        decide(part, "approved", by=shop.advisor, channel="desk")
        walk(shop, order, S.QC)
        services.quality_check_record(
            order=order, by=shop.foreman, passed=True, checklist=QC_ALL_TICKED, skip_washing=True
        )
    order.refresh_from_db()
    return order, part


class DeliveryGuardTests:
    def _deliver(self, shop, order, **extra):
        return services.repair_order_deliver(
            order=order,
            by=shop.advisor,
            explanation="更换前刹车片",
            next_service_date=None,
            next_service_km=None,
            **extra,
        )

    def test_a_pending_batch_needs_confirmation_and_leaves_a_flag(self, shop):
        order, _part = ready_with_a_part(shop)
        with frozen(2026, 3, 2, 17, 0):
            with pytest.raises(ValidationError) as caught:
                self._deliver(shop, order)
            assert list(caught.value.message_dict) == ["confirm_pending_batches"]
            assert "前刹车片" in caught.value.message_dict["confirm_pending_batches"][0]
            assert RepairOrder.objects.get(pk=order.pk).status == S.READY
            self._deliver(shop, order, confirm_pending_batches=True)
        order.refresh_from_db()
        assert (order.status, order.delivered_with_pending_batches) == (S.DELIVERED, True)
        assert order.billed_total == Decimal("720.00")  # 300.00 + 420.00

    def test_with_the_batch_recorded_no_confirmation_and_no_flag(self, shop):
        order, part = ready_with_a_part(shop)
        with frozen(2026, 3, 2, 17, 0):
            services.part_trace_record(line=part, by=shop.senior, batch_number="B2026-031")
            self._deliver(shop, order)
        assert RepairOrder.objects.get(pk=order.pk).delivered_with_pending_batches is False

    def test_the_delivery_form_lists_the_pending_lines_and_the_order_page_shows_the_flag(self, shop, client):
        order, _part = ready_with_a_part(shop)
        client.force_login(shop.advisor)
        url = reverse("service:order-detail", args=[order.pk])
        with frozen(2026, 3, 2, 17, 0):
            html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
            assert 'id="batch-pending"' in html and "前刹车片" in html and 'name="confirm_pending_batches"' in html
            response = client.post(reverse("service:order-deliver", args=[order.pk]), {"explanation": "已说明"})
            assert response.status_code == 400
            assert 'data-error-for="confirm_pending_batches"' in response.content.decode()
            client.post(
                reverse("service:order-deliver", args=[order.pk]),
                {"explanation": "已说明", "confirm_pending_batches": "on"},
            )
        with frozen(2026, 3, 3, 9, 0):
            html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert 'id="delivered-pending-batches"' in html
        # Arrived 08:00, delivered 17:00: the clock stopped at delivery (not "25 h ago" the next morning).
        assert "on site 9 h 0 min" in html and "min ago" not in html


class DraftBillTests:
    def test_an_open_orders_bill_says_draft_and_a_delivered_one_does_not(self, shop):
        order, _part = ready_with_a_part(shop)
        assert 'id="bill-draft"' in bill_html(None, order) and "草稿 DRAFT" in bill_html(None, order)
        with frozen(2026, 3, 2, 17, 0):
            services.repair_order_deliver(
                order=order,
                by=shop.advisor,
                explanation="已说明",
                next_service_date=dt.date(2026, 9, 2),
                next_service_km=None,
                confirm_pending_batches=True,
            )
        order.refresh_from_db()
        assert "DRAFT" not in bill_html(None, order) and "草稿" not in bill_html(None, order)
