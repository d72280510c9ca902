"""The management commands: token, seed, demo and customers_rotate_keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import statistics
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from aftersales.config.testing import make_customer, make_vehicle, shared_rows, valid_id_number
from aftersales.customers import crypto
from aftersales.customers.models import Consent, Customer, Vehicle
from aftersales.customers.selectors import customer_search_filter
from aftersales.customers.validators import (
    is_nev_plate,
    normalize_id_number,
    normalize_mobile,
    normalize_plate,
    normalize_vin,
)
from aftersales.messaging.models import WebhookEndpoint
from aftersales.organisation.choices import Role
from aftersales.organisation.demo import DEMO_USERS
from aftersales.organisation.models import ApiToken, DealerGroup, Membership, Store
from aftersales.organisation.services import api_token_authenticate
from aftersales.service import transitions
from aftersales.service.choices import DeferredStatus, EstimateStatus, LineDecision, LineKind, RepairOrderStatus
from aftersales.service.demo import complaint_category
from aftersales.service.models import (
    AdvisorSlotLoad,
    Appointment,
    DeferredWork,
    EstimateLine,
    QualityCheck,
    RepairOrder,
    RepairOrderEvent,
    Slot,
)
from aftersales.service.services.orders import standard_minutes, work_minutes

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 6, 30)
DEMO_USERNAMES = [
    "advisor",
    "technician",
    "agent",
    "parts",
    "driver",
    "manager",
    "group",
    "quality",
    "shopper",
    "privacy",
    "admin",
]
SEED_ARGS = ["--stores", "2", "--customers", "40", "--months", "6", "--today", "2026-06-30", "--no-progress"]


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def seed(*extra: str, seed_value: int = 7) -> str:
    out, _err = run("seed", *SEED_ARGS, "--seed", str(seed_value), *extra)
    return out


def snapshot() -> dict[str, list[tuple]]:
    """The seeded data with database ids replaced by their offset from the first one."""
    customers = list(Customer.objects.select_related("store").order_by("id"))
    first = customers[0].id if customers else 0
    return {
        "stores": list(Store.objects.order_by("id").values_list("code", "name", "phone", "rescue_capacity")),
        "customers": [
            (
                c.id - first,
                c.store.code,
                c.name,
                c.gender,
                c.birthday,
                c.phone,
                c.id_number,
                c.address,
                c.is_priority,
                c.created_at,
            )
            for c in customers
        ],
        "vehicles": [
            (
                v.customer_id - first,
                v.vin,
                v.plate,
                v.brand,
                v.model_name,
                v.powertrain,
                v.purchase_date,
                v.purchase_price,
                v.mileage_km,
                v.mileage_recorded_on,
            )
            for v in Vehicle.objects.order_by("id")
        ],
        "consents": [
            (cust - first, purpose, granted, channel)
            for cust, purpose, granted, channel in Consent.objects.order_by("id").values_list(
                "customer_id", "purpose", "granted", "channel"
            )
        ],
        "staff": list(
            get_user_model()
            .objects.filter(memberships__isnull=False)
            .distinct()
            .order_by("username")
            .values_list("username", "first_name")
        ),
        "slots": list(Slot.objects.order_by("store__code", "start").values_list("store__code", "start", "booked")),
        "appointments": [
            (a.store.code, a.slot.start, a.vehicle.vin, a.service_type, a.channel, a.status, a.pickup, a.created_at)
            for a in Appointment.objects.select_related("store", "slot", "vehicle").order_by("id")
        ],
        "orders": list(
            RepairOrder.objects.order_by("number").values_list(
                "number",
                "status",
                "billed_total",
                "vehicle__vin",
                "service_type",
                "arrived_at",
                "delivered_at",
                "mileage_in",
                "qc_failures",
                "rating",
                "technician__username",
                "link_nonce",
            )
        ),
        "events": list(
            RepairOrderEvent.objects.order_by("order__number", "at", "id").values_list(
                "order__number", "from_status", "to_status", "at", "by__username", "reason"
            )
        ),
        "lines": list(
            EstimateLine.objects.order_by("estimate__order__number", "estimate__number", "id").values_list(
                "estimate__order__number", "kind", "description", "amount", "grade", "decision", "batch_number"
            )
        ),
        "deferred": list(
            DeferredWork.objects.order_by("vehicle__vin", "suggested_date", "description").values_list(
                "vehicle__vin", "description", "amount", "suggested_date", "status"
            )
        ),
    }


def flush_database() -> None:
    """An emptied database (Django's `flush` cannot TRUNCATE inside a test transaction on PostgreSQL)."""
    from django.apps import apps
    from django.db import transaction

    with transaction.atomic():
        for model in reversed(apps.get_models()):
            if model._meta.app_label in (
                "privacy",
                "webhooks",
                "audits",
                "standards",
                "forecast",
                "ehr",
                "telematics",
                "rescue",
                "feedback",
                "service",
                "parts",
                "staff",
                "messaging",
                "customers",
                "organisation",
                "core",
            ):
                model._base_manager.all().delete()
        get_user_model().objects.all().delete()
    assert nothing_seeded()


def nothing_seeded() -> bool:
    return not (
        Store.objects.exists()
        or DealerGroup.objects.exists()
        or Customer.objects.exists()
        or get_user_model().objects.exists()
    )


class TokenCommandTests:
    def test_the_token_is_the_last_word_and_authenticates_its_user(self, cast):
        out, _err = run("token", "alice")
        lines = out.strip().splitlines()
        assert len(lines) == 1
        assert "alice" in lines[0]
        token = lines[0].split()[-1]
        assert len(token) >= 32
        assert api_token_authenticate(token) == cast.alice

    def test_only_the_sha256_digest_of_the_token_is_stored(self, cast):
        out, _err = run("token", "alice", "--name", "review importer")
        token = out.split()[-1]
        record = ApiToken.objects.get()
        assert record.user == cast.alice
        assert record.name == "review importer"
        assert record.digest == hashlib.sha256(token.encode()).hexdigest()
        stored = [str(value) for value in ApiToken.objects.values().get().values()]
        assert token not in stored
        assert not any(token in value for value in stored)
        assert record.prefix == token[: len(record.prefix)]
        assert len(record.prefix) < len(token) // 2

    def test_each_run_issues_a_different_token(self, cast):
        first = run("token", "alice")[0].split()[-1]
        second = run("token", "alice")[0].split()[-1]
        assert first != second
        assert api_token_authenticate(first) == api_token_authenticate(second) == cast.alice
        assert ApiToken.objects.filter(user=cast.alice).count() == 2

    def test_a_wrong_token_does_not_authenticate(self, cast):
        token = run("token", "alice")[0].split()[-1]
        assert api_token_authenticate(token + "x") is None
        assert api_token_authenticate(token[:-1]) is None
        assert api_token_authenticate("") is None

    def test_an_unknown_user_is_an_error_naming_the_user(self, cast):
        with pytest.raises(CommandError, match="ghost-user"):
            run("token", "ghost-user")
        assert not ApiToken.objects.exists()

    def test_an_inactive_user_gets_no_token(self, cast):
        cast.bob.is_active = False
        cast.bob.save()
        with pytest.raises(CommandError, match="bob"):
            run("token", "bob")
        assert not ApiToken.objects.exists()

    def test_a_username_is_required(self, db):
        with pytest.raises(CommandError, match="username"):
            run("token")


class SeedCommandTests:
    def test_it_creates_the_stores_customers_and_a_summary(self, db):
        out = seed()
        assert list(Store.objects.order_by("code").values_list("code", flat=True)) == ["HZ01", "SH01"]
        assert Customer.objects.count() == 40
        assert Customer.objects.filter(store__code="SH01").count() == 20
        assert Vehicle.objects.count() >= 40
        assert Vehicle.objects.filter(customer__isnull=True).count() == 0
        assert not Customer.objects.filter(vehicles__isnull=True).exists()
        assert "2" in out and "40" in out

    def test_the_same_arguments_on_a_flushed_database_give_identical_data(self, db):
        seed()
        first = snapshot()
        flush_database()
        seed()
        second = snapshot()
        assert len(first["customers"]) == 40
        assert len(first["orders"]) > 20
        for part in first:
            assert second[part] == first[part], part

    def test_a_different_seed_gives_different_data(self, db):
        seed()
        first = snapshot()
        flush_database()
        seed(seed_value=8)
        second = snapshot()
        assert [c[2] for c in second["customers"]] != [c[2] for c in first["customers"]]
        assert {c[5] for c in second["customers"]}.isdisjoint({c[5] for c in first["customers"]})
        assert {v[1] for v in second["vehicles"]}.isdisjoint({v[1] for v in first["vehicles"]})

    def test_every_phone_id_number_plate_and_vin_passes_the_validators(self, db):
        seed()
        phones = []
        for customer in Customer.objects.all():
            phone = customer.phone
            assert normalize_mobile(phone) == phone
            phones.append(phone)
            if customer.id_number:
                assert normalize_id_number(customer.id_number, today=TODAY) == customer.id_number
            assert customer.phone_hash == crypto.search_hash("phone", phone)
            assert customer.phone_last4_hash == crypto.search_hash("phone4", phone[-4:])
        assert len(set(phones)) == len(phones)
        assert Customer.objects.exclude(id_number_encrypted="").exists()
        for vehicle in Vehicle.objects.all():
            assert normalize_plate(vehicle.plate) == vehicle.plate
            assert normalize_vin(vehicle.vin) == vehicle.vin

    def test_the_search_by_phone_finds_a_seeded_customer(self, db):
        seed()
        customer = Customer.objects.order_by("id").first()
        assert list(Customer.objects.filter(customer_search_filter(customer.phone)).distinct()) == [customer]

    def test_mileage_is_positive_and_grows_with_the_age_of_the_vehicle(self, db):
        seed()
        vehicles = list(Vehicle.objects.all())
        for v in vehicles:
            assert v.purchase_date <= v.mileage_recorded_on <= TODAY
            years = (v.mileage_recorded_on - v.purchase_date).days / 365
            assert v.mileage_km > 0
            assert 8_000 * years <= v.mileage_km <= 25_000 * years + 60, v.pk
        old = [v.mileage_km for v in vehicles if v.purchase_date < TODAY - dt.timedelta(days=3 * 365)]
        new = [v.mileage_km for v in vehicles if v.purchase_date > TODAY - dt.timedelta(days=365)]
        assert len(old) >= 3
        assert len(new) >= 10
        assert statistics.mean(old) > statistics.mean(new)
        assert min(old) > statistics.median(new)

    def test_registrations_lie_within_the_months_window(self, db):
        seed()
        window_start = dt.date(2026, 1, 1)  # six months ending June 2026
        days = [c.created_at.astimezone(SHANGHAI).date() for c in Customer.objects.all()]
        assert all(window_start <= day <= TODAY for day in days)
        assert len({day.month for day in days}) >= 4  # spread over the window, not bunched up
        for vehicle in Vehicle.objects.select_related("customer"):
            assert vehicle.created_at == vehicle.customer.created_at
            assert vehicle.purchase_date <= vehicle.customer.created_at.astimezone(SHANGHAI).date()

    def test_nev_vehicles_get_eight_character_plates(self, db):
        seed()
        vehicles = list(Vehicle.objects.all())
        nev = [v for v in vehicles if v.is_nev]
        assert nev, "the model ranges include NEVs"
        assert [v for v in vehicles if not v.is_nev]
        for v in vehicles:
            assert len(v.plate) == (8 if v.is_nev else 7), v.plate
            assert is_nev_plate(v.plate) is v.is_nev

    def test_the_seven_demo_users_exist_and_can_log_in(self, db, settings):
        seed()
        assert [u for u, _role, _name in DEMO_USERS] == DEMO_USERNAMES
        for username, role, _display in DEMO_USERS:
            user = authenticate(username=username, password=settings.DEMO_PASSWORD)
            assert user is not None, username
            assert role in set(user.memberships.values_list("role", flat=True))
            assert authenticate(username=username, password="wrong") is None
        assert get_user_model().objects.get(username="admin").is_superuser
        assert Membership.objects.get(user__username="group").store is None
        assert Membership.objects.get(user__username="advisor").store.code == "SH01"
        # The demo technician is also the workshop foreman of the first store.
        assert set(Membership.objects.filter(user__username="technician").values_list("store__code", "role")) == {
            ("SH01", Role.TECHNICIAN),
            ("SH01", Role.FOREMAN),
        }
        assert Membership.objects.filter(role=Role.FOREMAN).count() == 2  # one per store

    def test_a_non_empty_database_is_refused_without_flush(self, cast):
        with pytest.raises(CommandError, match="--flush"):
            seed()
        assert set(Store.objects.values_list("code", flat=True)) == {"SH01", "HZ01", "BJ01"}
        assert not Customer.objects.exists()
        assert get_user_model().objects.filter(username="alice").exists()

    def test_demo_users_alone_make_the_database_non_empty(self, db):
        get_user_model().objects.create_user("advisor", password="x")
        with pytest.raises(CommandError):
            seed()
        assert not Store.objects.exists()

    def test_flush_replaces_the_existing_data(self, cast):
        make_customer(cast.store_a, name="旧客户")
        seed("--flush")
        assert set(Store.objects.values_list("code", flat=True)) == {"SH01", "HZ01"}
        assert not DealerGroup.objects.filter(code__in=["g1", "g2"]).exists()
        assert not Customer.objects.filter(name="旧客户").exists()
        assert Customer.objects.count() == 40
        assert not Membership.objects.filter(user__username__in=["alice", "grace", "otto"]).exists()

    def test_flush_replaces_a_previously_seeded_database(self, db):
        seed()
        first = snapshot()
        seed("--flush")
        assert snapshot() == first

    def test_flush_removes_the_staff_of_the_replaced_stores(self, cast):
        seed("--flush")
        assert not get_user_model().objects.filter(username__in=["alice", "grace", "otto"]).exists()

    @pytest.mark.parametrize(
        ("flag", "value"),
        [
            ("--stores", "0"),
            ("--stores", "abc"),
            ("--stores", "51"),
            ("--customers", "0"),
            ("--months", "0"),
            ("--months", "-3"),
            ("--seed", "-1"),
            ("--today", "2026-13-01"),
            ("--today", "yesterday"),
        ],
    )
    def test_a_bad_flag_is_an_error_naming_the_flag_and_writes_nothing(self, db, flag, value):
        args = {"--stores": "2", "--customers": "40", "--months": "6", "--seed": "7", "--today": "2026-06-30"}
        args[flag] = value
        argv = [part for pair in args.items() for part in pair]
        with pytest.raises((CommandError, SystemExit)) as excinfo:
            run("seed", *argv, "--no-progress")
        assert flag in str(excinfo.value)
        assert value in str(excinfo.value)
        assert nothing_seeded()


class DemoCommandTests:
    def test_on_an_empty_database_it_seeds_and_prints_the_logins(self, db, settings):
        out, _err = run("demo", "--no-serve")
        assert "Empty database" in out
        assert Store.objects.count() == 3
        assert Customer.objects.count() == 3000
        assert settings.DEMO_PASSWORD in out
        lines = out.splitlines()
        for username in DEMO_USERNAMES:
            assert any(line.split()[:1] == [username] for line in lines), username
            assert authenticate(username=username, password=settings.DEMO_PASSWORD) is not None
        assert "http://127.0.0.1:8000/" in out

    def test_on_a_non_empty_database_it_does_not_seed_again(self, cast, settings):
        out, _err = run("demo", "--no-serve", "--port", "8123")
        assert "Empty database" not in out
        assert Store.objects.count() == 3
        assert not Customer.objects.exists()
        assert not get_user_model().objects.filter(username="advisor").exists()
        assert "http://127.0.0.1:8123/" in out
        assert settings.DEMO_PASSWORD in out


class RotateKeysCommandTests:
    @pytest.fixture
    def customers(self, cast):
        people = [
            make_customer(
                cast.store_a,
                name="王伟",
                phone="13912345678",
                id_number=valid_id_number(),
                address="上海市浦东新区张杨路1号",
            ),
            make_customer(cast.store_b, name="李娜", phone="13887654321"),
        ]
        make_vehicle(people[0])
        return {c.pk: (c.phone, c.id_number, c.address) for c in people}

    def test_after_rotation_the_new_key_alone_decrypts_every_field(self, settings, customers):
        old_key = settings.FIELD_ENCRYPTION_KEYS[0]
        new_key = Fernet.generate_key().decode()
        settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
        out, _err = run("customers_rotate_keys")
        assert "2" in out
        new, old = Fernet(new_key.encode()), Fernet(old_key.encode())
        for customer in Customer.objects.all():
            phone, id_number, address = customers[customer.pk]
            assert new.decrypt(customer.phone_encrypted.encode()).decode() == phone
            with pytest.raises(InvalidToken):
                old.decrypt(customer.phone_encrypted.encode())
            if id_number:
                assert new.decrypt(customer.id_number_encrypted.encode()).decode() == id_number
            else:
                assert customer.id_number_encrypted == ""
            if address:
                assert new.decrypt(customer.address_encrypted.encode()).decode() == address
        settings.FIELD_ENCRYPTION_KEYS = [new_key]
        assert {c.pk: (c.phone, c.id_number, c.address) for c in Customer.objects.all()} == customers

    def test_every_other_encrypted_column_is_rotated_too(self, settings, customers):
        """Outbox addresses, pick-up addresses, replies and endpoint secrets: after rotation the old key can go."""
        from aftersales.customers.services import encrypted_columns

        WebhookEndpoint.objects.create(url="https://crm.example.com/hooks", secret_encrypted=crypto.encrypt("s" * 32))
        tables = {model._meta.label for model, _names in encrypted_columns()}
        assert {"messaging.OutboxMessage", "messaging.WebhookEndpoint", "service.Appointment"} <= tables
        before = {
            (model._meta.label, row.pk, name): crypto.decrypt(getattr(row, name))
            for model, names in encrypted_columns()
            for row in model._default_manager.all()
            for name in names
        }
        assert any(before.values())
        old_key = settings.FIELD_ENCRYPTION_KEYS[0]
        settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
        out, _err = run("customers_rotate_keys")
        assert "other rows" in out
        settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]  # the old key is gone
        after = {
            (model._meta.label, row.pk, name): crypto.decrypt(getattr(row, name))
            for model, names in encrypted_columns()
            for row in model._default_manager.all()
            for name in names
        }
        assert after == before

    def test_phone_search_still_finds_the_customer_after_rotation(self, settings, customers):
        settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEYS]
        run("customers_rotate_keys")
        settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]
        for pk, (phone, _id_number, _address) in customers.items():
            assert list(Customer.objects.filter(customer_search_filter(phone)).values_list("pk", flat=True)) == [pk]
            assert list(Customer.objects.filter(customer_search_filter(phone[-4:])).values_list("pk", flat=True)) == [
                pk
            ]
            customer = Customer.objects.get(pk=pk)
            assert customer.phone_hash == crypto.search_hash("phone", phone)

    def test_a_new_hash_key_is_applied_to_the_search_hashes(self, settings, customers):
        settings.SEARCH_HASH_KEY = "another-hash-key"
        phone = "13912345678"
        assert not Customer.objects.filter(customer_search_filter(phone)).exists()
        run("customers_rotate_keys")
        assert Customer.objects.filter(customer_search_filter(phone)).count() == 1
        customer = Customer.objects.get(name="王伟")
        assert customer.id_number_hash == crypto.search_hash("id", customers[customer.pk][1])

    def test_running_it_twice_is_harmless(self, settings, customers):
        settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEYS]
        run("customers_rotate_keys")
        run("customers_rotate_keys")
        assert {c.pk: (c.phone, c.id_number, c.address) for c in Customer.objects.all()} == customers

    def test_an_empty_database_rotates_nothing(self, db):
        out, _err = run("customers_rotate_keys")
        assert "0" in out


