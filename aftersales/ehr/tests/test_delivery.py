"""The e-health adapters against a real HTTP server on 127.0.0.1: accepted (remote id kept), rejected with the
platform's reason, an expired token fetched again, a server that is down retried later with the outbox's backoff,
and a batch endpoint answering per record."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from aftersales.core import clock
from aftersales.ehr import services
from aftersales.ehr.choices import AdapterKind
from aftersales.ehr.models import EhrAttempt, EhrEndpoint, EhrSubmission
from aftersales.ehr.tests.conftest import endpoint_for, settled_order
from aftersales.messaging.services import RETRY_BACKOFF_MINUTES

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(cast):
    """Two settled orders of store A, queued by the sweep."""
    orders = [settled_order(cast.store_a, by=cast.alice), settled_order(cast.store_a, by=cast.alice)]
    assert services.ehr_sweep() == 2
    return orders


def status_of(order):
    return EhrSubmission.objects.get(order=order)


class TokenAndRecordTests:
    def test_accepted_records_keep_the_remote_id_and_the_token_is_fetched_once(
        self, cast, platform_server, platform, queued
    ):
        endpoint_for(platform_server, cast.store_a)
        assert services.ehr_deliver_due() == 2
        first, second = (status_of(order) for order in queued)
        assert (first.status, second.status) == ("accepted", "accepted")
        assert {first.remote_id, second.remote_id} == {"R1001", "R1002"}
        assert first.accepted_at is not None and first.attempts == 1
        assert platform.token_calls == 1  # the cached token served the second record
        path, token, body = platform.record_calls[0]
        assert (path, token) == ("/record", "tok-1")
        # The record on the wire: the platforms' field names, the settlement list number is the order number
        assert body["costlistcode"] == queued[0].number
        assert body["vin"] == queued[0].vehicle.vin
        assert body["companycode"] == "310115001"
        assert body["repairmileage"] == "23456"
        assert body["faultdescription"] == "发动机故障灯亮，怠速抖动"
        assert [p["partscode"] for p in body["vehiclepartslist"]] == ["15400-RTA-003", "08232-P99-K1LHE"]
        assert body["vehiclepartslist"][1]["partsquantity"] == "4.5"
        assert body["repairprojectlist"] == [{"repairproject": "更换机油机滤", "workinghours": "0.8"}]
        # a rerun sends nothing more
        assert services.ehr_deliver_due() == 0
        assert len(platform.record_calls) == 2

    def test_a_rejection_keeps_the_platforms_reason_and_is_not_retried(self, cast, platform_server, platform, queued):
        endpoint_for(platform_server, cast.store_a)
        platform.reject_vins[queued[0].vehicle.vin] = "VIN 与车牌不符"
        assert services.ehr_deliver_due() == 1
        rejected = status_of(queued[0])
        assert (rejected.status, rejected.reason, rejected.remote_id) == ("rejected", "VIN 与车牌不符", "")
        assert rejected.next_attempt_at is None
        calls = len(platform.record_calls)
        with time_machine.travel(clock.now() + dt.timedelta(days=1)):
            assert services.ehr_deliver_due() == 0
        assert len(platform.record_calls) == calls
        assert EhrAttempt.objects.filter(submission=rejected, outcome="rejected").count() == 1

    def test_an_expired_token_is_fetched_again_and_the_record_goes(self, cast, platform_server, platform, queued):
        endpoint_for(platform_server, cast.store_a)
        services.ehr_deliver(submission_id=status_of(queued[0]).pk)
        assert platform.token_calls == 1
        platform.expire_tokens()  # the platform forgot the token before its announced expiry
        assert services.ehr_deliver(submission_id=status_of(queued[1]).pk) == "accepted"
        assert platform.token_calls == 2
        tokens = [token for _path, token, _body in platform.record_calls]
        assert tokens == ["tok-1", "tok-1", "tok-2"]  # refused once, then the fresh token
        assert status_of(queued[1]).attempts == 1  # one attempt, not two

    def test_a_token_past_its_expiry_is_not_used(self, cast, platform_server, platform, queued):
        platform.expires_in = 300
        endpoint_for(platform_server, cast.store_a)
        services.ehr_deliver(submission_id=status_of(queued[0]).pk)
        with time_machine.travel(clock.now() + dt.timedelta(seconds=250)):  # inside the 60 s margin
            services.ehr_deliver(submission_id=status_of(queued[1]).pk)
        assert platform.token_calls == 2
        assert [token for _p, token, _b in platform.record_calls] == ["tok-1", "tok-2"]

    def test_the_cached_token_is_stored_encrypted(self, cast, platform_server, platform, queued):
        endpoint = endpoint_for(platform_server, cast.store_a)
        services.ehr_deliver_due()
        endpoint.refresh_from_db()
        assert endpoint.token_encrypted and "tok-1" not in endpoint.token_encrypted
        assert endpoint.token_expires_at is not None

    def test_a_server_that_is_down_is_tried_again_later(self, cast, platform_server, platform, queued):
        endpoint_for(platform_server, cast.store_a)
        platform_server.stop()
        start = clock.now()
        with time_machine.travel(start, tick=False):
            assert services.ehr_deliver_due() == 0
        waiting = status_of(queued[0])
        assert waiting.status == "retrying" and waiting.attempts == 1
        assert waiting.next_attempt_at == start + dt.timedelta(minutes=RETRY_BACKOFF_MINUTES[0])
        assert "token" in waiting.reason  # the token call found nobody
        # not due yet: nothing happens
        with time_machine.travel(start + dt.timedelta(seconds=30), tick=False):
            assert services.ehr_deliver_due() == 0
        assert status_of(queued[0]).attempts == 1
        # the server is back and the wait is over
        platform_server.start()
        with time_machine.travel(start + dt.timedelta(minutes=2)):
            assert services.ehr_deliver_due() == 2
        done = status_of(queued[0])
        assert (done.status, done.attempts, done.reason) == ("accepted", 2, "")

    def test_a_server_error_is_retried_and_the_last_attempt_gives_up(self, cast, platform_server, platform, queued):
        endpoint_for(platform_server, cast.store_a)
        platform.status = 503
        at = clock.now()
        for attempt in range(1, services.MAX_ATTEMPTS + 1):
            with time_machine.travel(at, tick=False):
                services.ehr_deliver(submission_id=status_of(queued[0]).pk)
            row = status_of(queued[0])
            assert row.attempts == attempt
            if attempt < services.MAX_ATTEMPTS:
                assert row.status == "retrying"
                assert row.next_attempt_at == at + dt.timedelta(minutes=RETRY_BACKOFF_MINUTES[attempt - 1])
                at = row.next_attempt_at
        assert row.status == "failed" and "HTTP 503" in row.reason
        assert row.next_attempt_at is None

    def test_a_wrong_secret_is_a_failed_attempt_naming_the_token(self, cast, platform_server, platform, queued):
        endpoint = endpoint_for(platform_server, cast.store_a)
        EhrEndpoint.objects.filter(pk=endpoint.pk).update(client_id="someone-else")
        services.ehr_deliver(submission_id=status_of(queued[0]).pk)
        row = status_of(queued[0])
        assert row.status == "retrying" and row.reason.startswith("token refused: HTTP 401")
        assert platform.record_calls == []


class BatchTests:
    def test_one_call_carries_every_record_and_each_gets_its_answer(self, cast, platform_server, platform, queued):
        endpoint_for(platform_server, cast.store_a, kind=AdapterKind.BATCH)
        platform.reject_vins[queued[1].vehicle.vin] = "维修日期晚于结算日期"
        assert services.ehr_deliver_due() == 1
        assert len(platform.record_calls) == 1
        _path, _token, body = platform.record_calls[0]
        assert body["companycode"] == "310115001" and len(body["records"]) == 2
        accepted, rejected = status_of(queued[0]), status_of(queued[1])
        assert (accepted.status, accepted.remote_id) == ("accepted", "B1001")
        assert (rejected.status, rejected.reason) == ("rejected", "维修日期晚于结算日期")

    def test_batches_follow_the_batch_size_setting(self, cast, platform_server, platform, queued):
        from aftersales.organisation.models import SettingValue

        SettingValue.objects.create(group=cast.group, key="ehr_batch_size", value=1)
        endpoint_for(platform_server, cast.store_a, kind=AdapterKind.BATCH)
        assert services.ehr_deliver_due() == 2
        assert [len(body["records"]) for _p, _t, body in platform.record_calls] == [1, 1]

    def test_an_expired_token_is_fetched_again_for_the_batch(self, cast, platform_server, platform, queued):
        endpoint_for(platform_server, cast.store_a, kind=AdapterKind.BATCH, group_wide=True)
        services.ehr_deliver(submission_id=status_of(queued[0]).pk)
        platform.expire_tokens()
        assert services.ehr_deliver(submission_id=status_of(queued[1]).pk) == "accepted"
        assert platform.token_calls == 2

    def test_a_server_that_is_down_is_tried_again_later(self, cast, platform_server, platform, queued):
        endpoint_for(platform_server, cast.store_a, kind=AdapterKind.BATCH)
        platform_server.stop()
        assert services.ehr_deliver_due() == 0
        assert {status_of(o).status for o in queued} == {"retrying"}
        platform_server.start()
        with time_machine.travel(clock.now() + dt.timedelta(minutes=2)):
            assert services.ehr_deliver_due() == 2
