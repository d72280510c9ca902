"""A customer's export (PIPL art. 45): every personal field of the data inventory is in the JSON, the PDF is in
Chinese and readable, only a handler of rights requests in a linked store may export, and the export is audited."""

from __future__ import annotations

import io
import json

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from aftersales.config.testing import make_group, make_store, make_user, shared_rows
from aftersales.core.models import AuditEntry
from aftersales.customers.inventory import INVENTORY
from aftersales.customers.services import customer_reveal
from aftersales.organisation.choices import Role
from aftersales.privacy.choices import RequestChannel, RequestKind
from aftersales.privacy.export import customer_export_data, export_customer
from aftersales.privacy.models import RightsRequest
from aftersales.privacy.tests.export_world import ADDRESS, ID_NUMBER, NAME, PHONE, World, build_world


@pytest.fixture(scope="module")
def world_once(django_db_setup, django_db_blocker):
    with shared_rows(django_db_blocker):
        with django_db_blocker.unblock():
            yield build_world()


@pytest.fixture
def world(world_once, db) -> World:
    return world_once


def _key(field: str) -> str:
    return field.removesuffix("_encrypted")


class ExportCompletenessTests:
    def test_every_personal_field_of_the_inventory_is_in_the_export_with_the_customers_value(self, world):
        records = customer_export_data(world.customer)["records"]
        missing = []
        for item in INVENTORY:
            rows = records.get(item.model, [])
            if not any(row.get(_key(item.field)) not in (None, "", [], {}) for row in rows):
                missing.append(f"{item.model}.{item.field}")
        assert not missing, f"the export lacks: {missing}"

    def test_encrypted_values_are_decrypted_and_nothing_is_masked(self, world):
        data = customer_export_data(world.customer)
        profile = data["records"]["customers.Customer"][0]
        assert profile["name"] == NAME and profile["phone"] == PHONE
        assert profile["id_number"] == ID_NUMBER and profile["address"] == ADDRESS
        json.dumps(data)  # JSON-able as it is

    def test_the_sections_hold_only_the_customers_rows(self, world):
        records = customer_export_data(world.customer)["records"]
        assert {row["customer"] for row in records["service.RepairOrder"]} == {world.customer.pk}
        vehicles = {row["id"] for row in records["customers.Vehicle"]}
        assert {row["vehicle"] for row in records["telematics.VehicleEvent"]} <= vehicles
        Order = apps.get_model("service", "RepairOrder")
        assert len(records["service.RepairOrder"]) == Order.objects.filter(customer=world.customer).count()

    def test_another_customers_cached_answer_is_not_theirs_even_when_the_name_contains_theirs(self, world):
        from aftersales.core import clock

        other = apps.get_model("core", "IdempotencyRecord").objects.create(
            scope_hash="c" * 64,
            key="k-other",
            request_hash="d" * 64,
            path="/api/v1/customers",
            started_at=clock.now(),
            completed_at=clock.now(),
            status_code=201,
            content_type="application/json",
            response_body=json.dumps({"id": world.customer.pk + 100000, "name": NAME + "华"}, ensure_ascii=False),
        )
        rows = customer_export_data(world.customer)["records"]["core.IdempotencyRecord"]
        assert rows and other.pk not in {row["id"] for row in rows}

    def test_secrets_that_open_links_are_not_exported(self, world):
        text = json.dumps(customer_export_data(world.customer), ensure_ascii=False)
        assert "link_nonce" not in text and "link_token" not in text and "request_hash" not in text

    def test_the_unmasking_log_and_the_consent_history_are_in(self, world):
        advisor = make_user("adv_export", Role.ADVISOR, store=world.store)
        customer_reveal(customer=world.customer, field="phone", by=advisor)
        records = customer_export_data(world.customer)["records"]
        assert [row["action"] for row in records["core.AuditEntry"]] == ["customer.reveal"]
        assert records["customers.ConsentEvent"], "the consent history"


class ExportServiceTests:
    def test_the_officer_gets_json_and_a_chinese_pdf_and_the_export_is_audited(self, world):
        from pypdf import PdfReader

        export = export_customer(customer=world.customer, by=world.officer, language="zh-hans")
        assert json.loads(export.json_bytes)["customer_id"] == world.customer.pk
        assert export.pdf_bytes.startswith(b"%PDF")
        reader = PdfReader(io.BytesIO(export.pdf_bytes))
        assert len(reader.pages) >= 2
        text = "".join(page.extract_text() for page in reader.pages)
        assert NAME in text and PHONE in text and ID_NUMBER in text  # their own data: nothing masked
        assert "车辆" in text and "工单" in text  # the headings in Chinese
        entry = AuditEntry.objects.get(action="customer.export")
        assert entry.actor == world.officer and entry.object_id == str(world.customer.pk)
        assert PHONE not in json.dumps(entry.changes) and NAME not in json.dumps(entry.changes, ensure_ascii=False)
        assert export.filename_stem.startswith(f"customer-{world.customer.pk}-")

    def test_an_advisor_and_another_groups_officer_may_not_export(self, world):
        advisor = make_user("adv_export2", Role.ADVISOR, store=world.store)
        other_group = make_group("gx", "别的集团")
        make_store(other_group, "XX01")
        stranger = make_user("privacy_other", Role.PRIVACY_OFFICER, group=other_group)
        for user in (advisor, stranger):
            with pytest.raises(PermissionDenied):
                export_customer(customer=world.customer, by=user, language="zh-hans")
        assert not AuditEntry.objects.filter(action="customer.export").exists()


class ExportPageTests:
    def test_the_json_and_pdf_by_customer_and_by_request(self, world, client):
        client.force_login(world.officer)
        response = client.get(reverse("privacy:customer-export-json", args=[world.customer.pk]))
        assert response.status_code == 200
        assert json.loads(response.content)["records"]["customers.Customer"][0]["name"] == NAME
        assert "attachment" in response["Content-Disposition"]
        request = RightsRequest.objects.create(
            store=world.store,
            customer=world.customer,
            number="PR-TEST-1",
            kind=RequestKind.COPY,
            channel=RequestChannel.DESK,
            received_at=world.customer.created_at,
            due_at=world.customer.created_at,
        )
        # Not before the customer's identity is checked on the request: back to the request, nothing exported.
        response = client.get(reverse("privacy:export-pdf", args=[request.pk]))
        assert response.status_code == 302
        assert response["Location"] == reverse("privacy:request-detail", args=[request.pk])
        assert not AuditEntry.objects.filter(action="customer.export", changes__rights_request=request.pk).exists()
        RightsRequest.objects.filter(pk=request.pk).update(
            identity_method="id_document", identity_checked_at=world.customer.created_at
        )
        response = client.get(reverse("privacy:export-pdf", args=[request.pk]))
        assert response.status_code == 200 and response.content.startswith(b"%PDF")
        assert AuditEntry.objects.filter(action="customer.export", changes__rights_request=request.pk).exists()

    def test_someone_who_may_not_export_gets_404(self, world, client):
        client.force_login(make_user("adv_export3", Role.ADVISOR, store=world.store))
        response = client.get(reverse("privacy:customer-export-json", args=[world.customer.pk]))
        assert response.status_code == 404
        response = client.get(reverse("privacy:customer-export-pdf", args=[world.customer.pk]))
        assert response.status_code == 404
