"""Erasure (PIPL art. 47): afterwards the raw database holds none of the customer's personal values, searched for
in every column of every table, while the store's KPI figures for past months are unchanged; while the law
requires keeping (an open order, complaint or rescue; the repair file's 2 years) it is refused and writes nothing;
only a handler of rights requests in a linked store may erase."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from aftersales.config.testing import make_group, make_store, make_user, shared_rows
from aftersales.core.models import AuditEntry
from aftersales.customers.models import Customer, Vehicle
from aftersales.organisation.choices import Role
from aftersales.privacy.erasure import anonymise_customer, erase_customer, erasure_refusals
from aftersales.privacy.export import customer_export_data
from aftersales.privacy.tests.export_world import NAME, SHANGHAI, World, build_world, personal_values
from aftersales.rescue.choices import RescueStatus
from aftersales.service.choices import RepairOrderStatus

# Well past the repair file's 2 years after the demo's last repair (June 2026).
LATER = dt.datetime(2029, 1, 15, 10, 0, tzinfo=SHANGHAI)
PAST_MONTHS = ("2026-04", "2026-05", "2026-06")


@pytest.fixture(scope="module")
def world_once(django_db_setup, django_db_blocker):
    with shared_rows(django_db_blocker):
        with django_db_blocker.unblock():
            yield build_world()


@pytest.fixture
def world(world_once, db) -> World:
    return world_once


def _finish_everything(customer: Customer) -> None:
    """The customer's orders delivered, complaints closed and rescues completed (as they would be by 2029)."""
    Order = apps.get_model("service", "RepairOrder")
    assert not Order.objects.filter(customer=customer).exclude(status=RepairOrderStatus.DELIVERED).exists()
    apps.get_model("feedback", "Complaint").objects.filter(customer=customer).update(status="closed")
    apps.get_model("rescue", "RescueRequest").objects.filter(customer=customer).update(status=RescueStatus.COMPLETED)


def _kpis(world: World) -> dict[str, object]:
    figures = {}
    for period in PAST_MONTHS:
        for option, code in (("--store", world.store.code), ("--group", world.store.group.code)):
            out = StringIO()
            call_command("kpi", option, code, "--period", period, "--json", stdout=out)
            figures[f"{option} {period}"] = json.loads(out.getvalue())
    return figures


def _search_everywhere(values: dict[str, str]) -> list[str]:
    """Every (table, column, value) of the raw database holding one of the values: text as stored, as JSON with
    ensure_ascii writes it, and as hex (binary columns)."""
    hits = []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns = [c.name for c in connection.introspection.get_table_description(cursor, table)]
            for label, value in values.items():
                forms = {value, json.dumps(value)[1:-1], value.encode().hex()}
                for column in columns:
                    for form in forms:
                        cursor.execute(
                            f"SELECT COUNT(*) FROM {quote(table)} WHERE CAST({quote(column)} AS TEXT) LIKE %s",  # noqa: S608
                            [f"%{form}%"],
                        )
                        if cursor.fetchone()[0]:
                            hits.append(f"{table}.{column} holds the {label}")
    return hits


