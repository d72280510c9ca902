"""The sweep queues one record per settled order (idempotent, only settled, only recent), the record's fields
(`GET /api/v1/repair-orders/{id}/ehr-record`, public contract), a store without an endpoint, and on PostgreSQL two
workers that deliver at the same moment send each record once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections

from aftersales.config.testing import make_user
from aftersales.core import clock
from aftersales.ehr import services
from aftersales.ehr.models import EhrSubmission
from aftersales.ehr.tests.conftest import endpoint_for, settled_order
from aftersales.organisation.choices import Role
from aftersales.service.choices import RepairOrderStatus

pytestmark = pytest.mark.django_db


class SweepTests:
    def test_one_submission_per_settled_order_and_a_rerun_queues_nothing(self, cast):
        settled = settled_order(cast.store_a, by=cast.alice)
        other_store = settled_order(cast.store_b, by=cast.carol)
        settled_order(cast.store_a, by=cast.alice, status=RepairOrderStatus.READY)  # not handed over yet
        settled_order(cast.store_a, by=cast.alice, status=RepairOrderStatus.CANCELLED)
        assert services.ehr_sweep() == 2
        assert services.ehr_sweep() == 0
        assert set(EhrSubmission.objects.values_list("order_id", "status")) == {
            (settled.pk, "pending"),
            (other_store.pk, "pending"),
        }
        assert EhrSubmission.objects.get(order=settled).store_id == cast.store_a.pk

    def test_orders_settled_before_the_backfill_window_are_left_alone(self, cast):
        settled_order(cast.store_a, by=cast.alice, delivered=clock.now() - dt.timedelta(days=30))
        recent = settled_order(cast.store_a, by=cast.alice, delivered=clock.now() - dt.timedelta(days=3))
        assert services.ehr_sweep() == 1
        assert EhrSubmission.objects.get().order_id == recent.pk

    def test_the_record_snapshot_has_the_jtt_1132_fields(self, cast):
        order = settled_order(cast.store_a, by=cast.alice)
        services.ehr_sweep()
        record = EhrSubmission.objects.get(order=order).record
        assert record == {
            "settlement_number": order.number,
            "plate": order.vehicle.plate,
            "vin": order.vehicle.vin,
            "company_code": "",
            "company_name": cast.store_a.name,
            "repair_date": order.arrived_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat(),
            "mileage_km": 23456,
            "fault_description": "发动机故障灯亮，怠速抖动",
            "settlement_date": order.delivered_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat(),
            "parts": [
                {"code": "15400-RTA-003", "name": "机油滤清器", "quantity": "1"},
                {"code": "08232-P99-K1LHE", "name": "全合成机油 5W-30", "quantity": "4.5"},
            ],
            "repair_items": [{"name": "更换机油机滤", "hours": "0.8"}],
        }

    def test_without_an_endpoint_nothing_is_tried_and_the_reason_says_so(self, cast):
        settled_order(cast.store_a, by=cast.alice)
        services.ehr_sweep()
        assert services.ehr_deliver_due() == 0
        row = EhrSubmission.objects.get()
        assert (row.status, row.attempts, row.reason) == ("pending", 0, services.NO_ENDPOINT)
        assert row.next_attempt_at > clock.now()


class RecordApiTests:
    URL = "/api/v1/repair-orders/{}/ehr-record"

    def test_the_record_of_a_settled_order(self, client, cast, api_token, platform_server):
        endpoint_for(platform_server, cast.store_a)
        order = settled_order(cast.store_a, by=cast.alice)
        response = client.get(self.URL.format(order.pk), **api_token(cast.mia))
        assert response.status_code == 200
        body = response.json()
        assert body["settled"] is True and body["submission"] is None
        assert body["settlement_number"] == order.number and body["plate"] == order.vehicle.plate
        assert body["company_code"] == "310115001" and body["mileage_km"] == 23456
        assert body["parts"][1] == {"code": "08232-P99-K1LHE", "name": "全合成机油 5W-30", "quantity": "4.5"}
        assert body["repair_items"] == [{"name": "更换机油机滤", "hours": "0.8"}]
        services.ehr_sweep()
        services.ehr_deliver_due()
        submission = client.get(self.URL.format(order.pk), **api_token(cast.mia)).json()["submission"]
        assert submission["status"] == "accepted" and submission["remote_id"] == "R1001"
        assert submission["attempts"] == 1

    def test_another_stores_order_is_not_found(self, client, cast, api_token):
        order = settled_order(cast.store_b, by=cast.carol)
        assert client.get(self.URL.format(order.pk), **api_token(cast.alice)).status_code == 404
        assert client.get(self.URL.format(order.pk), **api_token(cast.otto)).status_code == 404

    def test_a_role_without_the_plate_right_sees_it_masked(self, client, cast, api_token):
        order = settled_order(cast.store_a, by=cast.alice)
        grace = client.get(self.URL.format(order.pk), **api_token(cast.grace)).json()  # group manager: masked data
        assert grace["plate"] != order.vehicle.plate and "***" in grace["plate"]

    def test_a_driver_may_not_read_records(self, client, cast, api_token):
        order = settled_order(cast.store_a, by=cast.alice)
        assert client.get(self.URL.format(order.pk), **api_token(cast.dan)).status_code in (403, 404)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row claims race only on a real server")
def test_two_workers_at_once_send_each_record_once(platform_server):
    from aftersales.config.testing import make_cast

    cast = make_cast()
    make_user("mgr", Role.MANAGER, store=cast.store_a)
    orders = [settled_order(cast.store_a, by=cast.alice) for _ in range(6)]
    endpoint_for(platform_server, cast.store_a)
    services.ehr_sweep()
    barrier = threading.Barrier(2)
    results: list[int] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(services.ehr_deliver_due())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == len(orders)
    sent = [body["costlistcode"] for _p, _t, body in platform_server.platform.record_calls]
    assert sorted(sent) == sorted(order.number for order in orders)  # each once, none twice
    assert set(EhrSubmission.objects.values_list("status", flat=True)) == {"accepted"}


def test_the_periodic_task_queues_and_uploads(cast, platform_server):
    from aftersales.ehr.tasks import ehr_sweep

    endpoint_for(platform_server, cast.store_a)
    settled_order(cast.store_a, by=cast.alice)
    assert ehr_sweep.call_local() == {"queued": 1, "accepted": 1}
    assert ehr_sweep.call_local() == {"queued": 0, "accepted": 0}


def test_without_the_customers_words_the_fault_is_the_concern_category_in_chinese(cast):
    from aftersales.ehr.record import order_record
    from aftersales.service.models import ConcernCategory, RepairOrder

    category = ConcernCategory.objects.create(code="ehr-brakes", name_zh_hans="制动系统", name_en="Brakes")
    order = settled_order(cast.store_a, by=cast.alice)
    RepairOrder.objects.filter(pk=order.pk).update(customer_words="", concern_category=category)
    order.refresh_from_db()
    assert order_record(order)["fault_description"] == "制动系统"
