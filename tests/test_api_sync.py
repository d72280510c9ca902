"""Sync and look-up (issue 15 item 2): `updated_since`, created/updated ranges and a stable `sort` on every list of
records; `customer` / `vehicle` filters that never reach outside the caller's stores; `/me`, `/staff`, `/bays`,
`/messages`; a customer's history in one bounded call."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftersales.audits import services as audit_services
from aftersales.audits.choices import AuditKind
from aftersales.config.testing import make_customer, make_user
from aftersales.customers import services as customer_services
from aftersales.feedback import services as feedback_services
from aftersales.feedback.models import Complaint, FollowUp, Suggestion
from aftersales.messaging.models import OutboxMessage
from aftersales.messaging.services import message_enqueue
from aftersales.organisation.choices import Role
from tests.test_api_isolation import objects_of_store

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)  # a Tuesday, a working day
OPENAPI = "/api/v1/openapi.json"

# Every list of records and the field of its rows that names the customer (None: the rows do not show it).
LISTS = {
    "/api/v1/customers": "id",
    "/api/v1/vehicles": "customer",
    "/api/v1/appointments": "customer",
    "/api/v1/repair-orders": "customer",
    "/api/v1/complaints": "customer",
    "/api/v1/suggestions": "customer",
    "/api/v1/survey-responses": "customer",
    "/api/v1/follow-ups": "customer",
    "/api/v1/recovery-tasks": None,
    "/api/v1/capas": None,
    "/api/v1/campaigns": None,
    "/api/v1/messages": "customer",
    "/api/v1/audit-checklists": None,
    "/api/v1/audits": None,
    "/api/v1/audit-findings": None,
    "/api/v1/rights-requests": "customer",
}
# Lists with a `customer` filter (the customer list itself is the customer).
CUSTOMER_FILTERED = [
    url
    for url in LISTS
    if url not in ("/api/v1/customers", "/api/v1/capas", "/api/v1/campaigns") and "/audit" not in url
]
VEHICLE_FILTERED = ["/api/v1/appointments", "/api/v1/repair-orders", "/api/v1/complaints", "/api/v1/survey-responses"]


@pytest.fixture
def get(client, api_token):
    """get(user, url, **params) → the response, in English, with the user's token (one token per user)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    tokens = {}

    def call(user, url, **params):
        if user.pk not in tokens:
            tokens[user.pk] = api_token(user)
        return client.get(url, params, **tokens[user.pk])

    return call


def ok(response):
    assert response.status_code == 200, response.content[:500]
    return response.json()


def ids(response):
    return [row["id"] for row in ok(response)["items"]]


@pytest.fixture
def world(cast):
    """A store A world and a store B world made through the real services at T0, with one message each."""
    with time_machine.travel(T0, tick=False):
        a = objects_of_store(cast.store_a, cast.alice, "沪A")
        b = objects_of_store(cast.store_b, cast.carol, "浙A")
        for objects in (a, b):
            customer = objects["customer_id"]
            message_enqueue(
                store=customer.store,
                template="booking_cancelled",
                context={"name": customer.name, "store": "店", "service": "保养", "time": "明天", "phone": "400"},
                customer=customer,
                purpose="service",
            )
            # the survey call closed the follow-up; open it again so that the call queue has a row
            FollowUp.objects.filter(pk=objects["follow_up_id"].pk).update(status="open", closed_at=None)
        # Audits: the group's checklists, and one internal audit of store A submitted with a failed item (a finding).
        quality = make_user("quality-sync", Role.QUALITY, group=cast.group)
        internal = next(
            c for c in audit_services.checklists_install_defaults(group=cast.group) if c.kind == AuditKind.INTERNAL
        )
        items = list(internal.items.order_by("position", "pk"))
        answers = [{"item": item.pk, "result": "pass", "note": ""} for item in items]
        answers[0] = {"item": items[0].pk, "result": "fail", "note": "未执行"}
        audit_services.audit_record(
            by=quality, store=cast.store_a, kind=AuditKind.INTERNAL, checklist=internal, answers=answers
        )
    return a, b


# ------------------------------------------------------------------------------------------ the parameters


