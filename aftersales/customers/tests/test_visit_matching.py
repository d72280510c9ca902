"""The one rule that finds or registers who comes and with which car, shared by the desk (walk-in), the API
and online booking: the plate names the car, the mobile number (through its keyed hash) names the person."""

import pytest
from django.core.exceptions import ValidationError

from aftersales.config.testing import make_customer, make_vehicle, unique_vin
from aftersales.customers.choices import ConsentChannel
from aftersales.customers.models import Consent, Customer, Vehicle
from aftersales.customers.services import customer_and_vehicle_find_or_create as find_or_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(cast):
    customer = make_customer(cast.store_a, name="王建华", phone="13812345678")
    return customer, make_vehicle(customer, plate="沪A12345")


def counts():
    return Customer.objects.count(), Vehicle.objects.count()


class MatchingRuleTests:
    def test_a_known_plate_gives_its_car_and_owner(self, cast, owner):
        assert find_or_create(store=cast.store_a, by=cast.alice, plate="沪a 12345") == owner

    def test_a_known_plate_with_the_owners_number_gives_the_same(self, cast, owner):
        assert find_or_create(store=cast.store_a, by=cast.alice, plate="沪A12345", phone="138 1234 5678") == owner

    @pytest.mark.parametrize("phone", ["13800001111", "13911112222"])  # a stranger's number, a nobody's number
    def test_a_known_plate_with_somebody_elses_number_is_refused_on_the_plate(self, cast, owner, phone):
        make_customer(cast.store_a, name="别人", phone="13800001111")
        before = counts()
        with pytest.raises(ValidationError) as caught:
            find_or_create(
                store=cast.store_a,
                by=None,
                plate="沪A12345",
                phone=phone,
                name="冒名",
                vin=unique_vin(),
                brand="大众",
                model_name="朗逸",
            )
        assert caught.value.message_dict == {"plate": ["This plate is registered to another customer."]}
        assert counts() == before

    def test_a_known_number_without_a_plate_gives_the_latest_car(self, cast, owner):
        customer, _first = owner
        newer = make_vehicle(customer, plate="沪B54321")
        assert find_or_create(store=cast.store_a, by=cast.alice, phone="13812345678") == (customer, newer)

    def test_a_known_number_with_a_new_plate_registers_the_car_for_that_customer(self, cast, owner):
        customer, _car = owner
        vin = unique_vin()
        found, car = find_or_create(
            store=cast.store_a,
            by=cast.alice,
            phone="13812345678",
            plate="沪C11111",
            vin=vin,
            brand="比亚迪",
            model_name="汉",
        )
        assert found == customer and (car.plate, car.vin, car.customer) == ("沪C11111", vin, customer)

    def test_a_new_car_needs_vin_brand_and_model(self, cast, owner):
        before = counts()
        for missing in ("vin", "brand", "model_name"):
            fields = {"vin": unique_vin(), "brand": "比亚迪", "model_name": "汉", missing: ""}
            with pytest.raises(ValidationError) as caught:
                find_or_create(store=cast.store_a, by=cast.alice, phone="13812345678", plate="沪C11111", **fields)
            assert list(caught.value.message_dict) == ["vin"]
        assert counts() == before

    def test_nobody_with_the_number_is_a_new_customer_who_needs_a_name(self, cast, owner):
        with pytest.raises(ValidationError) as caught:
            find_or_create(store=cast.store_a, by=cast.alice, phone="13911112222", plate="沪C11111")
        assert list(caught.value.message_dict) == ["name"]
        with pytest.raises(ValidationError) as caught:  # an unknown plate alone cannot make a customer
            find_or_create(store=cast.store_a, by=cast.alice, plate="沪C11111", name="新客")
        assert list(caught.value.message_dict) == ["name"]
        assert counts() == (1, 1)

    def test_a_new_customer_and_car_are_registered_together_or_not_at_all(self, cast, owner):
        with pytest.raises(ValidationError):
            find_or_create(store=cast.store_a, by=cast.alice, phone="13911112222", plate="沪C11111", name="新客")
        assert counts() == (1, 1)  # the customer made before the car was refused is rolled back
        customer, car = find_or_create(
            store=cast.store_a,
            by=cast.alice,
            phone="13911112222",
            plate="沪C11111",
            name="新客",
            vin=unique_vin(),
            brand="比亚迪",
            model_name="汉",
        )
        assert (customer.name, customer.phone, car.customer) == ("新客", "13911112222", customer)

    def test_the_sister_store_finds_the_group_file_and_links_it(self, cast, owner):
        """One file per customer and vehicle in the group: the sister store serves the same records."""
        customer, car = find_or_create(store=cast.store_b, by=cast.carol, phone="13812345678", plate="沪A12345")
        assert (customer, car) == owner
        assert set(customer.store_links.values_list("store__code", flat=True)) == {"SH01", "HZ01"}
        assert Customer.objects.for_user(cast.carol).filter(pk=customer.pk).exists()

    def test_another_groups_customer_and_car_are_never_found(self, cast, owner):
        customer, car = find_or_create(
            store=cast.store_c,
            by=cast.otto,
            phone="13812345678",
            plate="沪A12345",
            name="王建华",
            vin=unique_vin(),
            brand="大众",
            model_name="朗逸",
        )
        assert customer.store == cast.store_c and car.store == cast.store_c
        assert customer != owner[0] and car != owner[1]

    def test_bad_values_name_every_field_and_write_nothing(self, cast, owner):
        with pytest.raises(ValidationError) as caught:
            find_or_create(store=cast.store_a, by=cast.alice, phone="12345", plate="XX")
        assert set(caught.value.message_dict) == {"phone", "plate"}
        with pytest.raises(ValidationError) as caught:
            find_or_create(store=cast.store_a, by=cast.alice)
        assert list(caught.value.message_dict) == ["plate"]
        assert counts() == (1, 1)

    def test_a_known_customer_may_withdraw_from_the_anonymous_page_but_not_grant(self, cast, owner):
        """The public page only proves a mobile number and a plate: a withdrawal is recorded, a grant is not."""
        customer, _car = owner
        find_or_create(
            store=cast.store_a,
            by=None,
            phone="13812345678",
            plate="沪A12345",
            consents={"surveys": True, "marketing": False},
            consent_channel=ConsentChannel.CUSTOMER_LINK,
        )
        consent = Consent.objects.get(customer=customer)
        assert (consent.purpose, consent.granted, consent.channel) == ("marketing", False, "customer_link")

    def test_answered_consents_are_recorded_for_a_known_customer_at_the_desk(self, cast, owner):
        customer, _car = owner
        find_or_create(
            store=cast.store_a,
            by=cast.alice,
            phone="13812345678",
            plate="沪A12345",
            consents={"surveys": True},
            consent_channel=ConsentChannel.DESK,
        )
        consent = Consent.objects.get(customer=customer)
        assert (consent.purpose, consent.granted, consent.channel) == ("surveys", True, "desk")
