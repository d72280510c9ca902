"""The webhooks pages in a real browser under the strict Content-Security-Policy: the group manager sees the
group's subscriptions, and one subscription's delivery log — a complaint logged after subscribing and a test ping
delivered to a real subscriber on 127.0.0.1, and a ping to a subscriber that is down, failed with the reason and
its next attempt. In both languages, and on a phone without scrolling sideways.

The screenshots of docs/images/webhooks-*.png come from this test (AFTERSALES_DOC_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from aftersales.config.testing import make_customer
from aftersales.feedback import services as feedback_services
from aftersales.organisation.models import DealerGroup, Store
from aftersales.webhooks import services
from tests.browser.helpers import DESKTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


class _Accept(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def subscriber():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Accept)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    server.shutdown()


@pytest.fixture
def world(transactional_db, subscriber):
    # A past --today: the seed's day of "today" may carry order moves later in the day than the subscription,
    # which the sweep would then deliver (the log would hold more than the complaint and the ping).
    args = ["--stores", "2", "--customers", "30", "--months", "1", "--seed", "5", "--today", "2026-06-30"]
    args.append("--no-progress")
    call_command("seed", *args, stdout=StringIO(), stderr=StringIO())
    manager = get_user_model().objects.get(username="group")
    group = DealerGroup.objects.order_by("pk").first()
    crm, _secret = services.subscription_create(
        by=manager,
        group=group,
        store=None,
        name="呼叫中心 CRM",
        url=subscriber,
        event_types=["complaint.opened", "complaint.closed", "order.status_changed", "survey.answered"],
    )
    down, _secret = services.subscription_create(
        by=manager,
        group=group,
        store=Store.objects.get(code="SH01"),
        name="OEM 质量平台",
        url="http://127.0.0.1:9/down",  # nothing listens: the delivery fails and waits for its retry
        event_types=["complaint.escalated"],
    )
    store = Store.objects.get(code="SH01")
    feedback_services.complaint_log(
        store=store,
        customer=make_customer(store, name="周敏"),
        channel="phone",
        category="waiting",
        priority="important",
        description="等候时间太长。",
        by=get_user_model().objects.get(username="advisor"),
    )
    services.webhook_sweep()
    services.subscription_test(subscription=crm, by=manager)
    services.subscription_test(subscription=down, by=manager)
    return crm, down


def _keep(page, name: str, screenshot) -> None:
    if os.environ.get("AFTERSALES_DOC_SCREENSHOTS"):
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_IMAGES / f"{name}.png"), full_page=True)
    else:
        screenshot(page, name)


@pytest.mark.parametrize(
    ("locale", "lang", "opened"), [("zh-CN", "zh-Hans", "投诉已登记"), ("en-US", "en", "Complaint opened")]
)
def test_the_group_manager_reads_subscriptions_and_a_delivery_log(
    browser, live_server, world, screenshot, csp_violations, locale, lang, opened
):
    crm, down = world
    context = browser.new_context(locale=locale, **DESKTOP)
    page = log_in(context, live_server.url, "group")
    page.goto(f"{live_server.url}/webhooks/")
    expect(page.locator("main")).to_contain_text("呼叫中心 CRM")
    expect(page.locator("main")).to_contain_text("OEM 质量平台")
    _keep(page, f"webhooks-{lang}", screenshot)
    page.goto(f"{live_server.url}/webhooks/{crm.pk}/")
    expect(page.locator('#webhook-deliveries tr[data-status="sent"]')).to_have_count(2)  # the complaint, the ping
    expect(page.locator("#webhook-deliveries")).to_contain_text(opened)
    _keep(page, f"webhooks-log-{lang}", screenshot)
    page.goto(f"{live_server.url}/webhooks/{down.pk}/")
    expect(page.locator('#webhook-deliveries tr[data-status="pending"]')).to_have_count(1)  # waits for its retry
    _keep(page, f"webhooks-failing-{lang}", screenshot)
    assert csp_violations == []
    context.close()


def test_the_delivery_log_reads_on_a_phone(browser, live_server, world, screenshot, csp_violations):
    crm, _down = world
    context = browser.new_context(locale="zh-CN", **PHONE)
    page = log_in(context, live_server.url, "group")
    page.goto(f"{live_server.url}/webhooks/{crm.pk}/")
    expect(page.locator('#webhook-deliveries tr[data-status="sent"]')).to_have_count(2)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["viewport"]["width"], f"the page scrolls sideways ({width} px)"
    _keep(page, "webhooks-log-phone", screenshot)
    assert csp_violations == []
    context.close()