class ErasureTests:
    def test_after_erasure_no_table_holds_a_personal_value_and_the_kpis_are_unchanged(self, world):
        with time_machine.travel(LATER, tick=False):
            _finish_everything(world.customer)
            # What the trail of the customer's record holds of them (a birthday set at the desk) and the
            # integrator's id for them.
            AuditEntry.objects.create(
                action="customer.update",
                object_type="customers.customer",
                object_id=str(world.customer.pk),
                changes={"birthday": [None, "1899-12-31"]},
            )
            Customer.objects.filter(pk=world.customer.pk).update(external_source="crm", external_ref="CRM-778899")
            values = personal_values(world.customer)
            values["birthday in the trail"] = "1899-12-31"
            values["external reference"] = "CRM-778899"
            assert len(values) >= 10 and world.customer.vehicles.exists()
            assert _search_everywhere(values), "the search finds the values before the erasure"
            before = _kpis(world)
            orders_before = list(
                apps.get_model("service", "RepairOrder")
                .objects.filter(customer=world.customer)
                .values_list("pk", "number", "store_id", "billed_total", "delivered_at", "rating")
            )
            result = erase_customer(customer=world.customer, by=world.officer)
            assert _search_everywhere(values) == []
            assert _kpis(world) == before
        customer = Customer.objects.get(pk=world.customer.pk)
        assert customer.name.endswith(f"#{customer.pk}") and customer.phone == "" and customer.id_number == ""
        assert customer.birthday is None and customer.gender == ""
        assert (
            list(
                apps.get_model("service", "RepairOrder")
                .objects.filter(customer=customer)
                .values_list("pk", "number", "store_id", "billed_total", "delivered_at", "rating")
            )
            == orders_before
        )
        assert not apps.get_model("telematics", "VehicleEvent").objects.filter(vehicle__customer=customer).exists()
        entry = AuditEntry.objects.get(action="customer.erase")
        assert entry.actor == world.officer and entry.changes["customers"] == 1 and result.counts["vehicles"] >= 1
        assert NAME not in json.dumps(entry.changes, ensure_ascii=False)

    def test_two_erased_customers_of_a_group_keep_the_unique_constraints(self, world):
        other = Customer.objects.exclude(pk=world.customer.pk).filter(vehicles__isnull=False).first()
        with time_machine.travel(LATER, tick=False):
            for customer in (world.customer, other):
                anonymise_customer(customer)
        vins = list(Vehicle.objects.filter(customer__in=[world.customer, other]).values_list("vin", flat=True))
        assert len(vins) == len(set(vins)) and all(vin.startswith("ERASED") for vin in vins)

    def test_vehicle_scope_erases_only_the_cars_data(self, world):
        vins = set(world.customer.vehicles.values_list("vin", flat=True))
        with time_machine.travel(LATER, tick=False):
            _finish_everything(world.customer)
            erase_customer(customer=world.customer, by=world.officer, scope="vehicle")
            hits = _search_everywhere({f"vin {n}": vin for n, vin in enumerate(vins)})
        assert hits == []
        customer = Customer.objects.get(pk=world.customer.pk)
        assert customer.name == NAME and customer.phone
        assert not apps.get_model("telematics", "OdometerDay").objects.filter(vehicle__customer=customer).exists()