def test_every_paginated_list_of_records_takes_the_sync_parameters(client):
    document = json.loads(client.get(OPENAPI).content)
    paginated = {
        path
        for path, item in document["paths"].items()
        if "get" in item and {"limit", "offset"} <= {p["name"] for p in item["get"].get("parameters", [])}
    }
    # Not records to sync: the staff and bay directories, an integrator's own webhook subscriptions.
    exempt = {"/api/v1/staff", "/api/v1/bays", "/api/v1/webhooks", "/api/v1/webhooks/{webhook_id}/deliveries"}
    assert set(LISTS) == paginated - exempt
    for path in paginated - exempt:
        names = {p["name"] for p in document["paths"][path]["get"]["parameters"]}
        assert {"updated_since", "created_from", "created_to", "updated_from", "updated_to", "sort"} <= names, path
        sort = next(p for p in document["paths"][path]["get"]["parameters"] if p["name"] == "sort")
        assert "id" in json.dumps(sort["schema"]) and "-updated_at" in json.dumps(sort["schema"])


@pytest.mark.parametrize("url", list(LISTS))
def test_each_list_filters_by_the_ranges_and_sorts_by_id(get, cast, world, url):
    mia = cast.mia  # the manager reads every list, campaigns included
    everything = ids(get(mia, url))
    assert everything, url  # the world has rows in every list, or the checks below prove nothing
    assert ids(get(mia, url, updated_since="2035-01-01T00:00:00+08:00")) == []
    assert ids(get(mia, url, created_to=T0.isoformat())) == []  # exclusive: everything was made at T0
    assert sorted(ids(get(mia, url, created_from=T0.isoformat()))) == sorted(everything)
    assert sorted(ids(get(mia, url, updated_from=T0.isoformat(), updated_to="2035-01-01T00:00:00"))) == sorted(
        everything
    )
    assert ids(get(mia, url, sort="id")) == sorted(everything)
    assert ids(get(mia, url, sort="-id")) == sorted(everything, reverse=True)


@pytest.mark.parametrize("url", ["/api/v1/customers", "/api/v1/complaints", "/api/v1/messages"])
@pytest.mark.parametrize("prefix", ["created", "updated"])
def test_a_range_whose_start_is_after_its_end_is_422_naming_the_start(get, cast, url, prefix):
    response = get(
        cast.alice, url, **{f"{prefix}_from": "2026-03-10T12:00:00+08:00", f"{prefix}_to": "2026-03-10T11:00:00+08:00"}
    )
    assert response.status_code == 422, response.content
    assert set(response.json()["errors"]) == {f"{prefix}_from"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "name"}, "sort"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"updated_since": "9999-12-31T10:00:00+00:00"}, "updated_since"),
        ({"created_from": "0001-01-01T00:00:00"}, "created_from"),
        ({"customer": 2**70}, "customer"),
    ],
)
def test_bad_sync_parameters_are_422_naming_them(get, cast, params, field):
    response = get(cast.alice, "/api/v1/appointments", **params)
    assert response.status_code == 422, response.content
    assert set(response.json()["errors"]) == {field}


def test_updated_since_returns_only_rows_changed_at_or_after_it(get, cast, world):
    a, _b = world
    customer, complaint = a["customer_id"], a["complaint_id"]
    t1 = T0 + dt.timedelta(hours=2)
    with time_machine.travel(t1, tick=False):
        customer_services.customer_update(customer=customer, by=cast.alice, name="李四")
        feedback_services.complaint_acknowledge(complaint=complaint, by=cast.alice)
    alice = cast.alice
    for since in (t1.isoformat(), "2026-03-10T12:00:00", "2026-03-10T04:00:00Z"):  # offset, naive = +08:00, UTC
        assert ids(get(alice, "/api/v1/customers", updated_since=since)) == [customer.pk], since
        assert ids(get(alice, "/api/v1/complaints", updated_since=since)) == [complaint.pk], since
        assert ids(get(alice, "/api/v1/suggestions", updated_since=since)) == [], since
    # inclusive: a row changed at that very instant comes (again); a moment later it does not
    later = (t1 + dt.timedelta(microseconds=1)).isoformat()
    assert ids(get(alice, "/api/v1/customers", updated_since=later)) == []
    # the ranges: created before t1, changed at t1
    assert customer.pk in ids(get(alice, "/api/v1/customers", created_to=t1.isoformat()))
    assert ids(get(alice, "/api/v1/customers", updated_from=T0.isoformat(), updated_to=t1.isoformat())) == ids(
        get(alice, "/api/v1/customers", updated_to=t1.isoformat())
    )
    assert customer.pk not in ids(get(alice, "/api/v1/customers", updated_to=t1.isoformat()))


