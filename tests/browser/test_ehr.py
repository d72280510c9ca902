"""The e-health record uploads page in a real browser: a manager sees what the (local, real HTTP) provincial
platform rejected with its reason and what waits for a retry, resends the corrected record, in Chinese and in
English, under the strict Content-Security-Policy.

The screenshots of docs/images/ehr-uploads-*.png come from this test (AFTERSALES_UPDATE_DOCS_IMAGES=1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aftersales.config.testing import make_group, make_store, make_user
from aftersales.ehr import services
from aftersales.ehr.models import EhrSubmission
from aftersales.ehr.tests.conftest import PlatformServer, endpoint_for, settled_order
from aftersales.organisation.choices import Role
from aftersales.service.models import RepairOrder
from tests.browser.helpers import DESKTOP, PASSWORD, log_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / ("docs/images" if os.environ.get("AFTERSALES_UPDATE_DOCS_IMAGES") == "1" else "test-artifacts")


@pytest.fixture
def uploads(transactional_db):
    server = PlatformServer()
    group = make_group("demo", "华东汽车服务集团")
    store = make_store(group, "SH01", "上海浦东大众4S店")
    manager = make_user("manager", Role.MANAGER, store=store)
    manager.set_password(PASSWORD)
    manager.save()
    endpoint_for(server, store)
    orders = [settled_order(store, by=manager) for _ in range(4)]
    server.platform.reject_vins[orders[0].vehicle.vin] = "本次维修里程小于上次维修里程"
    server.platform.reject_vins[orders[1].vehicle.vin] = "结算清单编号重复"
    services.ehr_sweep()
    services.ehr_deliver(submission_id=EhrSubmission.objects.get(order=orders[0]).pk)
    services.ehr_deliver(submission_id=EhrSubmission.objects.get(order=orders[1]).pk)
    server.platform.status = 503  # the platform is down for maintenance
    services.ehr_deliver(submission_id=EhrSubmission.objects.get(order=orders[2]).pk)
    yield server, orders
    server.stop()


@pytest.mark.parametrize(("locale", "language"), [("zh-CN", "zh-Hans"), ("en-GB", "en")])
def test_the_manager_sees_the_reasons_and_resends(browser, live_server, uploads, csp_violations, locale, language):
    server, orders = uploads
    context = browser.new_context(locale=locale, **DESKTOP)
    page = log_in(context, live_server.url, "manager")
    page.goto(f"{live_server.url}/ehr/")
    rows = page.locator("[id^=ehr-][data-status]")
    assert rows.count() == 4  # two rejected, one retrying, one still waiting
    assert "本次维修里程小于上次维修里程" in page.locator("#ehr-submissions").inner_text()
    assert page.locator("[data-status=retrying]").count() == 1
    IMAGES.mkdir(exist_ok=True)
    page.screenshot(path=str(IMAGES / f"ehr-uploads-{language}.png"), full_page=True)
    # the first order's mileage is corrected; the platform takes it now
    RepairOrder.objects.filter(pk=orders[0].pk).update(mileage_in=30500)
    server.platform.reject_vins.clear()
    server.platform.status = 0
    first = EhrSubmission.objects.get(order=orders[0])
    submit(page, page.locator(f"#ehr-{first.pk} button"), "resend")
    assert page.locator(f"#ehr-{first.pk}").get_attribute("data-status") == "pending"
    services.ehr_deliver_due()
    first.refresh_from_db()
    assert first.status == "accepted" and first.record["mileage_km"] == 30500
    page.reload()
    assert page.locator(f"#ehr-{first.pk}").count() == 0
    context.close()
