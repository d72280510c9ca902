# ruff: noqa: F811 - pytest fixtures (`shop`) are imported and named as parameters
"""The audit trail as people read it: one record's history with readable names and before → after values, store
isolation, the auditor's CSV/XLSX export (parsed back) and its own audit entry, bounded queries."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales.config.testing import make_customer, make_user
from aftersales.core.models import AuditEntry
from aftersales.crm.models import TierChange
from aftersales.customers import services as customer_services
from aftersales.feedback import services as feedback_services
from aftersales.organisation.choices import Role
from aftersales.organisation.services import settings_update
from aftersales.organisation.settings_catalogue import BY_KEY
from aftersales.service import services
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.tests.conftest import (  # noqa: F401 - fixtures used by these tests
    console_outbox,
    inspect,
    media_root,
    open_order,
    shop,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english_pages(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


KEY = "complaint_acknowledge_hours"


def history_url(object_type: str, object_id: object) -> str:
    return reverse("organisation:audit-record", args=[object_type, str(object_id)])


def history(client, user, object_type: str, object_id: object):
    client.force_login(user)
    response = client.get(history_url(object_type, object_id))
    assert response.status_code == 200
    return response


def changes_of(response, action_words: str) -> list[tuple[str, str, str, bool]]:
    """(field, before, after, has_before) of the rows whose action reads `action_words`."""
    return [
        (c.label, c.before, c.after, c.has_before)
        for row in response.context["rows"]
        if row.action == action_words
        for c in row.changes
    ]


def order_worked_on_by_two(shop, lines: int = 1):
    """Alice (advisor) opens, inspects and writes `lines` estimate lines; Fred (foreman) assigns Sam to bay B01;
    Alice cancels it."""
    order = open_order(shop)
    inspect(shop, order, mileage=12500)
    for index in range(lines):
        services.estimate_line_add(
            order=order, by=shop.advisor, kind="labour", description=f"工时{index}", standard_hours="1.0"
        )
    services.repair_order_assign(order=order, by=shop.foreman, technician=shop.senior, bay=shop.bay_1)
    services.repair_order_transition(order=order, to=S.CANCELLED, by=shop.advisor, reason="客户改期")
    return order


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())  # the BOM Excel needs to read Chinese
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def read_xlsx(response) -> list[list[str]]:
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return [["" if v is None else str(v) for v in row] for row in book.active.iter_rows(values_only=True)]


class RepairOrderHistoryTests:
    def test_two_people_show_with_their_roles_readable_fields_and_before_after(self, client, shop):
        order = order_worked_on_by_two(shop)
        response = history(client, shop.cast.mia, "service.repairorder", order.pk)
        rows = response.context["rows"]
        people = {(row.actor, row.role) for row in rows}
        assert ("Alice", "Service advisor") in people
        assert ("Fred", "Workshop foreman") in people
        assert ("status", "Reception", "Cancelled", True) in changes_of(response, "Repair order status changed")
        assigned = changes_of(response, "Technician and bay assigned")
        assert ("technician", "", "Sam", False) in assigned
        assert ("bay", "", str(shop.bay_1), False) in assigned
        assert ("mileage at arrival (km)", "", "12500", False) in changes_of(
            response, "Walk-around inspection recorded"
        )
        # newest first
        assert [row.at for row in rows] == sorted((row.at for row in rows), reverse=True)
        html = response.content.decode()
        assert 'Reception</span> → <span class="as-after">Cancelled' in html

    def test_the_list_links_each_row_to_its_record_and_filters_by_type_and_id(self, client, shop):
        order = order_worked_on_by_two(shop)
        other = open_order(shop)
        client.force_login(shop.cast.mia)
        response = client.get(reverse("organisation:audit"), {"type": "service.repairorder", "record": str(order.pk)})
        rows = [item["view"] for item in response.context["rows"]]
        assert rows and {(r.object_type, r.object_id) for r in rows} == {("service.repairorder", str(order.pk))}
        assert history_url("service.repairorder", order.pk) in response.content.decode()
        assert str(other.pk) not in {r.object_id for r in rows}


class OtherRecordsHistoryTests:
    def test_complaint_transfer_shows_the_owners_by_name(self, client, shop):
        complaint = feedback_services.complaint_log(
            store=shop.store,
            customer=shop.customer,
            channel="phone",
            category="waiting",
            priority="general",
            description="等太久",
            by=shop.cast.alice,
        )
        feedback_services.complaint_transfer(complaint=complaint, by=shop.cast.alice, to=shop.cast.bob, reason="休假")
        response = history(client, shop.cast.mia, "feedback.complaint", complaint.pk)
        assert ("owner", "Alice", "Bob", True) in changes_of(response, "Complaint transferred")
        logged = changes_of(response, "Complaint logged")
        assert any(label == "channel" and after == "Phone" for label, _b, after, _h in logged), logged

    def test_store_settings_and_group_defaults(self, client, cast):
        settings_update(group=cast.group, store=cast.store_a, changes={KEY: 6}, by=cast.mia)
        settings_update(group=cast.group, store=None, changes={KEY: 4}, by=cast.grace)
        label = str(BY_KEY[KEY].label)
        store_history = history(client, cast.mia, "organisation.settings", cast.store_a.code)
        assert (label, "2", "6", True) in changes_of(store_history, "Settings changed")
        group_history = history(client, cast.mia, "organisation.settings", cast.group.code)
        assert (label, "2", "4", True) in changes_of(group_history, "Settings changed")
        assert [row.actor for row in group_history.context["rows"]] == ["Grace"]
        # the group's defaults appear in the list of a manager of one of its stores, never to the other group
        client.force_login(cast.mia)
        listed = [
            item["view"]
            for item in client.get(reverse("organisation:audit"), {"type": "organisation.settings"}).context["rows"]
        ]
        assert {r.object_id for r in listed} == {cast.store_a.code, cast.group.code}
        client.force_login(cast.otto)
        assert client.get(history_url("organisation.settings", cast.group.code)).status_code == 404
        assert client.get(history_url("organisation.settings", cast.store_a.code)).status_code == 404

    def test_customer_consents_tiers_and_priority_with_personal_values_masked(self, client, shop):
        customer = shop.customer
        customer_services.consent_set(
            customer=customer, purpose="marketing", granted=True, channel="desk", by=shop.advisor
        )
        customer_services.customer_update(customer=customer, by=shop.advisor, is_priority=True, phone="13900001111")
        TierChange.objects.create(customer=customer, from_tier="", to_tier="A", rule="R≤90 F≥3", as_of="2026-03-01")
        response = history(client, shop.cast.grace, "customers.customer", customer.pk)
        consent = changes_of(response, "Consent given")
        assert ("purpose", "", "Marketing and care offers", False) in consent
        assert any(label == "channel" and after == "Signed at the service desk" for label, _b, after, _h in consent)
        changed = changes_of(response, "Customer changed")
        assert ("priority lane", "no", "yes", True) in changed
        assert any(after == "***" for _l, _b, after, _h in changed)
        assert ("tier", "no tier", "A · loyal", True) in changes_of(response, "Tier changed")
        html = response.content.decode()
        # never a personal value in clear; the plate masked for a group manager, who may not see plates
        assert "13900001111" not in html and "13800138000" not in html
        assert "沪A12345" not in html and "Vehicle added" in html
        assert "沪A12345" in history(client, shop.cast.mia, "customers.customer", customer.pk).content.decode()


class IsolationTests:
    def test_a_record_of_another_store_is_404_and_a_role_without_the_trail_403(self, client, shop):
        order = order_worked_on_by_two(shop)
        manager_b = make_user("mbee", Role.MANAGER, store=shop.cast.store_b)
        customer_a = make_customer(shop.store, by=shop.advisor, name="李四")
        client.force_login(manager_b)
        assert client.get(history_url("service.repairorder", order.pk)).status_code == 404
        assert client.get(history_url("customers.customer", customer_a.pk)).status_code == 404
        assert client.get(history_url("service.repairorder", "not-a-number")).status_code == 404
        assert client.get(history_url("no.such", "1")).status_code == 404
        export = reverse("organisation:audit-record-export", args=["service.repairorder", str(order.pk), "csv"])
        assert client.get(export).status_code == 404
        listed = [item["view"] for item in client.get(reverse("organisation:audit")).context["rows"]]
        assert str(order.pk) not in {r.object_id for r in listed if r.object_type == "service.repairorder"}
        rows = read_csv(client.get(reverse("organisation:audit-export-csv")))
        assert not any(row[6] == str(order.pk) and row[5] == "repair order" for row in rows[1:])
        client.force_login(shop.cast.otto)
        assert client.get(history_url("service.repairorder", order.pk)).status_code == 404
        client.force_login(shop.cast.alice)  # an advisor of the store does not read the trail
        assert client.get(history_url("service.repairorder", order.pk)).status_code == 403


class ExportTests:
    def test_csv_of_a_record_parses_back_with_the_columns_and_is_itself_recorded(self, client, shop):
        order = order_worked_on_by_two(shop)
        client.force_login(shop.cast.mia)
        url = reverse("organisation:audit-record-export", args=["service.repairorder", str(order.pk), "csv"])
        rows = read_csv(client.get(url))
        assert rows[0] == [
            "Time",
            "Who",
            "Role",
            "Store",
            "Action",
            "Record type",
            "Record id",
            "Field",
            "Before",
            "After",
        ]
        assert [
            "Fred",
            "Workshop foreman",
            str(shop.store),
            "Technician and bay assigned",
            "repair order",
            str(order.pk),
            "technician",
            "",
            "Sam",
        ] in [row[1:] for row in rows]
        assert any(row[4] == "Repair order status changed" and row[8:] == ["Reception", "Cancelled"] for row in rows)
        logged = AuditEntry.objects.get(action="audit.export")
        assert logged.actor == shop.cast.mia and logged.store_id == shop.store.pk
        assert logged.changes == {"format": "csv", "record": f"service.repairorder#{order.pk}"}

    def test_xlsx_of_the_filtered_list_parses_back(self, client, shop):
        order = order_worked_on_by_two(shop)
        client.force_login(shop.cast.mia)
        response = client.get(
            reverse("organisation:audit-export-xlsx"), {"type": "service.repairorder", "record": order.pk}
        )
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        rows = read_xlsx(response)
        assert rows[0][0] == "Time" and rows[0][-1] == "After"
        assert {row[6] for row in rows[1:]} == {str(order.pk)}
        assert any(row[1] == "Alice" and row[4] == "Repair order opened" for row in rows[1:])
        assert any(row[7] == "status" and row[8:] == ["Reception", "Cancelled"] for row in rows[1:])
        logged = AuditEntry.objects.get(action="audit.export")
        assert logged.changes == {
            "format": "xlsx",
            "filters": {"type": "service.repairorder", "record": str(order.pk)},
        }

    def test_an_unknown_format_is_404_and_writes_nothing(self, client, shop):
        order = open_order(shop)
        client.force_login(shop.cast.mia)
        url = reverse("organisation:audit-record-export", args=["service.repairorder", str(order.pk), "pdf"])
        assert client.get(url).status_code == 404
        assert not AuditEntry.objects.filter(action="audit.export").exists()


class QueryCountTests:
    def _count(self, client, url, params=None) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, params or {}).status_code == 200
        return len(queries)

    def test_history_and_list_pages_do_not_grow_with_the_entries(self, client, shop):
        small = order_worked_on_by_two(shop, lines=1)
        client.force_login(shop.cast.mia)
        few_history = self._count(client, history_url("service.repairorder", small.pk))
        few_list = self._count(client, reverse("organisation:audit"))
        large = order_worked_on_by_two(shop, lines=8)
        for index in range(6):
            customer_services.consent_set(
                customer=shop.customer, purpose="surveys", granted=index % 2 == 0, channel="phone", by=shop.cast.bob
            )
        assert AuditEntry.objects.filter(object_id=str(large.pk)).count() > 10
        assert self._count(client, history_url("service.repairorder", large.pk)) == few_history
        assert self._count(client, reverse("organisation:audit")) == few_list
        assert few_history <= 25 and few_list <= 25


class HistoryLinkTests:
    def test_record_pages_link_to_their_history_for_those_who_read_the_trail(self, client, shop):
        order = order_worked_on_by_two(shop)
        complaint = feedback_services.complaint_log(
            store=shop.store,
            customer=shop.customer,
            channel="phone",
            category="waiting",
            priority="general",
            description="等太久",
            by=shop.cast.alice,
        )
        pages = {
            reverse("service:order-detail", args=[order.pk]): history_url("service.repairorder", order.pk),
            reverse("feedback:complaint-detail", args=[complaint.pk]): history_url("feedback.complaint", complaint.pk),
            reverse("customers:customer-detail", args=[shop.customer.pk]): history_url(
                "customers.customer", shop.customer.pk
            ),
            f"{reverse('organisation:settings')}?scope=store-{shop.store.pk}": history_url(
                "organisation.settings", shop.store.code
            ),
        }
        client.force_login(shop.cast.mia)
        for page, link in pages.items():
            response = client.get(page)
            assert response.status_code == 200, page
            assert link in response.content.decode(), page
            assert client.get(link).status_code == 200, link
        client.force_login(shop.cast.alice)  # an advisor: the pages, without the link
        for page, link in list(pages.items())[:3]:
            assert link not in client.get(page).content.decode(), page


class ChineseExportTests:
    def test_a_chinese_reader_gets_chinese_headers_and_actions_streamed_with_the_bom(self, client, shop):
        order = order_worked_on_by_two(shop)
        client.force_login(shop.cast.mia)
        response = client.get(
            reverse("organisation:audit-export-csv"),
            {"type": "service.repairorder", "record": order.pk},
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
        assert response.streaming
        rows = read_csv(response)
        assert rows[0][:2] == ["时间", "操作人"]
        assert any(row[1] == "Alice" and row[3] == "上海店 (SH01)" and row[4] == "已开工单" for row in rows[1:]), rows[
            :3
        ]
