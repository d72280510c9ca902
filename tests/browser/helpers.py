"""What the end-to-end browser tests share: logging in, submitting a form and failing with what the page says."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

PASSWORD = "aftersales-demo"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


# Chromium reports a blocked script, style or form as a console error naming the Content-Security-Policy; the
# init script adds one line per `securitypolicyviolation` event too, so no violation goes unreported.
CSP_MARK = "Content Security Policy"
_REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`Content Security Policy violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.location.href}:${event.lineNumber}`);
});
"""


def watch_csp(context, found: list[str]) -> None:
    """Collect into `found` every console message of this browser context that reports a CSP violation."""
    context.add_init_script(_REPORT_VIOLATIONS)

    def on_console(message) -> None:
        if CSP_MARK in message.text:
            found.append(f"{message.page.url if message.page else '?'}: {message.text}")

    context.on("console", on_console)


def problems(page) -> str:
    """Error alerts and field errors the page shows, as one string ('' when there are none)."""
    texts = page.locator(".alert-danger, .invalid-feedback, [data-error-for]").all_inner_texts()
    return " | ".join(t.strip() for t in texts if t.strip())


def submit(page, locator, what: str) -> None:
    """Click a submit button, wait for the next page, and fail clearly when the page reports a problem."""
    if locator.count() == 0:
        pytest.fail(f"{what}: the button is not on {page.url}")
    with page.expect_navigation():
        locator.first.click()
    found = problems(page)
    if found:
        pytest.fail(f"{what}: the page at {page.url} says: {found}")


def log_in(context, base_url: str, username: str, password: str = PASSWORD):
    page = context.new_page()
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/accounts/login/" not in page.url, f"{username} could not log in: {problems(page)}"
    return page


def choose(page, name: str, value: str) -> None:
    """Pick a radio button the way a person does: by clicking its label when the label is what shows."""
    radio = page.locator(f"input[name='{name}'][value='{value}']")
    expect(radio).to_have_count(1)
    label = page.locator(f"label[for='{radio.get_attribute('id')}']")
    if label.count() and label.first.is_visible():
        label.first.click()
    else:
        radio.check()
    expect(radio).to_be_checked()