S = RepairOrderStatus
NOW = dt.datetime(2026, 6, 30, 11, 0, tzinfo=SHANGHAI)  # with a fixed --today the busy day is laid out at 11:00
SERVICE_ARGS = ["--stores", "2", "--customers", "60", "--months", "6", "--seed", "7", "--today", "2026-06-30"]


@pytest.fixture(scope="class")
def seeded_once(django_db_setup, django_db_blocker):
    """The service demo, seeded once for ServiceSeedTests (each test's changes are rolled back after it)."""
    with shared_rows(django_db_blocker):
        with django_db_blocker.unblock():
            run("seed", *SERVICE_ARGS, "--no-progress")
        yield


@pytest.fixture
def seeded(seeded_once, db):
    return Store.objects.order_by("id").first()


class ServiceSeedTests:
    def test_it_creates_bookings_orders_events_estimates_and_checks(self, seeded):
        assert Slot.objects.count() > 2 * 150 * 9  # every opening hour of six months and the coming two weeks
        assert Appointment.objects.count() > 40
        assert RepairOrder.objects.filter(status=S.DELIVERED).count() > 40
        assert RepairOrderEvent.objects.count() > 8 * RepairOrder.objects.filter(status=S.DELIVERED).count()
        assert EstimateLine.objects.filter(kind=LineKind.LABOUR, standard_hours__gt=0).exists()
        assert EstimateLine.objects.filter(kind=LineKind.PART, grade="brand", decision=LineDecision.APPROVED).exists()
        assert EstimateLine.objects.filter(kind=LineKind.FEE).exists()
        assert (
            QualityCheck.objects.filter(passed=True).count() >= RepairOrder.objects.filter(status=S.DELIVERED).count()
        )
        assert set(Appointment.objects.values_list("channel", flat=True)) == {"online", "phone", "wechat", "walk_in"}
        assert {"cancelled", "no_show", "arrived", "booked"} <= set(
            Appointment.objects.values_list("status", flat=True)
        )
        months = {o.arrived_at.astimezone(SHANGHAI).month for o in RepairOrder.objects.all()}
        assert len(months) == 6
        assert all(o.arrived_at.date() <= TODAY for o in RepairOrder.objects.all())

    def test_every_delivered_bill_is_the_sum_of_its_approved_lines(self, seeded):
        delivered = list(RepairOrder.objects.filter(status=S.DELIVERED))
        assert delivered
        for order in delivered:
            approved = EstimateLine.objects.filter(estimate__order=order, decision=LineDecision.APPROVED)
            assert order.billed_total == sum(line.amount for line in approved), order.number
            assert not EstimateLine.objects.filter(estimate__order=order, decision=LineDecision.PENDING).exists()
        assert not RepairOrder.objects.exclude(status=S.DELIVERED).filter(billed_total__isnull=False).exists()
        for line in EstimateLine.objects.filter(kind=LineKind.LABOUR):
            assert line.amount == (line.standard_hours * line.hourly_rate).quantize(line.amount)
        for line in EstimateLine.objects.filter(kind=LineKind.PART):
            assert line.amount == (line.unit_price * line.quantity).quantize(line.amount)

    def test_every_demo_move_is_made_by_someone_the_rulebook_allows(self, seeded):
        """The demo asks the same rulebook as the services: each event's actor may make that move (the
        technician only on his own job, the advisor at reception and delivery, the foreman in the workshop)."""
        from django.contrib.auth import get_user_model

        from aftersales.service.transitions import REPAIR_ORDER

        users = {user.pk: user for user in get_user_model().objects.all()}
        orders = {order.pk: order for order in RepairOrder.objects.only("id", "store_id", "technician_id")}
        checked = 0
        for event in RepairOrderEvent.objects.exclude(from_status="").order_by("id"):
            order = orders[event.order_id]
            moves = [m for m in REPAIR_ORDER.moves if m.target == event.to_status and event.from_status in m.sources]
            actor = users[event.by_id]
            assert any(
                REPAIR_ORDER.may(m, actor=actor, store_id=order.store_id, assignee_id=order.technician_id)
                for m in moves
            ), (event.order_id, event.from_status, event.to_status, actor.username)
            checked += 1
        assert checked > 300  # the small seed of this module has about 500 moves

    def test_every_demo_pickup_move_is_made_by_someone_the_rulebook_allows(self, seeded):
        """Pick-ups too: the driver collects and brings back only the cars assigned to them, the check-in that puts
        a car at the store is an advisor's, and each booking's moves follow the table in time order."""
        from django.contrib.auth import get_user_model

        from aftersales.service.models import PickupEvent
        from aftersales.service.transitions import PICKUP

        users = {user.pk: user for user in get_user_model().objects.all()}
        paths: dict[int, list[PickupEvent]] = {}
        for event in PickupEvent.objects.select_related("appointment").order_by("at", "id"):
            appointment = event.appointment
            (move,) = [m for m in PICKUP.moves if m.name == event.move]
            assert event.from_status in move.sources and event.to_status == move.target, event.move
            actor = users[event.by_id]
            assert PICKUP.may(move, actor=actor, store_id=appointment.store_id, assignee_id=appointment.driver_id), (
                appointment.pk,
                event.move,
                actor.username,
            )
            paths.setdefault(appointment.pk, []).append(event)
        assert any(e.move == "deliver_back" for path in paths.values() for e in path)
        for pk, path in paths.items():
            assert path[0].from_status == "planned", pk
            assert all(b.from_status == a.to_status for a, b in zip(path, path[1:], strict=False)), pk
            assert Appointment.objects.get(pk=pk).pickup_status == path[-1].to_status
        # every driver ever assigned is a driver of the booking's store
        for appointment in Appointment.objects.exclude(driver=None):
            assert Membership.objects.filter(
                user_id=appointment.driver_id, store_id=appointment.store_id, role=Role.DRIVER
            ).exists(), appointment.pk

    def test_every_order_follows_the_transition_table(self, seeded):
        events: dict[int, list[RepairOrderEvent]] = {}
        for event in RepairOrderEvent.objects.order_by("at", "id"):
            events.setdefault(event.order_id, []).append(event)
        for order in RepairOrder.objects.all():
            path = events[order.pk]
            assert (path[0].from_status, path[0].to_status) == ("", S.RECEPTION), order.number
            assert path[0].at == order.arrived_at
            for before, after in zip(path, path[1:], strict=False):
                assert after.from_status == before.to_status, order.number
                assert transitions.allowed(before.to_status, after.to_status), (order.number, after)
                assert after.at >= before.at
            assert path[-1].to_status == order.status, order.number
            assert path[-1].at <= NOW
            failures = sum(1 for e in path if e.from_status == S.QC and e.to_status == S.IN_PROGRESS)
            assert order.qc_failures == failures, order.number
            assert order.quality_checks.filter(passed=False).count() == failures

    def test_work_starts_only_on_approved_lines(self, seeded):
        started = RepairOrder.objects.exclude(status__in=[S.RECEPTION, S.CANCELLED])
        for order in started:
            assert EstimateLine.objects.filter(estimate__order=order, decision=LineDecision.APPROVED).exists()
            assert order.inspection_done_at is not None and order.inspection_done_at >= order.arrived_at
        for line in EstimateLine.objects.filter(kind=LineKind.PART, decision=LineDecision.APPROVED).exclude(
            estimate__order__status__in=[S.RECEPTION, S.WAITING, S.IN_BAY, S.IN_PROGRESS, S.WAITING_PARTS, S.QC]
        ):
            assert line.batch_number and line.origin and line.production_date and line.warranty_months

    def test_slots_are_never_overbooked_and_count_their_bookings(self, seeded):
        """`booked` counts the bookings not cancelled before arrival: cancelling gives the place back, a no-show
        or a cancelled repair order does not (as the booking service does)."""
        for slot in Slot.objects.all():
            assert slot.booked <= slot.capacity
            assert slot.booked == slot.appointments.filter(cancelled_at__isnull=True).count(), slot
        for load in AdvisorSlotLoad.objects.select_related("slot"):
            assert load.booked == load.slot.appointments.filter(advisor=load.advisor, cancelled_at__isnull=True).count()
        assert not Appointment.objects.filter(cancelled_at__isnull=False).exclude(status="cancelled").exists()
        for appointment in Appointment.objects.filter(status="arrived").select_related("repair_order"):
            assert appointment.repair_order.vehicle_id == appointment.vehicle_id

    def test_one_open_order_per_vehicle_and_per_bay(self, seeded):
        open_orders = RepairOrder.objects.filter(status__in=transitions.OPEN_STATES)
        vehicles = list(open_orders.values_list("vehicle_id", flat=True))
        assert len(vehicles) == len(set(vehicles))
        bays = list(
            open_orders.filter(status__in=[S.IN_BAY, S.IN_PROGRESS, S.WAITING_PARTS]).values_list("bay_id", flat=True)
        )
        assert None not in bays
        assert len(bays) == len(set(bays))
        # A vehicle's visits never overlap.
        last: dict[int, RepairOrder] = {}
        for order in RepairOrder.objects.order_by("vehicle_id", "arrived_at"):
            previous = last.get(order.vehicle_id)
            if previous is not None:
                assert previous.status in (S.DELIVERED, S.CANCELLED)
                closed = previous.delivered_at or previous.events.order_by("-at").first().at
                assert order.arrived_at > closed
            last[order.vehicle_id] = order

    def test_odometer_readings_only_grow(self, seeded):
        for vehicle in Vehicle.objects.all():
            readings = list(vehicle.repair_orders.exclude(mileage_in=None).order_by("arrived_at"))
            values = [order.mileage_in for order in readings]
            assert values == sorted(values), vehicle.vin
            assert all(value <= vehicle.mileage_km for value in values)
            if readings:
                assert vehicle.mileage_recorded_on >= readings[-1].arrived_at.astimezone(SHANGHAI).date()

    def test_declined_work_is_deferred_and_some_is_done_later(self, seeded):
        declined = EstimateLine.objects.filter(decision=LineDecision.DECLINED).exclude(
            decline_reason="another grade chosen"
        )
        assert declined.exists()
        for line in declined.select_related("estimate__order"):
            item = DeferredWork.objects.get(source_line=line)
            assert item.vehicle_id == line.estimate.order.vehicle_id
            assert item.amount == line.amount
        for item in DeferredWork.objects.filter(status=DeferredStatus.DONE):
            assert item.resolved_order.vehicle_id == item.vehicle_id
            assert item.resolved_order.arrived_at > item.created_at
        assert DeferredWork.objects.filter(
            store=seeded,
            status=DeferredStatus.OPEN,
            suggested_date__range=(TODAY, TODAY + dt.timedelta(days=6)),
        ).exists(), "deferred work due this week"

    def test_todays_busy_day_for_every_role_in_the_first_store(self, seeded):
        store = seeded
        open_orders = RepairOrder.objects.filter(store=store, status__in=transitions.OPEN_STATES)
        assert set(open_orders.values_list("status", flat=True)) == set(transitions.OPEN_STATES)
        technician = get_user_model().objects.get(username="technician")
        mine = open_orders.filter(technician=technician)
        assert mine.count() >= 3
        assert mine.filter(status=S.WAITING_PARTS).exclude(waiting_parts_reason="").exists()
        # The advisor's desk: today's bookings, some arrived, some to come, one pick-up without a driver.
        today = Appointment.objects.filter(store=store, slot__start__date=TODAY)
        assert today.filter(status="arrived").count() >= 3
        assert today.filter(status="booked", slot__start__gt=NOW).count() >= 3
        assert today.filter(status="booked", pickup=True, driver=None).exists()
        # The driver's phone: a pick-up of today to collect.
        assert today.filter(status="booked", pickup=True, driver__username="driver", pickup_status="planned").exists()
        # The reception queue: a tier-A walk-in in the priority lane, an inspection overdue (30 minutes).
        queue = open_orders.filter(status=S.RECEPTION)
        assert queue.filter(walk_in=True, priority=True, customer__is_priority=True).exists()
        overdue = queue.filter(inspection_done_at=None, arrived_at__lt=NOW - dt.timedelta(minutes=30))
        assert overdue.exists()
        # Estimates waiting for the customer, one with an OEM / brand-aftermarket choice.
        pending = EstimateLine.objects.filter(
            estimate__order__in=queue, estimate__status=EstimateStatus.SENT, decision=LineDecision.PENDING
        )
        assert pending.values("estimate__order").distinct().count() >= 2
        pair = pending.exclude(choice_group=None)
        assert set(pair.values_list("grade", flat=True)) == {"oem", "brand"}
        # The foreman: a car over its standard time not warned yet, one waiting for the quality check.
        assert Membership.objects.filter(user=technician, store=store, role=Role.FOREMAN).exists()
        over = []
        for order in open_orders.filter(status=S.IN_PROGRESS, efficiency_warned_at=None):
            events = list(order.events.order_by("at", "id"))
            if work_minutes(order, events, NOW) > 1.1 * standard_minutes(order):
                over.append(order)
        assert over
        assert open_orders.filter(status=S.QC).exists()
        assert open_orders.filter(status=S.READY).count() == 2
        assert all(o.arrived_at <= NOW for o in open_orders)