def test_created_ranges_include_the_start_and_exclude_the_end(get, cast):
    made = []
    for hour in range(3):
        with time_machine.travel(T0 + dt.timedelta(hours=hour), tick=False):
            made.append(make_customer(cast.store_a, by=cast.alice, name=f"客户{hour}").pk)
    start, end = (T0 + dt.timedelta(hours=1)).isoformat(), (T0 + dt.timedelta(hours=2)).isoformat()
    assert ids(get(cast.alice, "/api/v1/customers", created_from=start, created_to=end)) == [made[1]]
    assert ids(get(cast.alice, "/api/v1/customers", created_from=start, sort="created_at")) == made[1:]
    assert ids(get(cast.alice, "/api/v1/customers", created_from=start, created_to=start)) == []  # empty, no error


@pytest.mark.parametrize("sort", ["id", "-id", "created_at", "-created_at", "updated_at", "-updated_at", None])
def test_the_order_is_stable_across_pages_when_times_are_equal(get, cast, sort):
    with time_machine.travel(T0, tick=False):  # every row has the same created_at and updated_at
        made = [make_customer(cast.store_a, by=cast.alice, name=f"同时{i}").pk for i in range(7)]
    params = {"sort": sort} if sort else {}
    pages = [ids(get(cast.alice, "/api/v1/customers", limit=3, offset=offset, **params)) for offset in (0, 3, 6)]
    seen = [pk for page in pages for pk in page]
    descending = sort is None or sort.startswith("-")  # the customer list's usual order is newest first
    assert seen == sorted(made, reverse=descending)


# ------------------------------------------------------------------------------------ customer / vehicle


@pytest.mark.parametrize("url", CUSTOMER_FILTERED)
def test_the_customer_filter_narrows_to_that_customer_and_never_reaches_another_store(get, cast, world, url):
    a, b = world
    field = LISTS[url]
    mine = get(cast.alice, url, customer=a["customer_id"].pk)
    rows = ok(mine)["items"]
    assert rows, url  # the world has a row of this kind for the customer
    if field:
        assert {row[field] for row in rows} == {a["customer_id"].pk}
    # store B's customer: store B's staff see rows, store A's staff an empty list, exactly like an unknown id
    assert ok(get(cast.carol, url, customer=b["customer_id"].pk))["count"] >= 1
    assert ok(get(cast.alice, url, customer=b["customer_id"].pk)) == {"items": [], "count": 0}
    assert ok(get(cast.alice, url, customer=10**9)) == {"items": [], "count": 0}


@pytest.mark.parametrize("url", VEHICLE_FILTERED)
def test_the_vehicle_filter_stays_inside_the_callers_stores(get, cast, world, url):
    a, b = world
    for vehicle in (a["vehicle_id"], a["order_id"].vehicle):
        rows = ok(get(cast.alice, url, vehicle=vehicle.pk))["items"]
        if "vehicle" in (rows[0] if rows else {}):
            assert {row["vehicle"] for row in rows} == {vehicle.pk}
    assert ok(get(cast.alice, url, vehicle=b["vehicle_id"].pk))["count"] == 0
    assert ok(get(cast.alice, url, vehicle=b["order_id"].vehicle.pk))["count"] == 0


def test_appointments_and_orders_of_one_vehicle(get, cast, world):
    a, _b = world
    booked = ok(get(cast.alice, "/api/v1/appointments", vehicle=a["vehicle_id"].pk))["items"]
    assert [row["id"] for row in booked] == [a["appointment_id"].pk]
    walk_in = a["order_id"]
    orders = ok(get(cast.alice, "/api/v1/repair-orders", vehicle=walk_in.vehicle_id))["items"]
    assert [row["id"] for row in orders] == [walk_in.pk]
    both = ok(get(cast.alice, "/api/v1/repair-orders", customer=walk_in.customer_id, vehicle=a["vehicle_id"].pk))
    assert both["count"] == 0  # the booked car has no order yet


