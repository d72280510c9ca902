"""Customer, vehicle and consent services: validation naming the field, nothing half-written,
encryption at rest, search through keyed hashes, consent history, audit without clear personal data."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection

from aftersales.config.testing import make_customer, make_vehicle, unique_mobile, unique_vin, valid_id_number
from aftersales.core.models import AuditEntry
from aftersales.customers import services
from aftersales.customers.choices import ConsentChannel, ConsentPurpose
from aftersales.customers.models import Consent, ConsentEvent, Customer, Vehicle
from aftersales.customers.selectors import customer_list

pytestmark = pytest.mark.django_db


def _errors(exc_info) -> dict:
    return exc_info.value.message_dict


class CustomerCreateTests:
    def test_it_normalises_and_encrypts_personal_fields(self, cast):
        ident = valid_id_number()
        customer = make_customer(
            cast.store_a,
            by=cast.alice,
            phone="+86 138-1234-5678",
            id_number=ident.lower(),
            address="上海市浦东新区张杨路1号",
        )
        customer.refresh_from_db()
        assert customer.phone == "13812345678"
        assert customer.id_number == ident
        assert customer.address == "上海市浦东新区张杨路1号"
        assert "13812345678" not in customer.phone_encrypted
        assert customer.phone_hash and customer.phone_last4_hash

    def test_the_raw_database_holds_no_phone_id_number_or_address_in_clear(self, cast):
        ident = valid_id_number()
        make_customer(
            cast.store_a, by=cast.alice, phone="13812345678", id_number=ident, address="杭州市西湖区文三路8号"
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM customers_customer")
            raw = " ".join(str(value) for row in cursor.fetchall() for value in row)
            cursor.execute("SELECT changes FROM core_auditentry")
            raw += " ".join(str(row[0]) for row in cursor.fetchall())
        for secret in ("13812345678", ident, "文三路"):
            assert secret not in raw

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("phone", "12345"),
            ("phone", "1381234567a"),
            ("name", "   "),
            ("id_number", "110105194912310021"),  # wrong check character
            ("birthday", "2999-01-01"),
            ("birthday", "31/12/1990"),
            ("gender", "robot"),
            ("is_priority", "yes"),
            ("address", "路" * 201),
        ],
    )
    def test_it_names_the_bad_field_and_writes_nothing(self, cast, field, value):
        data = {"name": "李四", "phone": unique_mobile(), field: value}
        with pytest.raises(ValidationError) as exc_info:
            services.customer_create(store=cast.store_a, by=cast.alice, **data)
        assert field in _errors(exc_info)
        assert Customer.objects.count() == 0
        assert AuditEntry.objects.count() == 0

    def test_it_reports_every_bad_field_at_once(self, cast):
        with pytest.raises(ValidationError) as exc_info:
            services.customer_create(store=cast.store_a, by=cast.alice, name="", phone="1", id_number="123")
        assert {"name", "phone", "id_number"} <= set(_errors(exc_info))

    def test_it_refuses_an_unknown_field(self, cast):
        with pytest.raises(ValidationError) as exc_info:
            services.customer_create(store=cast.store_a, by=cast.alice, name="王五", phone=unique_mobile(), vip=True)
        assert "vip" in _errors(exc_info)

    def test_the_same_mobile_twice_in_a_group_is_refused_but_another_group_may_have_it(self, cast):
        make_customer(cast.store_a, phone="13900001111")
        for store in (cast.store_a, cast.store_b):
            with pytest.raises(ValidationError) as exc_info:
                make_customer(store, phone="139 0000 1111")
            assert "phone" in _errors(exc_info)
        make_customer(cast.store_c, phone="13900001111")
        assert Customer.objects.count() == 2

    def test_a_consent_error_writes_no_customer(self, cast):
        with pytest.raises(ValidationError) as exc_info:
            services.customer_create(
                store=cast.store_a, by=cast.alice, name="赵六", phone=unique_mobile(), consents={"spam": True}
            )
        assert "consents.spam" in _errors(exc_info)
        assert Customer.objects.count() == 0


class CustomerSearchTests:
    def test_it_finds_by_full_mobile_last_four_plate_vin_and_name(self, cast):
        target = make_customer(cast.store_a, name="欧阳娜", phone="13712345678")
        vehicle = make_vehicle(target, plate="沪AD12345")
        other = make_customer(cast.store_a, name="钱七", phone="13600009999")
        make_vehicle(other, plate="沪B99999")
        for query in (
            "13712345678",
            "137-1234-5678",
            "5678",
            "沪AD12345",
            "ad123",
            vehicle.vin,
            vehicle.vin[-6:],
            "欧阳",
        ):
            found = list(customer_list(user=cast.alice, store_ids=frozenset({cast.store_a.pk}), query=query))
            assert found == [target], query

    def test_search_never_reaches_another_store(self, cast):
        make_customer(cast.store_b, name="孙八", phone="13512340000")
        assert not customer_list(user=cast.alice, store_ids=frozenset({cast.store_b.pk}), query="13512340000").exists()
        assert not customer_list(user=cast.alice, store_ids=frozenset({cast.store_a.pk}), query="0000").exists()


class CustomerUpdateTests:
    def test_it_changes_fields_and_audits_without_clear_personal_values(self, cast):
        customer = make_customer(cast.store_a, by=cast.alice, phone="13811112222")
        services.customer_update(customer=customer, by=cast.bob, phone="13833334444", name="张三丰")
        customer.refresh_from_db()
        assert customer.phone == "13833334444" and customer.name == "张三丰"
        entry = AuditEntry.objects.filter(action="customer.update").get()
        assert entry.actor == cast.bob
        assert entry.changes["phone"] == ["***", "***"]
        assert "13833334444" not in str(entry.changes)
        assert customer_list(user=cast.alice, store_ids=frozenset({cast.store_a.pk}), query="4444").get() == customer
        assert not customer_list(user=cast.alice, store_ids=frozenset({cast.store_a.pk}), query="2222").exists()

    def test_a_bad_update_leaves_the_customer_unchanged(self, cast):
        customer = make_customer(cast.store_a, phone="13811112222", name="张三")
        with pytest.raises(ValidationError):
            services.customer_update(customer=customer, by=cast.alice, name="新名字", phone="999")
        customer.refresh_from_db()
        assert customer.name == "张三" and customer.phone == "13811112222"


class VehicleTests:
    def test_it_registers_a_vehicle_with_normalised_vin_and_plate(self, cast):
        customer = make_customer(cast.store_a)
        vin = unique_vin()
        vehicle = make_vehicle(customer, vin=vin.lower(), plate="沪a·d12345", powertrain="bev", mileage_km="1200")
        assert vehicle.vin == vin and vehicle.plate == "沪AD12345" and vehicle.is_nev
        assert vehicle.store == cast.store_a and vehicle.mileage_km == 1200

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("vin", "LSVAB12C0T00000IO"),
            ("vin", "SHORT"),
            ("plate", "沪I12345"),
            ("powertrain", "steam"),
            ("purchase_price", "-1"),
            ("purchase_price", "lots"),
            ("mileage_km", "-5"),
            ("mileage_km", "12.5"),
            ("purchase_date", "2999-01-01"),
        ],
    )
    def test_it_names_the_bad_field_and_writes_nothing(self, cast, field, value):
        customer = make_customer(cast.store_a)
        data = {"vin": unique_vin(), "brand": "比亚迪", "model_name": "汉EV", field: value}
        with pytest.raises(ValidationError) as exc_info:
            services.vehicle_create(customer=customer, by=cast.alice, **data)
        assert field in _errors(exc_info)
        assert Vehicle.objects.count() == 0

    def test_a_vin_check_digit_error_says_what_it_should_be(self, cast):
        customer = make_customer(cast.store_a)
        vin = unique_vin()
        wrong = vin[:8] + ("0" if vin[8] != "0" else "1") + vin[9:]
        with pytest.raises(ValidationError) as exc_info:
            make_vehicle(customer, vin=wrong)
        assert vin[8] in _errors(exc_info)["vin"][0]

    def test_the_odometer_cannot_go_back(self, cast):
        vehicle = make_vehicle(make_customer(cast.store_a), mileage_km=20000)
        with pytest.raises(ValidationError) as exc_info:
            services.vehicle_update(vehicle=vehicle, by=cast.alice, mileage_km=19000)
        assert "mileage_km" in _errors(exc_info)

    def test_duplicate_vin_or_plate_in_a_store_is_refused(self, cast):
        first = make_vehicle(make_customer(cast.store_a), plate="沪A12345")
        with pytest.raises(ValidationError) as exc_info:
            make_vehicle(make_customer(cast.store_a), vin=first.vin)
        assert "vin" in _errors(exc_info)
        with pytest.raises(ValidationError) as exc_info:
            make_vehicle(make_customer(cast.store_a), plate="沪A·12345")
        assert "plate" in _errors(exc_info)


class ConsentTests:
    def test_nothing_is_assumed_when_the_customer_was_not_asked(self, cast):
        customer = make_customer(cast.store_a)
        assert not Consent.objects.filter(customer=customer).exists()

    def test_grant_then_withdraw_takes_effect_at_once_and_keeps_history(self, cast):
        customer = make_customer(cast.store_a)
        with time_machine.travel(dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC), tick=False):
            services.consent_set(
                customer=customer,
                purpose=ConsentPurpose.MARKETING,
                granted=True,
                channel=ConsentChannel.DESK,
                by=cast.alice,
            )
        with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):
            services.consent_set(
                customer=customer,
                purpose=ConsentPurpose.MARKETING,
                granted=False,
                channel=ConsentChannel.PHONE,
                by=cast.bob,
            )
        state = Consent.objects.get(customer=customer, purpose=ConsentPurpose.MARKETING)
        assert state.granted is False and state.channel == ConsentChannel.PHONE
        assert state.decided_at == dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
        assert state.notice_version == services.PRIVACY_NOTICE_VERSION
        history = list(ConsentEvent.objects.filter(customer=customer).order_by("at"))
        assert [(e.granted, e.recorded_by) for e in history] == [(True, cast.alice), (False, cast.bob)]

    def test_consents_given_at_registration_are_recorded_with_their_channel(self, cast):
        customer = make_customer(
            cast.store_a,
            consents={"surveys": True, "vehicle_data": False},
            consent_channel=ConsentChannel.CUSTOMER_LINK,
        )
        states = {c.purpose: (c.granted, c.channel) for c in customer.consents.all()}
        assert states == {"surveys": (True, "customer_link"), "vehicle_data": (False, "customer_link")}

    @pytest.mark.parametrize(("purpose", "granted", "channel"), [("spam", True, "desk"), ("marketing", "yes", "desk")])
    def test_bad_consent_input_is_refused(self, cast, purpose, granted, channel):
        customer = make_customer(cast.store_a)
        with pytest.raises(ValidationError):
            services.consent_set(customer=customer, purpose=purpose, granted=granted, channel=channel, by=cast.alice)
        assert not ConsentEvent.objects.exists()

    def test_an_unknown_channel_is_refused(self, cast):
        customer = make_customer(cast.store_a)
        with pytest.raises(ValidationError) as exc_info:
            services.consent_set(customer=customer, purpose="marketing", granted=True, channel="pigeon", by=cast.alice)
        assert "consent_channel" in _errors(exc_info) or "channel" in _errors(exc_info)


class RevealTests:
    def test_every_unmasking_is_audited(self, cast):
        customer = make_customer(cast.store_a, phone="13866667777")
        assert services.customer_reveal(customer=customer, field="phone", by=cast.alice) == "13866667777"
        entry = AuditEntry.objects.get(action="customer.reveal")
        assert entry.actor == cast.alice and entry.changes == {"field": "phone"}

    def test_only_personal_fields_can_be_revealed(self, cast):
        customer = make_customer(cast.store_a)
        with pytest.raises(ValidationError):
            services.customer_reveal(customer=customer, field="phone_hash", by=cast.alice)
