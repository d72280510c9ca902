"""The customer's survey page from the signed link: no login, the visit's survey in the browser's language,
consent ticked by the customer when none is on file, one answer per visit, a complaint from the page, and a
friendly refusal of an expired or tampered link."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from aftersales.customers.models import Consent
from aftersales.feedback import services
from aftersales.feedback.models import Complaint, FollowUp, RecoveryTask, SurveyResponse
from aftersales.feedback.tests.conftest import GOOD, LOW, deliver, grant_survey_consent

from .conftest import frozen

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return Client(headers={"accept-language": "en"})


@pytest.fixture
def delivered(shop):
    with frozen(2026, 3, 2, 10, 0):
        return deliver(shop)


@pytest.fixture
def url(delivered):
    """Signed now (the link carries its own expiry from the moment it is made)."""
    return _path(delivered)


def _path(order) -> str:
    """The page's path of the order's signed survey link (the link itself carries the public host)."""
    return reverse("feedback:customer-survey", args=[services.survey_link_token(order)])


def _post(client, url, **data):
    return client.post(url, {"action": "survey", **data})


class SurveyPageTests:
    def test_the_link_opens_the_visits_survey_without_a_login(self, client, shop, url, delivered):
        response = client.get(url)
        page = response.content.decode()
        assert response.status_code == 200
        assert "上海店" in page and delivered.number in page
        assert "Overall satisfaction (0–10)" in page and "Service attitude" in page
        assert 'name="overall"' in page and 'name="suggestions"' in page
        assert 'name="consent"' in page and "checked" not in page.split('name="consent"', 1)[1].split(">", 1)[0]

    def test_the_wording_follows_the_browsers_language(self, shop, url):
        page = Client(headers={"accept-language": "zh-hans"}).get(url).content.decode()
        assert "您对本次服务的总体满意度" in page

    def test_answers_with_consent_are_recorded_on_the_customer_link_channel(self, client, shop, url, delivered):
        with frozen(2026, 3, 2, 18, 0):
            services.follow_up_sweep()
            response = _post(client, url, consent="on", suggestions="很满意", **GOOD)
        assert response.status_code == 302 and response.url.endswith("?done=survey")
        answer = SurveyResponse.objects.get()
        assert (answer.channel, answer.overall, answer.recorded_by) == ("customer_link", 9, None)
        consent = Consent.objects.get(customer=shop.customer, purpose="surveys")
        assert consent.granted
        assert FollowUp.objects.get(order=delivered).status == "done"  # the agent need not call
        page = client.get(response.url).content.decode()
        assert 'id="thanks-new"' in page and 'id="recovery-promise"' not in page

    def test_without_consent_the_box_is_asked_for_and_nothing_is_written(self, client, shop, url):
        response = _post(client, url, **GOOD)
        assert response.status_code == 400
        assert 'data-error-for="consent"' in response.content.decode()
        assert not SurveyResponse.objects.exists()
        assert not Consent.objects.filter(customer=shop.customer, purpose="surveys").exists()

    def test_with_consent_on_file_no_box_is_shown(self, client, shop, url):
        grant_survey_consent(shop.customer, shop.advisor)
        assert 'name="consent"' not in client.get(url).content.decode()
        assert _post(client, url, **GOOD).status_code == 302
        assert SurveyResponse.objects.count() == 1

    def test_a_bad_score_is_named_and_writes_nothing(self, client, shop, url):
        response = _post(client, url, consent="on", overall=11, attitude=9)
        page = response.content.decode()
        assert response.status_code == 400
        assert 'data-error-for="overall"' in page and 'data-error-for="attitude"' in page
        assert not SurveyResponse.objects.exists()

    def test_the_required_item_is_named(self, client, shop, url):
        response = _post(client, url, consent="on", attitude=5)
        assert response.status_code == 400
        assert 'data-error-for="overall"' in response.content.decode()
        assert not SurveyResponse.objects.exists()

    def test_answered_twice_shows_the_thanks_and_keeps_one_response(self, client, shop, url):
        _post(client, url, consent="on", **GOOD)
        response = client.get(url)
        assert 'id="already-answered"' in response.content.decode()
        response = _post(client, url, consent="on", **LOW)
        assert response.status_code == 200 and 'id="already-answered"' in response.content.decode()
        assert SurveyResponse.objects.count() == 1 and not RecoveryTask.objects.exists()

    def test_a_visit_answered_on_the_follow_up_call_is_not_asked_again(self, client, shop, url, delivered, agent):
        grant_survey_consent(shop.customer, shop.advisor)
        with frozen(2026, 3, 2, 10, 5):
            services.follow_up_sweep()
        follow_up = FollowUp.objects.get(order=delivered)
        services.follow_up_attempt_record(follow_up=follow_up, by=agent, outcome="reached", answers=GOOD)
        assert 'id="already-answered"' in client.get(url).content.decode()
        _post(client, url, **GOOD)
        assert SurveyResponse.objects.count() == 1

    def test_a_low_score_opens_recovery_and_the_page_promises_a_call(self, client, shop, url):
        response = _post(client, url, consent="on", **LOW)
        task = RecoveryTask.objects.get()
        assert task.advisor == shop.cast.alice
        assert 'id="recovery-promise"' in client.get(response.url).content.decode()


class CustomerComplaintTests:
    def test_something_went_wrong_is_logged_as_a_complaint_from_the_customers_page(self, client, shop, url, delivered):
        response = client.post(
            url, {"action": "complaint", "problem-description": "车门有划痕", "problem-category": "quality"}
        )
        assert response.status_code == 302 and response.url.endswith("?done=complaint")
        complaint = Complaint.objects.get()
        assert (complaint.channel, complaint.category, complaint.customer, complaint.order) == (
            "customer_page",
            "quality",
            shop.customer,
            delivered,
        )
        assert complaint.owner is None and complaint.logged_by is None
        assert not SurveyResponse.objects.exists()  # the survey stays open
        page = client.get(response.url).content.decode()
        assert 'id="complaint-thanks"' in page and 'id="survey-form"' in page

    def test_an_empty_complaint_is_named_and_writes_nothing(self, client, shop, url):
        response = client.post(url, {"action": "complaint", "problem-description": "  "})
        assert response.status_code == 400
        assert 'data-error-for="description"' in response.content.decode()
        assert not Complaint.objects.exists()

    def test_a_complaint_can_follow_the_answered_survey(self, client, shop, url):
        _post(client, url, consent="on", **GOOD)
        response = client.post(url, {"action": "complaint", "problem-description": "发票开错了"})
        assert response.status_code == 302
        assert Complaint.objects.get().category == "other"


class LinkTests:
    def test_an_expired_link_is_refused_kindly(self, client, shop, delivered):
        with frozen(2026, 3, 2, 10, 0):
            url = _path(delivered)
        with frozen(2026, 4, 1, 9, 59):
            assert client.get(url).status_code == 200  # 30 days (customer_link_days)
        with frozen(2026, 4, 1, 10, 1):
            response = client.get(url)
        assert response.status_code == 403
        assert "This link has expired" in response.content.decode()

    def test_a_tampered_link_is_refused_and_writes_nothing(self, client, shop, url):
        tampered = url.replace("/survey/", "/survey/x")
        response = client.get(tampered)
        assert response.status_code == 403 and 'id="link-error"' in response.content.decode()
        assert _post(client, tampered, consent="on", **GOOD).status_code == 403
        assert not SurveyResponse.objects.exists()

    def test_a_tampered_link_from_the_message_answers_in_its_language_on_an_english_phone(self, client, shop, url):
        page = client.get(url.replace("/survey/", "/survey/x") + "?lang=zh-hans")
        assert page.status_code == 403 and '<html lang="zh-hans">' in page.content.decode()
        assert "This link is not valid" not in page.content.decode()

    def test_an_order_link_is_no_survey_link(self, client, shop, delivered):
        from aftersales.service.services.links import order_link_token

        response = client.get(f"/feedback/survey/{order_link_token(delivered)}/")
        assert response.status_code == 403

    def test_a_visit_not_yet_delivered_cannot_be_rated(self, client, shop):
        from aftersales.service.tests.conftest import order_ready

        order = order_ready(shop)
        response = client.get(_path(order))
        assert response.status_code == 200 and 'id="not-delivered"' in response.content.decode()
        _post(client, _path(order), consent="on", **GOOD)
        assert not SurveyResponse.objects.exists()