# ------------------------------------------------------------------------------------------ messages


def test_messages_never_show_the_text_or_the_address_in_clear(get, cast, world):
    a, _b = world
    rows = ok(get(cast.alice, "/api/v1/messages", customer=a["customer_id"].pk))["items"]
    assert rows
    stored = OutboxMessage.objects.get(pk=rows[0]["id"])
    for row in rows:
        assert "body" not in row and "recipient" not in row
        assert "*" in row["recipient_masked"] or row["recipient_masked"] == "-"
        assert stored.recipient not in json.dumps(row, ensure_ascii=False) or not stored.recipient
    assert stored.body not in json.dumps(rows, ensure_ascii=False)


def test_messages_are_read_with_the_feedback_view_only(get, cast, world):
    a, _b = world
    assert ok(get(cast.alice, "/api/v1/messages"))["count"] >= 1
    assert ok(get(cast.tom, "/api/v1/messages"))["count"] == 0  # a technician does not read customer feedback
    assert ok(get(cast.dan, "/api/v1/messages"))["count"] == 0
    stores = {row["store"] for row in ok(get(cast.alice, "/api/v1/messages"))["items"]}
    assert stores == {"SH01"}
    filtered = ok(get(cast.alice, "/api/v1/messages", status="pending", channel="sms", purpose="service"))["items"]
    assert all(row["status"] == "pending" and row["channel"] == "sms" for row in filtered)


# ------------------------------------------------------------------------------------------ /me, /staff, /bays


def test_me_tells_the_roles_and_capabilities_per_store(get, cast):
    me = ok(get(cast.alice, "/api/v1/me"))
    assert (me["id"], me["username"], me["is_superuser"]) == (cast.alice.pk, "alice", False)
    assert [(s["store"], s["roles"]) for s in me["stores"]] == [("SH01", ["advisor"])]
    capabilities = set(me["stores"][0]["capabilities"])
    assert {"view_customers", "book", "receive", "handle_complaints"} <= capabilities
    assert "manage_capa" not in capabilities and "dispatch" not in capabilities

    grace = ok(get(cast.grace, "/api/v1/me"))  # a group-wide role counts in every store of the group
    assert [(s["store"], s["roles"]) for s in grace["stores"]] == [
        ("HZ01", ["group_manager"]),
        ("SH01", ["group_manager"]),
    ]
    assert "reveal_personal" not in grace["stores"][0]["capabilities"]


def test_staff_are_those_of_the_callers_stores(get, cast):
    rows = ok(get(cast.alice, "/api/v1/staff"))["items"]
    people = {(row["username"], row["store"], row["role"]) for row in rows}
    assert {("alice", "SH01", "advisor"), ("tom", "SH01", "technician"), ("grace", None, "group_manager")} <= people
    assert not any(row["username"] in ("carol", "otto") for row in rows)
    technicians = ok(get(cast.alice, "/api/v1/staff", role="technician"))["items"]
    assert {row["username"] for row in technicians} == {"tom"}
    assert all(row["is_active"] for row in rows)
    # another store's code is a 422 naming it, like an unknown one; a driver looks nobody up
    response = get(cast.alice, "/api/v1/staff", store="HZ01")
    assert response.status_code == 422 and set(response.json()["errors"]) == {"store"}
    assert ok(get(cast.dan, "/api/v1/staff"))["count"] == 0
    assert {row["store"] for row in ok(get(cast.carol, "/api/v1/staff"))["items"]} == {"HZ01", None}


def test_staff_filters_deactivated_logins(get, cast):
    leaver = make_user("leaver", Role.ADVISOR, store=cast.store_a)
    leaver.is_active = False
    leaver.save(update_fields=["is_active"])
    inactive = ok(get(cast.alice, "/api/v1/staff", active="false"))["items"]
    assert [row["username"] for row in inactive] == ["leaver"]
    assert "leaver" not in {row["username"] for row in ok(get(cast.alice, "/api/v1/staff", active="true"))["items"]}