class ComebackSeedTests:
    """Apart from ServiceSeedTests, whose tests share one seeded database: this one seeds an empty one itself."""

    def test_comebacks_share_the_service_type_and_the_complaint(self, db):
        run("seed", "--stores", "1", "--customers", "400", "--months", "12", "--today", "2026-06-30", "--no-progress")
        comebacks = RepairOrder.objects.filter(customer_words__contains="；")
        assert comebacks.exists()
        for order in comebacks:
            earlier = (
                RepairOrder.objects.filter(vehicle=order.vehicle, arrived_at__lt=order.arrived_at, status=S.DELIVERED)
                .order_by("-arrived_at")
                .first()
            )
            assert earlier.service_type == order.service_type
            assert complaint_category(earlier.customer_words) == complaint_category(order.customer_words)
            assert order.arrived_at - earlier.delivered_at < dt.timedelta(days=30)
        delivered = RepairOrder.objects.filter(status=S.DELIVERED)
        assert 0.02 < delivered.filter(qc_failures__gt=0).count() / delivered.count() < 0.09
        missed = Appointment.objects.filter(status__in=["cancelled", "no_show"]).count()
        assert 0.04 < missed / Appointment.objects.count() < 0.14
        ratings = [r for r in delivered.exclude(rating=None).values_list("rating", flat=True)]
        assert 8 < statistics.mean(ratings) < 9.5
        rated_comebacks = [o.rating for o in comebacks.exclude(rating=None)]
        if rated_comebacks:
            assert statistics.mean(rated_comebacks) < statistics.mean(ratings)
