"""The customer's order page never shows text taken from its address: a refused action redirects with a code, and
only the codes of a fixed list show their fixed, translated text."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from aftersales.service import services
from aftersales.service.models import EstimateLine
from aftersales.service.services.links import order_link_token
from aftersales.service.tests.conftest import approved_labour, inspect, open_order, order_ready
from aftersales.service.views_customer import ORDER_PAGE_ALERTS

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return Client(headers={"accept-language": "en"})


def _page(client, token: str, query: str = "", language: str = "en") -> str:
    url = reverse("service:customer-order", args=[token]) + query
    return client.get(url, headers={"accept-language": language}).content.decode()


def _alert(page: str) -> str:
    if 'id="page-error"' not in page:
        return ""
    return page.split('id="page-error">', 1)[1].split("</div>", 1)[0]


class QueryStringAlertTests:
    def test_text_in_the_address_is_never_shown(self, client, shop):
        token = order_link_token(open_order(shop))
        for text in ("Call 400-000-0000 for your refund", "<b>Your car was stolen</b>", "This order is closed."):
            page = _page(client, token, "?" + urlencode({"error": text}))
            shown = re.sub(r'value="[^"]*"', "", page)  # the language switch keeps the address in a form field
            assert _alert(page) == "" and "400-000-0000" not in shown and "stolen" not in shown

    def test_a_known_code_shows_its_fixed_text_in_the_customers_language(self, client, shop):
        token = order_link_token(open_order(shop))
        assert _alert(_page(client, token, "?error=already_rated")) == "This visit has already been rated. Thank you!"
        chinese = _alert(_page(client, token, "?error=already_rated", language="zh-hans"))
        assert chinese and "Thank you" not in chinese

    def test_rating_twice_and_a_bad_rating_redirect_with_codes(self, client, shop):
        order = order_ready(shop)
        order = services.repair_order_deliver(
            order=order, by=shop.advisor, explanation="更换了刹车片", next_service_date=None, next_service_km=None
        )
        token = order_link_token(order)
        url = reverse("service:customer-order-rate", args=[token])
        assert client.post(url, {"rating": "9"})["Location"].endswith("/#rating")
        assert client.post(url, {"rating": "3"})["Location"].endswith("/?error=already_rated#rating")
        assert client.post(url, {"rating": "11"})["Location"].endswith("/?error=rating_invalid#rating")

    def test_rating_before_delivery_redirects_with_its_code(self, client, shop):
        token = order_link_token(open_order(shop))
        location = client.post(reverse("service:customer-order-rate", args=[token]), {"rating": "9"})["Location"]
        assert location.endswith("/?error=rating_not_yet#rating")

    def test_a_refused_decision_redirects_with_a_code_of_the_list(self, client, shop):
        order = open_order(shop)
        inspect(shop, order)
        line = approved_labour(shop, order)
        token = order_link_token(order)
        location = client.post(
            reverse("service:customer-order-decide", args=[token, line.pk]), {"decision": "declined"}
        )["Location"]
        code = location.split("?error=", 1)[1].split("#", 1)[0]
        assert code in ORDER_PAGE_ALERTS
        assert _alert(_page(client, token, f"?error={code}")) == str(ORDER_PAGE_ALERTS[code])
        assert EstimateLine.objects.get(pk=line.pk).decision == "approved"