def test_bays_are_those_of_the_callers_stores(get, cast, world):
    rows = ok(get(cast.alice, "/api/v1/bays"))["items"]
    assert [(row["store"], row["code"]) for row in rows] == [("SH01", "B1")]
    assert {row["store"] for row in ok(get(cast.grace, "/api/v1/bays"))["items"]} == {"SH01", "HZ01"}
    assert ok(get(cast.dan, "/api/v1/bays"))["count"] == 0
    response = get(cast.alice, "/api/v1/bays", store="HZ01")
    assert response.status_code == 422 and set(response.json()["errors"]) == {"store"}


# ------------------------------------------------------------------------------------------ history


def _history(get, user, customer):
    return get(user, f"/api/v1/customers/{customer.pk}/history")


def test_history_has_every_section_newest_first(get, cast, world):
    a, _b = world
    customer = a["customer_id"]
    history = ok(_history(get, cast.alice, customer))
    assert history["customer"]["id"] == customer.pk and "*" in history["customer"]["phone_masked"]
    assert {v["id"] for v in history["vehicles"]} == set(customer.vehicles.values_list("pk", flat=True))
    assert [row["id"] for row in history["appointments"]] == [a["appointment_id"].pk]
    orders = history["repair_orders"]
    assert {row["id"] for row in orders} == {a["order_id"].pk, a["follow_up_id"].order_id}
    delivered = next(row for row in orders if row["status"] == "delivered")
    assert float(delivered["bill_total"]) == 80.0 and delivered["billed_total"] is not None
    assert history["order_totals"]["visits"] == 2 and history["order_totals"]["delivered"] == 1
    assert [row["id"] for row in history["complaints"]] == [a["complaint_id"].pk]
    assert [row["id"] for row in history["suggestions"]] == [a["suggestion_id"].pk]
    assert [row["id"] for row in history["survey_responses"]] == [a["response_id"].pk]
    assert history["messages"] and all("body" not in m for m in history["messages"])
    arrived = [row["arrived_at"] for row in orders]
    assert arrived == sorted(arrived, reverse=True)


def test_history_withholds_the_sections_a_role_may_not_read(get, cast, world):
    a, _b = world
    customer = a["customer_id"]
    tom = ok(_history(get, cast.tom, customer))  # a technician: customers and service, no feedback
    assert tom["appointments"] is not None and tom["repair_orders"] is not None
    assert tom["complaints"] is None and tom["suggestions"] is None
    assert tom["survey_responses"] is None and tom["messages"] is None
    assert _history(get, cast.dan, customer).status_code == 403  # a driver does not read customers
    for outsider in (cast.carol, cast.otto):  # another store, another group: like a missing customer
        assert _history(get, outsider, customer).status_code == 404
    assert get(cast.alice, "/api/v1/customers/999999999/history").status_code == 404


def test_history_is_bounded_in_rows_and_in_queries(get, cast, world, django_assert_max_num_queries):
    a, _b = world
    customer = a["customer_id"]
    get(cast.alice, "/api/v1/me")  # the token is issued outside the counted request
    with django_assert_max_num_queries(14) as before:  # the token and roles, then one query per section
        small = ok(_history(get, cast.alice, customer))
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        for i in range(52):
            feedback_services.suggestion_log(
                store=cast.store_a, customer=customer, channel="phone", description=f"建议{i}", by=cast.alice
            )
        for i in range(3):
            feedback_services.complaint_log(
                store=cast.store_a,
                customer=customer,
                channel="phone",
                category="waiting",
                priority="general",
                description=f"投诉{i}",
                by=cast.alice,
            )
    with django_assert_max_num_queries(14) as after:
        big = ok(_history(get, cast.alice, customer))
    assert len(after.captured_queries) == len(before.captured_queries)  # 55 more rows, not one more query
    assert len(small["suggestions"]) == 1 and len(big["suggestions"]) == 50
    assert Suggestion.objects.filter(customer=customer).count() == 53
    newest = list(Suggestion.objects.filter(customer=customer).order_by("-received_at", "-id")[:50])
    assert [row["id"] for row in big["suggestions"]] == [s.pk for s in newest]
    assert len(big["complaints"]) == 4 == Complaint.objects.filter(customer=customer).count()
