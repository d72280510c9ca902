"""Customer pages: masking, reveal, forms with clear errors that write nothing, store isolation,
bounded query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales.config.testing import make_customer, make_vehicle, unique_mobile, unique_vin
from aftersales.core.models import AuditEntry
from aftersales.customers.models import Consent, ConsentEvent, Customer, Vehicle

pytestmark = pytest.mark.django_db


def _login(client, user):
    client.force_login(user)
    return client


class CustomerListTests:
    def test_it_shows_the_stores_customers_with_masked_mobiles(self, client, cast):
        customer = make_customer(cast.store_a, name="周杰", phone="13812345678")
        make_vehicle(customer, plate="沪A12345")
        make_customer(cast.store_b, name="别家客户")
        html = _login(client, cast.alice).get(reverse("customers:customer-list")).content.decode()
        assert "周杰" in html and "138****5678" in html and "沪A·12345" in html
        assert "13812345678" not in html
        assert "别家客户" not in html

    def test_a_group_manager_sees_both_stores_but_masked_plates(self, client, cast):
        customer = make_customer(cast.store_a, name="甲")
        make_vehicle(customer, plate="沪A12345")
        make_customer(cast.store_b, name="乙")
        html = _login(client, cast.grace).get(reverse("customers:customer-list")).content.decode()
        assert "甲" in html and "乙" in html
        assert "沪A·***45" in html and "沪A·12345" not in html

    def test_search_by_last_four_digits(self, client, cast):
        make_customer(cast.store_a, name="目标", phone="13700004321")
        make_customer(cast.store_a, name="其他", phone="13700001234")
        html = _login(client, cast.alice).get(reverse("customers:customer-list"), {"q": "4321"}).content.decode()
        assert "目标" in html and "其他" not in html

    def test_an_empty_search_says_what_to_do_next(self, client, cast):
        html = _login(client, cast.alice).get(reverse("customers:customer-list"), {"q": "nobody"}).content.decode()
        assert "nobody" in html and 'class="as-empty"' in html

    def test_htmx_requests_get_only_the_table(self, client, cast):
        make_customer(cast.store_a, name="局部")
        response = _login(client, cast.alice).get(reverse("customers:customer-list"), HTTP_HX_REQUEST="true")
        assert "局部" in response.content.decode() and "<html" not in response.content.decode()

    def test_the_query_count_does_not_grow_with_rows(self, client, cast):
        _login(client, cast.alice)
        first = make_customer(cast.store_a)
        make_vehicle(first)
        client.get(reverse("customers:customer-list"))  # warm the session
        with CaptureQueriesContext(connection) as one:
            client.get(reverse("customers:customer-list"))
        for _ in range(24):
            make_vehicle(make_customer(cast.store_a))
        with CaptureQueriesContext(connection) as many:
            response = client.get(reverse("customers:customer-list"))
        assert response.content.decode().count('href="/customers/') >= 25
        assert len(many) == len(one), "\n".join(q["sql"] for q in many.captured_queries)
        assert len(one) <= 12

    def test_login_is_required(self, client, cast):
        response = client.get(reverse("customers:customer-list"))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


class CustomerDetailTests:
    def test_the_profile_masks_and_reveal_is_audited(self, client, cast):
        customer = make_customer(cast.store_a, phone="13812345678", address="上海市浦东新区张杨路100号")
        _login(client, cast.alice)
        html = client.get(reverse("customers:customer-detail", args=[customer.pk])).content.decode()
        assert "138****5678" in html and "13812345678" not in html and "张杨路100号" not in html
        response = client.post(reverse("customers:customer-reveal", args=[customer.pk, "phone"]))
        assert "13812345678" in response.content.decode()
        assert AuditEntry.objects.filter(action="customer.reveal", actor=cast.alice).count() == 1

    def test_a_technician_sees_the_profile_but_may_not_reveal(self, client, cast):
        customer = make_customer(cast.store_a, phone="13812345678")
        _login(client, cast.tom)
        html = client.get(reverse("customers:customer-detail", args=[customer.pk])).content.decode()
        assert "138****5678" in html and "customer-reveal" not in html and "/reveal/" not in html
        response = client.post(reverse("customers:customer-reveal", args=[customer.pk, "phone"]))
        assert response.status_code == 403
        assert not AuditEntry.objects.filter(action="customer.reveal").exists()

    def test_an_unknown_reveal_field_is_refused(self, client, cast):
        customer = make_customer(cast.store_a)
        response = _login(client, cast.alice).post(reverse("customers:customer-reveal", args=[customer.pk, "name"]))
        assert response.status_code == 400

    def test_the_profile_query_count_is_bounded(self, client, cast):
        customer = make_customer(cast.store_a, consents={"surveys": True})
        for _ in range(3):
            make_vehicle(customer)
        _login(client, cast.mia)
        client.get(reverse("customers:customer-detail", args=[customer.pk]))
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("customers:customer-detail", args=[customer.pk]))
        assert len(queries) <= 14, "\n".join(q["sql"] for q in queries.captured_queries)


class CustomerFormTests:
    def test_registering_a_customer_with_consents(self, client, cast):
        _login(client, cast.alice)
        page = client.get(reverse("customers:customer-create")).content.decode()
        assert "checked" not in page  # nothing pre-ticked
        response = client.post(
            reverse("customers:customer-create"),
            {
                "name": "新客户",
                "phone": "138 0000 1111",
                "consent-surveys": "yes",
                "consent-marketing": "",
                "consent-vehicle_data": "no",
                "consent-consent_channel": "desk",
            },
        )
        customer = Customer.objects.get()
        assert response.status_code == 302 and response["Location"].endswith(f"/customers/{customer.pk}/")
        assert customer.store == cast.store_a and customer.phone == "13800001111"
        assert {c.purpose: c.granted for c in Consent.objects.all()} == {"surveys": True, "vehicle_data": False}

    def test_bad_input_re_renders_with_the_message_and_writes_nothing(self, client, cast):
        _login(client, cast.alice)
        response = client.post(
            reverse("customers:customer-create"),
            {"name": "坏数据", "phone": "12345", "id_number": "110105194912310021", "consent-consent_channel": "desk"},
        )
        html = response.content.decode()
        assert response.status_code == 200
        assert 'data-error-for="phone"' in html and 'data-error-for="id_number"' in html
        assert Customer.objects.count() == 0 and ConsentEvent.objects.count() == 0

    def test_a_technician_may_not_register_customers(self, client, cast):
        response = _login(client, cast.tom).post(
            reverse("customers:customer-create"), {"name": "x", "phone": unique_mobile()}
        )
        assert response.status_code == 403 and Customer.objects.count() == 0

    def test_editing_keeps_personal_fields_left_empty(self, client, cast):
        customer = make_customer(cast.store_a, phone="13812345678", name="旧名")
        _login(client, cast.alice)
        response = client.post(reverse("customers:customer-edit", args=[customer.pk]), {"name": "新名", "phone": ""})
        assert response.status_code == 302
        customer.refresh_from_db()
        assert customer.name == "新名" and customer.phone == "13812345678"

    def test_consent_withdrawal_from_the_profile(self, client, cast):
        customer = make_customer(cast.store_a, consents={"marketing": True})
        _login(client, cast.alice)
        client.post(
            reverse("customers:consent-update", args=[customer.pk]),
            {"purpose": "marketing", "granted": "no", "channel": "phone"},
        )
        assert Consent.objects.get(customer=customer, purpose="marketing").granted is False

    def test_a_consent_form_without_an_answer_changes_nothing(self, client, cast):
        customer = make_customer(cast.store_a, consents={"marketing": True})
        _login(client, cast.alice)
        client.post(
            reverse("customers:consent-update", args=[customer.pk]), {"purpose": "marketing", "channel": "phone"}
        )
        assert Consent.objects.get(customer=customer, purpose="marketing").granted is True
        assert ConsentEvent.objects.filter(customer=customer).count() == 1

    def test_adding_a_vehicle_and_a_bad_vin(self, client, cast):
        customer = make_customer(cast.store_a)
        _login(client, cast.alice)
        url = reverse("customers:vehicle-create", args=[customer.pk])
        bad = client.post(
            url, {"vin": "LSVAB12C0T000000Q", "brand": "大众", "model_name": "朗逸", "powertrain": "petrol"}
        )
        assert 'data-error-for="vin"' in bad.content.decode() and Vehicle.objects.count() == 0
        good = client.post(
            url,
            {
                "vin": unique_vin(),
                "plate": "沪AD12345",
                "brand": "大众",
                "model_name": "ID.4 X",
                "powertrain": "bev",
                "mileage_km": "300",
            },
        )
        assert good.status_code == 302 and Vehicle.objects.get().plate == "沪AD12345"


class StoreSwitchTests:
    def test_a_user_can_only_switch_to_their_own_stores(self, client, cast):
        _login(client, cast.grace)
        make_customer(cast.store_a, name="上海客户")
        make_customer(cast.store_b, name="杭州客户")
        client.post(reverse("store-switch"), {"store": cast.store_b.pk, "next": "/customers/"})
        html = client.get(reverse("customers:customer-list")).content.decode()
        assert "杭州客户" in html and "上海客户" not in html
        _login(client, cast.alice)
        client.post(reverse("store-switch"), {"store": cast.store_b.pk})
        html = client.get(reverse("customers:customer-list")).content.decode()
        assert "杭州客户" not in html

    def test_the_next_url_must_stay_on_this_site(self, client, cast):
        response = _login(client, cast.alice).post(
            reverse("store-switch"), {"store": "", "next": "https://evil.example/"}
        )
        assert response["Location"] == "/"
