"""Dispatch reads the staff records: the line's minimum grade against the grade history, and a high-voltage line
against a valid low-voltage electrician certificate on the day (refused naming `technician`, nothing saved)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError

from aftersales.config.testing import make_vehicle
from aftersales.service import services
from aftersales.service.models import EstimateLine, RepairOrder
from aftersales.service.tests.conftest import open_order
from aftersales.staff.tests.conftest import frozen, grade, hv_certificate

pytestmark = pytest.mark.django_db
D = dt.date


def hv_line(shop, order, *, decision=None, min_grade=""):
    line = services.estimate_line_add(
        order=order,
        by=shop.advisor,
        kind="labour",
        description="高压电池包检修",
        standard_hours="2",
        min_grade=min_grade,
    )
    EstimateLine.objects.filter(pk=line.pk).update(high_voltage=True)
    if decision:
        services.estimate_send(estimate=line.estimate, by=shop.advisor)
        services.estimate_line_decide(line=line, decision=decision, channel="desk", by=shop.advisor)
    return line


def assign(shop, order, technician):
    return services.repair_order_assign(order=order, by=shop.foreman, technician=technician)


class HighVoltageTests:
    def test_no_certificate_refused_naming_technician(self, shop):
        with frozen(2026, 6, 1, 10, 0):
            order = open_order(shop)
            hv_line(shop, order)
            with pytest.raises(ValidationError) as caught:
                assign(shop, order, shop.senior)
        assert list(caught.value.message_dict) == ["technician"]
        assert "high-voltage" in caught.value.message_dict["technician"][0]
        assert RepairOrder.objects.get(pk=order.pk).technician_id is None

    def test_a_valid_certificate_lets_the_job_through_until_its_expiry_day(self, shop):
        with frozen(2026, 6, 1, 10, 0):
            hv_certificate(shop.senior, shop.cast.mia, issued=D(2023, 7, 1), expires=D(2026, 6, 30))
            order = open_order(shop)
            hv_line(shop, order)
        with frozen(2026, 6, 30, 18, 0):
            assert assign(shop, order, shop.senior).technician_id == shop.senior.pk
        with frozen(2026, 7, 1, 9, 0):
            other = open_order(shop, vehicle=make_vehicle(shop.customer, by=shop.advisor, plate="沪A99999"))
            hv_line(shop, other)
            with pytest.raises(ValidationError) as caught:
                assign(shop, other, shop.senior)
        assert list(caught.value.message_dict) == ["technician"]

    def test_a_declined_hv_line_needs_no_certificate(self, shop):
        with frozen(2026, 6, 1, 10, 0):
            order = open_order(shop)
            hv_line(shop, order, decision="declined")
            assert assign(shop, order, shop.junior).technician_id == shop.junior.pk

    def test_the_api_answers_422_naming_technician(self, shop, client, api_token):
        with frozen(2026, 6, 1, 10, 0):
            order = open_order(shop)
            hv_line(shop, order)
            response = client.post(
                f"/api/v1/repair-orders/{order.pk}/assign",
                json.dumps({"technician": shop.senior.pk}),
                content_type="application/json",
                **api_token(shop.foreman),
            )
        assert response.status_code == 422
        assert list(response.json()["errors"]) == ["technician"]


class GradeFromHistoryTests:
    def test_the_grade_on_the_day_of_dispatch_counts_not_an_older_snapshot(self, shop):
        with frozen(2026, 6, 1, 10, 0):
            grade(shop.junior, shop.cast.mia, "junior", D(2025, 1, 1))
            order = open_order(shop)
            services.estimate_line_add(
                order=order,
                by=shop.advisor,
                kind="labour",
                description="变速箱",
                standard_hours="3",
                min_grade="senior",
            )
            with pytest.raises(ValidationError):
                assign(shop, order, shop.junior)
            grade(shop.junior, shop.cast.mia, "senior", D(2026, 6, 1))
            assert assign(shop, order, shop.junior).technician_id == shop.junior.pk

    def test_the_history_wins_over_a_stale_snapshot(self, shop):
        """Code that writes only the profile cannot lift a graded person above the history."""
        from aftersales.organisation.models import StaffProfile

        with frozen(2026, 6, 1, 10, 0):
            grade(shop.junior, shop.cast.mia, "junior", D(2025, 1, 1))
            StaffProfile.objects.filter(user=shop.junior).update(technician_grade="senior_technician")
            order = open_order(shop)
            services.estimate_line_add(
                order=order,
                by=shop.advisor,
                kind="labour",
                description="变速箱",
                standard_hours="3",
                min_grade="senior",
            )
            with pytest.raises(ValidationError) as caught:
                assign(shop, order, shop.junior)
        assert list(caught.value.message_dict) == ["technician"]

    def test_hv_and_grade_both_needed(self, shop):
        with frozen(2026, 6, 1, 10, 0):
            hv_certificate(shop.junior, shop.cast.mia, issued=D(2024, 1, 1), expires=D(2030, 1, 1))
            order = open_order(shop)
            hv_line(shop, order, min_grade="senior")
            with pytest.raises(ValidationError) as caught:
                assign(shop, order, shop.junior)  # certified but junior
            assert "needs a" in caught.value.message_dict["technician"][0]
            hv_certificate(shop.senior, shop.cast.mia, issued=D(2024, 1, 1), expires=D(2030, 1, 1), number="T2")
            assert assign(shop, order, shop.senior).technician_id == shop.senior.pk


class DispatchPageTests:
    def test_the_order_page_offers_only_technicians_the_job_may_go_to(self, shop, client):
        from django.urls import reverse

        with frozen(2026, 6, 1, 10, 0):
            hv_certificate(shop.junior, shop.cast.mia, issued=D(2024, 1, 1), expires=D(2030, 1, 1))
            order = open_order(shop)
            hv_line(shop, order)
            client.force_login(shop.foreman)
            page = client.get(reverse("service:order-detail", args=[order.pk]))
        offered = set(page.context["dispatch_form"].fields["technician"].choices)
        ids = {pk for pk, _label in offered if pk}
        assert shop.junior.pk in ids  # certified
        assert shop.senior.pk not in ids and shop.foreman.pk not in ids  # no HV certificate

    def test_the_offered_list_and_the_refusal_agree(self, shop):
        from aftersales.service.services.orders import eligible_technician_ids, technician_refusal

        people = [shop.junior, shop.senior, shop.foreman]
        with frozen(2026, 6, 1, 10, 0):
            hv_certificate(shop.junior, shop.cast.mia, issued=D(2024, 1, 1), expires=D(2030, 1, 1))
            plain = open_order(shop)
            services.estimate_line_add(
                order=plain,
                by=shop.advisor,
                kind="labour",
                description="变速箱",
                standard_hours="3",
                min_grade="senior",
            )
            hv = open_order(shop, vehicle=make_vehicle(shop.customer, by=shop.advisor, plate="沪A77777"))
            hv_line(shop, hv)
            for order, expected in ((plain, {shop.senior.pk, shop.foreman.pk}), (hv, {shop.junior.pk})):
                eligible = eligible_technician_ids(order, [p.pk for p in people])
                assert eligible == expected
                assert {p.pk for p in people if not technician_refusal(order, p)} == expected
