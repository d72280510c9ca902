"""Rights requests (PIPL arts. 44-47): the clock fixed at receipt on China's working-day calendar, the rulebook's
refusals, bad input named per field with nothing written, the identity check before the answer, the answer doing
what the request asks, and the escalation sweep (80 % → store managers, overdue → privacy officers, each once)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from aftersales.config.testing import make_customer, make_user
from aftersales.core.exceptions import ApplicationError
from aftersales.core.models import AuditEntry
from aftersales.customers.models import Consent
from aftersales.customers.services import consent_set
from aftersales.notifications.models import InboxItem
from aftersales.organisation.choices import Role
from aftersales.organisation.models import SettingValue
from aftersales.organisation.rules import Party
from aftersales.privacy import services
from aftersales.privacy.choices import EscalationLevel, IdentityMethod, RequestStatus
from aftersales.privacy.models import RightsRequest
from aftersales.privacy.transitions import rights_request_moves_for

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 10, 10, 0, tzinfo=SH)  # a Tuesday


@pytest.fixture
def officer(cast):
    return make_user("pia", Role.PRIVACY_OFFICER, group=cast.group)


@pytest.fixture
def customer(cast):
    with time_machine.travel(T0 - dt.timedelta(days=1), tick=False):
        return make_customer(cast.store_a, by=cast.alice, name="李四")


def log(cast, customer, *, at=T0, by=None, **fields):
    values = {"kind": "access", "scope": "all", "channel": "desk", "details": ""} | fields
    with time_machine.travel(at, tick=False):
        return services.rights_request_log(store=cast.store_a, customer=customer, by=by or cast.alice, **values)


# ------------------------------------------------------------------------------------------------ the clock


def test_a_request_is_due_at_the_end_of_the_thirtieth_calendar_day(cast, customer):
    r = log(cast, customer)
    assert r.due_at == dt.datetime(2026, 4, 9, 23, 59, 59, tzinfo=SH)
    assert r.status == RequestStatus.RECEIVED and r.number.startswith(f"{cast.store_a.code}-PI-20260310-")
    assert AuditEntry.objects.filter(action="rights_request.log", object_id=str(r.pk)).exists()


def test_vehicle_data_erasure_counts_working_days_across_national_day(cast, customer):
    """Received on Wednesday 30 September 2026, the eve of the National Day week (1-7 October off, Saturday
    10 October a make-up working day): ten working days end on Tuesday 20 October."""
    r = log(cast, customer, at=dt.datetime(2026, 9, 30, 16, 0, tzinfo=SH), kind="erase", scope="vehicle")
    assert r.due_at == dt.datetime(2026, 10, 20, 23, 59, 59, tzinfo=SH)
    # An erasure of everything keeps the 30 calendar days.
    whole = log(cast, customer, at=dt.datetime(2026, 9, 30, 16, 0, tzinfo=SH), kind="erase", scope="all")
    assert whole.due_at == dt.datetime(2026, 10, 30, 23, 59, 59, tzinfo=SH)


def test_the_store_setting_shortens_the_clock_and_it_never_moves_afterwards(cast, customer):
    SettingValue.objects.create(group=cast.group, store=cast.store_a, key="data_request_days", value="15")
    r = log(cast, customer)
    assert r.due_at == dt.datetime(2026, 3, 25, 23, 59, 59, tzinfo=SH)
    SettingValue.objects.filter(key="data_request_days").update(value="30")
    r.refresh_from_db()
    assert r.due_at == dt.datetime(2026, 3, 25, 23, 59, 59, tzinfo=SH)


def test_numbers_run_per_store_and_day(cast, customer):
    first, second = log(cast, customer), log(cast, customer, kind="copy")
    assert first.number.endswith("-0001") and second.number.endswith("-0002")


# ------------------------------------------------------------------------------------------------ who


@pytest.mark.parametrize("persona", ["tom", "dan", "grace"])
def test_technician_driver_and_group_manager_cannot_log(cast, customer, persona):
    with pytest.raises(PermissionDenied):
        log(cast, customer, by=getattr(cast, persona))
    assert not RightsRequest.objects.exists()


def test_an_advisor_logs_but_cannot_check_identity_answer_or_refuse(cast, customer):
    r = log(cast, customer)
    assert {m.name for m in rights_request_moves_for(obj=r, user=cast.alice)} == {"withdraw"}
    with pytest.raises(PermissionDenied):
        services.rights_request_verify_identity(request=r, method="id_document", note="", by=cast.alice)
    with pytest.raises(PermissionDenied):
        services.rights_request_answer(request=r, answer="ok", by=cast.alice)
    with pytest.raises(PermissionDenied):
        services.rights_request_refuse(request=r, reason="no", by=cast.alice)
    r.refresh_from_db()
    assert r.status == RequestStatus.RECEIVED


def test_another_stores_advisor_cannot_log_here(cast, customer):
    with pytest.raises(PermissionDenied):
        log(cast, customer, by=cast.carol)


# ------------------------------------------------------------------------------------------------ bad input


def test_bad_input_names_every_field_and_writes_nothing(cast, customer):
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as caught:
        log(cast, None, kind="delete", scope="car", channel="fax", details=7, at=T0)
    assert set(caught.value.message_dict) == {"customer", "kind", "scope", "channel", "details"}
    with pytest.raises(ValidationError) as caught:
        log(cast, customer, kind="correct", received_at=T0 + dt.timedelta(hours=1))
    assert set(caught.value.message_dict) == {"details", "received_at"}
    with pytest.raises(ValidationError) as caught:  # staff cannot claim the customer's own link
        log(cast, customer, channel="link")
    assert set(caught.value.message_dict) == {"channel"}
    assert not RightsRequest.objects.exists() and AuditEntry.objects.count() == before


# ------------------------------------------------------------------------------------------------ the moves


def test_identity_first_then_the_answer(cast, customer):
    r = log(cast, customer, kind="object", details="不要自动推荐")
    with pytest.raises(ApplicationError) as caught:
        services.rights_request_answer(request=r, answer="已处理", by=cast.mia)
    assert caught.value.extra["code"] == "identity_not_checked"
    with pytest.raises(ValidationError) as bad:
        services.rights_request_verify_identity(request=r, method="looked_honest", note="", by=cast.mia)
    assert set(bad.value.message_dict) == {"method"}
    services.rights_request_verify_identity(request=r, method=IdentityMethod.ID_DOCUMENT, note="尾号1234", by=cast.mia)
    assert r.status == RequestStatus.IN_PROGRESS and r.identity_checked_by == cast.mia
    with pytest.raises(ValidationError) as empty:
        services.rights_request_answer(request=r, answer="  ", by=cast.mia)
    assert set(empty.value.message_dict) == {"answer"}
    services.rights_request_answer(request=r, answer="已关闭个性化推荐", by=cast.mia)
    r.refresh_from_db()
    assert (r.status, r.answered_by, r.answer) == (RequestStatus.DONE, cast.mia, "已关闭个性化推荐")
    assert list(
        AuditEntry.objects.filter(object_id=str(r.pk), action__startswith="rights_request.")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["rights_request.log", "rights_request.verify_identity", "rights_request.answer"]


def test_answering_a_withdrawal_withdraws_every_consent(cast, customer):
    for purpose in ("marketing", "surveys"):
        consent_set(customer=customer, purpose=purpose, granted=True, channel="desk", by=cast.alice)
    r = log(cast, customer, kind="withdraw")
    services.rights_request_verify_identity(request=r, method="call_back", note="", by=cast.mia)
    services.rights_request_answer(request=r, answer="已撤回全部同意", by=cast.mia)
    assert set(Consent.objects.filter(customer=customer).values_list("purpose", "granted")) == {
        ("marketing", False),
        ("surveys", False),
    }


def test_an_erasure_answer_keeps_no_trace_of_the_name(cast, customer):
    name = customer.name
    r = log(cast, customer, kind="erase")
    services.rights_request_verify_identity(request=r, method="id_document", note="", by=cast.mia)
    services.rights_request_answer(request=r, answer=f"已删除{name}的个人信息", by=cast.mia)
    r.refresh_from_db()
    customer.refresh_from_db()
    assert r.status == RequestStatus.DONE and name not in r.answer and name not in customer.name


def test_refusal_needs_the_reason_and_closes_the_clock(cast, customer):
    r = log(cast, customer, kind="erase")
    with pytest.raises(ValidationError) as caught:
        services.rights_request_refuse(request=r, reason="", by=cast.mia)
    assert set(caught.value.message_dict) == {"reason"}
    services.rights_request_refuse(request=r, reason="身份无法核实", by=cast.mia)
    r.refresh_from_db()
    assert r.status == RequestStatus.REFUSED and r.refusal_reason == "身份无法核实"
    with pytest.raises(ApplicationError):
        services.rights_request_withdraw(request=r, by=cast.alice)


def test_the_owner_must_handle_requests_and_is_told(cast, customer, officer):
    r = log(cast, customer)
    with pytest.raises(ValidationError) as caught:
        services.rights_request_assign(request=r, owner=cast.bob, by=cast.mia)  # an advisor does not handle them
    assert set(caught.value.message_dict) == {"owner"}
    services.rights_request_assign(request=r, owner=officer, by=cast.mia)
    r.refresh_from_db()
    assert r.owner == officer
    item = InboxItem.objects.get(recipient=officer, kind="rights_request_assigned")
    assert r.number in item.title_zh_hans and item.url.endswith(f"/privacy/requests/{r.pk}/")


def test_the_customers_link_records_the_identity_check(cast, customer):
    with time_machine.travel(T0, tick=False):
        r = services.rights_request_log(
            store=cast.store_a, customer=customer, kind="copy", channel="link", details="", by=Party.CUSTOMER
        )
    r.refresh_from_db()
    assert r.status == RequestStatus.IN_PROGRESS and r.identity_method == IdentityMethod.SIGNED_LINK
    assert r.logged_by is None and r.identity_checked_by is None


def test_two_handlers_racing_one_wins(cast, customer, officer):
    r = log(cast, customer)
    stale = RightsRequest.objects.get(pk=r.pk)
    services.rights_request_refuse(request=r, reason="重复请求", by=cast.mia)
    with pytest.raises(ApplicationError):
        services.rights_request_verify_identity(request=stale, method="id_document", note="", by=officer)
    assert RightsRequest.objects.get(pk=r.pk).status == RequestStatus.REFUSED


# ------------------------------------------------------------------------------------------------ escalation


def test_escalation_at_80_percent_then_overdue_each_once(cast, customer, officer):
    r = log(cast, customer)  # due 2026-04-09 23:59:59; 80 % of the clock at about 2026-04-03 21:12
    sweep = services.rights_request_escalation_sweep
    with time_machine.travel(dt.datetime(2026, 4, 3, 21, 0, tzinfo=SH), tick=False):
        assert sweep() == services.SweepResult(store=0, group=0)
    with time_machine.travel(dt.datetime(2026, 4, 3, 21, 30, tzinfo=SH), tick=False):
        assert sweep() == services.SweepResult(store=1, group=0)
        assert sweep() == services.SweepResult(store=0, group=0)
    assert InboxItem.objects.filter(recipient=cast.mia, kind="rights_request_due_soon").count() == 1
    assert not InboxItem.objects.filter(recipient=officer).exists()
    with time_machine.travel(dt.datetime(2026, 4, 9, 23, 59, 59, tzinfo=SH), tick=False):
        assert sweep().group == 0  # due at that second: not yet overdue
    with time_machine.travel(dt.datetime(2026, 4, 10, 0, 1, tzinfo=SH), tick=False):
        assert sweep() == services.SweepResult(store=0, group=1)
        assert sweep() == services.SweepResult(store=0, group=0)
    r.refresh_from_db()
    assert r.escalation_level == EscalationLevel.GROUP and r.escalated_store_at and r.escalated_group_at
    assert InboxItem.objects.filter(recipient=officer, kind="rights_request_overdue").count() == 1
    assert not InboxItem.objects.filter(recipient=cast.grace, kind__startswith="rights_request").exists()


def test_answered_requests_are_not_escalated(cast, customer, officer):
    r = log(cast, customer)
    services.rights_request_refuse(request=r, reason="重复请求", by=cast.mia)
    with time_machine.travel(dt.datetime(2026, 5, 1, tzinfo=SH), tick=False):
        assert services.rights_request_escalation_sweep() == services.SweepResult(store=0, group=0)


# ------------------------------------------------------------------------------------------------ the demo


def test_the_demo_seeds_an_overdue_an_answered_and_a_refused_vehicle_erasure(cast, officer):
    import random

    from aftersales.privacy.demo import flush_privacy_requests, seed_privacy_requests

    for i in range(5):
        make_customer(cast.store_a, by=cast.alice, name=f"演示{i}")
    users = {"advisor": cast.alice, "manager": cast.mia, "privacy": officer}
    assert seed_privacy_requests(rng=random.Random(1), stores=[cast.store_a], users=users) == {"rights_requests": 4}
    rows = {r.kind: r for r in RightsRequest.objects.all()}
    assert rows["copy"].due_at < rows["copy"].received_at + dt.timedelta(days=31) and rows["copy"].escalated_group_at
    assert rows["object"].status == RequestStatus.DONE
    assert (rows["erase"].status, rows["erase"].scope) == (RequestStatus.REFUSED, "vehicle")
    assert "维修档案" in rows["erase"].refusal_reason
    flush_privacy_requests()
    assert not RightsRequest.objects.exists()
