"""A public survey link cannot open unlimited complaints (a cap per day and in all, store settings, enforced in the
service), and public POSTs are limited per client address with a friendly 429 page in the visitor's language."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import reverse

from aftersales.core.exceptions import ApplicationError
from aftersales.feedback import services
from aftersales.feedback.choices import ComplaintPriority, FeedbackChannel
from aftersales.feedback.models import Complaint
from aftersales.feedback.tests.conftest import deliver
from aftersales.organisation.rules import Party
from aftersales.service.tests.conftest import set_store_setting

from .conftest import frozen

pytestmark = pytest.mark.django_db

DAY = (2026, 3, 2)


@pytest.fixture
def client():
    return Client(headers={"accept-language": "en"})


@pytest.fixture
def delivered(shop):
    with frozen(*DAY, 10, 0):
        return deliver(shop)


def _url(order) -> str:
    return reverse("feedback:customer-survey", args=[services.survey_link_token(order)])


def _report(client, url, text: str = "车门有划痕", **extra):
    return client.post(
        url, {"action": "complaint", "problem-description": text, "problem-category": "quality"}, **extra
    )


def _log_from_link(order, by=Party.CUSTOMER, channel=FeedbackChannel.CUSTOMER_PAGE):
    return services.complaint_log(
        store=order.store,
        customer=order.customer,
        order=order,
        channel=channel,
        category="quality",
        priority=ComplaintPriority.IMPORTANT,
        description="又坏了",
        by=by,
    )


class SurveyLinkComplaintCapTests:
    def test_the_fourth_report_of_a_day_is_refused_with_a_clear_message(self, client, shop, delivered):
        with frozen(*DAY, 12, 0):
            url = _url(delivered)
            for n in range(3):
                assert _report(client, url, f"问题 {n}").status_code == 302
            response = _report(client, url, "第四个问题")
        assert response.status_code == 400
        assert "You have already sent us several problems today" in response.content.decode()
        assert Complaint.objects.count() == 3
        assert not Complaint.objects.filter(description="第四个问题").exists()

    def test_the_cap_starts_again_the_next_day_until_the_links_total(self, client, shop, delivered):
        set_store_setting(shop, customer_link_complaints_per_day=2, customer_link_complaints_total=3)
        with frozen(*DAY, 23, 50):
            url = _url(delivered)
            assert [_report(client, url, f"a{n}").status_code for n in range(3)] == [302, 302, 400]
        with frozen(2026, 3, 3, 0, 10):  # a new day in Shanghai
            assert _report(client, url, "b1").status_code == 302
            response = _report(client, url, "b2")
        assert response.status_code == 400
        assert "several problems with this link" in response.content.decode()
        assert Complaint.objects.count() == 3

    def test_the_service_itself_refuses_and_writes_nothing(self, shop, delivered):
        set_store_setting(shop, customer_link_complaints_per_day=1)
        with frozen(*DAY, 12, 0):
            _log_from_link(delivered)
            with pytest.raises(ApplicationError) as refused:
                _log_from_link(delivered)
        assert refused.value.extra["code"] == "link_complaint_limit"
        assert Complaint.objects.count() == 1

    def test_staff_logging_for_the_customer_are_not_capped(self, shop, delivered):
        set_store_setting(shop, customer_link_complaints_per_day=1)
        with frozen(*DAY, 12, 0):
            _log_from_link(delivered)
            _log_from_link(delivered, by=shop.advisor)
            _log_from_link(delivered, by=shop.cast.bob, channel=FeedbackChannel.PHONE)
        assert Complaint.objects.count() == 3

    def test_another_order_has_its_own_cap(self, client, shop, delivered):
        set_store_setting(shop, customer_link_complaints_per_day=1)
        with frozen(*DAY, 11, 0):
            other = deliver(shop)
        with frozen(*DAY, 12, 0):
            assert _report(client, _url(delivered)).status_code == 302
            assert _report(client, _url(other)).status_code == 302
            assert _report(client, _url(delivered)).status_code == 400
        assert Complaint.objects.count() == 2

    def test_the_caps_are_settings_with_sane_bounds(self, shop):
        with pytest.raises(ValidationError):
            set_store_setting(shop, customer_link_complaints_per_day=0)


class PublicPostRateLimitTests:
    @pytest.fixture(autouse=True)
    def three_a_minute(self, settings):
        settings.AFTERSALES_PUBLIC_POST_RATE = (3, 60)

    def test_the_fourth_post_in_a_minute_answers_429_in_the_visitors_language(self, shop, delivered):
        url = _url(delivered)
        zh = Client(headers={"accept-language": "zh-hans"})
        with frozen(*DAY, 12, 0):
            for _n in range(3):
                assert zh.post(url, {"action": "survey"}).status_code == 400  # counted, answered normally
            response = zh.post(url, {"action": "survey"})
        page = response.content.decode()
        assert response.status_code == 429 and response["Retry-After"] == "60"
        assert 'id="too-many-requests"' in page and '<html lang="zh-hans">' in page

    def test_an_english_visitor_reads_english(self, client, shop, delivered):
        url = _url(delivered)
        with frozen(*DAY, 12, 0):
            for _n in range(3):
                client.post(url, {"action": "survey"})
            page = client.post(url, {"action": "survey"}).content.decode()
        assert "Please try again in 60 seconds" in page

    def test_each_address_and_each_minute_count_separately(self, client, shop, delivered):
        url = _url(delivered)
        with frozen(*DAY, 12, 0, 5):
            codes = [client.post(url, {"action": "survey"}).status_code for _n in range(4)]
            other = client.post(url, {"action": "survey"}, REMOTE_ADDR="10.1.2.3").status_code
        with frozen(*DAY, 12, 1, 5):
            later = client.post(url, {"action": "survey"}).status_code
        assert (codes, other, later) == ([400, 400, 400, 429], 400, 400)

    def test_reading_pages_is_not_limited(self, client, shop, delivered):
        url = _url(delivered)
        with frozen(*DAY, 12, 0):
            assert {client.get(url).status_code for _n in range(6)} == {200}

    def test_a_burst_of_reports_is_stopped_before_the_service(self, client, shop, delivered):
        url = _url(delivered)
        with frozen(*DAY, 12, 0):
            codes = [_report(client, url, f"问题 {n}").status_code for n in range(5)]
        assert codes == [302, 302, 302, 429, 429]
        assert Complaint.objects.count() == 3

    def test_staff_pages_and_the_api_are_not_counted(self, client, shop, delivered, api_token):
        staff = Client()
        staff.force_login(shop.advisor)
        headers = api_token(shop.advisor)
        with frozen(*DAY, 12, 0):
            staff_codes = {staff.post(reverse("store-switch"), {"store": ""}).status_code for _n in range(5)}
            api_codes = {
                client.post("/api/v1/complaints", {}, content_type="application/json", **headers).status_code
                for _n in range(5)
            }
        assert 429 not in staff_codes and 429 not in api_codes

    @override_settings(AFTERSALES_PROXY_COUNT=1)
    def test_behind_a_proxy_the_address_it_saw_is_counted(self, client, shop, delivered):
        """The proxy appends the address it saw (the last entry); entries before it are the client's own word."""
        url = _url(delivered)
        with frozen(*DAY, 12, 0):
            many_clients = [
                client.post(url, {"action": "survey"}, HTTP_X_FORWARDED_FOR=f"1.1.1.1, 10.0.0.{n}").status_code
                for n in range(4)
            ]
            one_client_spoofing = [
                client.post(url, {"action": "survey"}, HTTP_X_FORWARDED_FOR=f"2.2.2.{n}, 10.0.0.99").status_code
                for n in range(4)
            ]
        assert many_clients == [400, 400, 400, 400]
        assert one_client_spoofing == [400, 400, 400, 429]
