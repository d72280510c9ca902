"""The browser side of docs/SECURITY.md: the CSP watch of every browser test really sees a violation, the
policy blocks inline code, and a person who mistypes the password five times sees the lockout page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import DESKTOP, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class BrowserSecurityTests:
    def test_the_watch_reports_inline_code_the_policy_blocked(self, browser, live_server, csp_violations):
        context = browser.new_context(locale="en-US", **DESKTOP)
        page = context.new_page()
        response = page.goto(f"{live_server.url}/accounts/login/")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "window.injected = true";
                document.body.append(script);
                const style = document.createElement("style");
                style.textContent = "body { display: none }";
                document.head.append(style);
            }"""
        )
        expect(page.locator("#id_username")).to_be_visible()  # the injected style did not apply
        assert page.evaluate("() => window.injected === undefined")
        page.wait_for_timeout(200)
        seen = list(csp_violations)
        csp_violations.clear()  # expected here: the browser fixture fails any other test that reports one
        assert any("script-src" in line for line in seen), seen
        assert any("style-src-elem" in line for line in seen), seen
        context.close()

    def test_five_wrong_passwords_show_the_lockout_page_and_the_right_one_waits(self, browser, live_server, cast):
        context = browser.new_context(locale="zh-CN", **DESKTOP)
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        for _n in range(5):
            page.fill("#id_username", "alice")
            page.fill("#id_password", "wrong-password")
            with page.expect_navigation():
                page.click("button[type=submit]")
            if page.locator("#locked-out").count():
                break
            expect(page.locator(".alert-danger")).to_be_visible()
        expect(page.locator("#locked-out")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        page.click("#locked-out a")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "pw-alice")
        with page.expect_navigation():
            page.click("button[type=submit]")
        expect(page.locator("#locked-out")).to_be_visible()
        # Another person at another desk is not affected (a different user name from the same address).
        other = log_in(browser.new_context(locale="en-US", **DESKTOP), live_server.url, "bob", "pw-bob")
        assert other.url.rstrip("/") == live_server.url
        context.close()

    def test_a_chart_and_its_tooltip_draw_under_the_policy(self, browser, live_server, cast, csp_violations):
        from aftersales.config.testing import make_customer

        for name in ("张三", "李四", "王五"):
            make_customer(cast.store_a, name=name)
        # The store manager's home carries the new-customers chart (an advisor's home shows their own figures).
        page = log_in(browser.new_context(locale="en-US", **DESKTOP), live_server.url, "mia", "pw-mia")
        chart = page.locator("[data-chart=registrations-chart]")
        expect(chart.locator("svg")).to_have_count(1)
        box = chart.bounding_box()
        assert box is not None
        for step in range(1, 10):  # sweep across the plot: the axis tooltip follows the pointer
            page.mouse.move(box["x"] + box["width"] * step / 10, box["y"] + box["height"] / 2)
        expect(chart.locator("div").filter(has_text="上海店").last).to_be_visible()
        page.wait_for_timeout(200)
        assert csp_violations == []