class RefusalTests:
    def _snapshot(self, customer: Customer) -> tuple[object, int]:
        data = customer_export_data(customer)
        data.pop("exported_at")
        return data, AuditEntry.objects.count()

    def test_the_repair_file_is_kept_two_years_and_the_refusal_names_the_date(self, world):
        Order = apps.get_model("service", "RepairOrder")
        _finish_everything(world.customer)
        last = Order.objects.filter(customer=world.customer).order_by("-delivered_at").first()
        when = last.delivered_at + dt.timedelta(days=10)
        with time_machine.travel(when, tick=False):
            reasons = erasure_refusals(world.customer)
            assert len(reasons) == 1
            assert "维修档案" in reasons[0] and "PIPL art. 47 para. 2" in reasons[0] and last.number in reasons[0]
            assert (
                last.delivered_at.astimezone(SHANGHAI).date().replace(year=last.delivered_at.year + 2)
            ).isoformat() in reasons[0]
            before = self._snapshot(world.customer)
            with pytest.raises(ValidationError) as refused:
                erase_customer(customer=world.customer, by=world.officer)
            assert refused.value.message_dict["customer"] == reasons
            assert self._snapshot(world.customer) == before
        with time_machine.travel(last.delivered_at + dt.timedelta(days=2 * 366), tick=False):
            assert erasure_refusals(world.customer) == []

    def test_an_open_order_complaint_or_rescue_refuses_and_nothing_is_written(self, world):
        with time_machine.travel(LATER, tick=False):
            _finish_everything(world.customer)
            order = apps.get_model("service", "RepairOrder").objects.filter(customer=world.customer).first()
            apps.get_model("service", "RepairOrder").objects.filter(pk=order.pk).update(
                status=RepairOrderStatus.IN_PROGRESS
            )
            apps.get_model("feedback", "Complaint").objects.filter(customer=world.customer).update(status="new")
            apps.get_model("rescue", "RescueRequest").objects.filter(customer=world.customer).update(
                status=RescueStatus.DISPATCHED
            )
            reasons = erasure_refusals(world.customer)
            assert any(order.number in r and "PIPL art. 13(2)" in r for r in reasons)
            assert any(r.startswith("Complaint #") for r in reasons) and any(
                r.startswith("Rescue request") for r in reasons
            )
            before = self._snapshot(world.customer)
            for scope in ("all", "vehicle"):
                with pytest.raises(ValidationError):
                    erase_customer(customer=world.customer, by=world.officer, scope=scope)
            assert self._snapshot(world.customer) == before

    def test_a_request_not_yet_in_progress_cannot_carry_an_erasure(self, world):
        from aftersales.privacy.choices import RequestChannel, RequestKind
        from aftersales.privacy.models import RightsRequest

        with time_machine.travel(LATER, tick=False):
            _finish_everything(world.customer)
            request = RightsRequest.objects.create(
                store=world.store,
                customer=world.customer,
                number="PR-ERASE-1",
                kind=RequestKind.ERASE,
                channel=RequestChannel.DESK,
                received_at=LATER,
                due_at=LATER,
            )
            before = self._snapshot(world.customer)
            with pytest.raises(ValidationError) as refused:
                erase_customer(customer=world.customer, by=world.officer, rights_request=request)
            assert "rights_request" in refused.value.message_dict
            assert self._snapshot(world.customer) == before

    def test_a_cancelled_order_is_not_a_service_still_performed(self, world):
        with time_machine.travel(LATER, tick=False):
            _finish_everything(world.customer)
            order = apps.get_model("service", "RepairOrder").objects.filter(customer=world.customer).first()
            apps.get_model("service", "RepairOrder").objects.filter(pk=order.pk).update(
                status=RepairOrderStatus.CANCELLED
            )
            assert not any(order.number in r for r in erasure_refusals(world.customer))

    def test_only_a_handler_of_rights_requests_of_a_linked_store_may_erase(self, world):
        advisor = make_user("adv_erase", Role.ADVISOR, store=world.store)
        other_group = make_group("gy", "别的集团")
        make_store(other_group, "YY01")
        stranger = make_user("privacy_other2", Role.PRIVACY_OFFICER, group=other_group)
        with time_machine.travel(LATER, tick=False):
            _finish_everything(world.customer)
            for user in (advisor, stranger):
                with pytest.raises(PermissionDenied):
                    erase_customer(customer=world.customer, by=user)
        assert Customer.objects.get(pk=world.customer.pk).name == NAME
        assert not AuditEntry.objects.filter(action="customer.erase").exists()


class ErasurePageTests:
    def test_the_page_shows_the_reasons_then_erases_after_the_name_is_typed(self, world, client):
        client.force_login(world.officer)
        url = reverse("privacy:customer-erase", args=[world.customer.pk])
        _finish_everything(world.customer)
        response = client.get(url)
        assert (
            response.status_code == 200
            and "维修档案" in response.content.decode()
            and b"erase-form" not in response.content
        )
        with time_machine.travel(LATER, tick=False):
            client.force_login(world.officer)  # the session of 2026 has expired by 2029
            response = client.get(url)
            assert b'id="erase-form"' in response.content
            response = client.post(url, {"confirm_name": "别人", "scope": "all"})
            assert response.status_code == 422
            assert Customer.objects.get(pk=world.customer.pk).name == NAME
            response = client.post(url, {"confirm_name": NAME, "scope": "all"})
            assert response.status_code == 200 and b'id="erase-done"' in response.content
        assert Customer.objects.get(pk=world.customer.pk).phone == ""

    def test_someone_who_may_not_erase_gets_404(self, world, client):
        client.force_login(make_user("adv_erase2", Role.ADVISOR, store=world.store))
        response = client.post(reverse("privacy:customer-erase", args=[world.customer.pk]), {"confirm_name": NAME})
        assert response.status_code == 404
        assert Customer.objects.get(pk=world.customer.pk).name == NAME
