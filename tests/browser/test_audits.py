"""A mystery shopper fills in the group's mystery-shopper checklist on a phone (390 × 844) under the strict
Content-Security-Policy: starts the audit, taps pass / fail / n.a. per item (each saved at once by htmx, the
progress and the live score following), writes the note and attaches a photo from the camera to the failed item,
says how and when they met the store, and submits; the audit's page shows the score and the finding.  The page
never scrolls sideways.

The screenshots docs/images/audit-mystery-shopper-phone-{zh,en}.png come from this test
(AFTERSALES_DOC_SCREENSHOTS=1)."""

from __future__ import annotations

import datetime as dt
import io
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from aftersales.audits import services
from aftersales.audits.choices import AuditKind, AuditStatus
from aftersales.audits.models import Audit, AuditChecklist, AuditPhoto, Finding
from aftersales.config.testing import make_cast, make_user
from aftersales.core import clock
from aftersales.organisation.choices import Role
from tests.browser.helpers import PHONE, log_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def _keep(page, name: str, screenshot) -> None:
    if os.environ.get("AFTERSALES_DOC_SCREENSHOTS"):
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_IMAGES / f"{name}.png"))  # what the phone shows, not the whole list
    else:
        screenshot(page, name)


def _photo() -> bytes:
    """A small JPEG like a phone's (a grey waiting-room wall with a stain)."""
    image = Image.new("RGB", (320, 240), (196, 196, 188))
    for x in range(120, 190):
        for y in range(90, 150):
            image.putpixel((x, y), (120, 100, 70))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


@pytest.fixture
def world(transactional_db):
    cast = make_cast()
    quality = make_user("quality", Role.QUALITY, group=cast.group)
    shopper = make_user("shopper", Role.AUDITOR, group=cast.group)
    services.checklists_install_defaults(group=cast.group)
    checklist = AuditChecklist.objects.get(group=cast.group, kind=AuditKind.MYSTERY_SHOPPER, is_active=True)
    audit = services.audit_plan(
        by=quality,
        store=cast.store_a,
        kind=AuditKind.MYSTERY_SHOPPER,
        checklist=checklist,
        auditor=shopper,
        due_date=clock.today() + dt.timedelta(days=7),
    )
    return {"cast": cast, "audit": audit, "items": list(checklist.items.order_by("position", "id"))}


def _expected_score(items, results) -> Decimal:
    applicable = sum((i.weight for i, r in zip(items, results, strict=True) if r != "na"), Decimal(0))
    passed = sum((i.weight for i, r in zip(items, results, strict=True) if r == "pass"), Decimal(0))
    return (passed / applicable * 100).quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    ("locale", "lang", "words"),
    [("zh-CN", "zh", ("已回答", "提交审核")), ("en-US", "en", ("answered", "Submit the audit"))],
)
def test_a_mystery_shopper_fills_the_checklist_on_a_phone(
    browser, live_server, world, screenshot, csp_violations, tmp_path, settings, locale, lang, words
):
    settings.MEDIA_ROOT = tmp_path
    audit, items = world["audit"], world["items"]
    context = browser.new_context(locale=locale, **PHONE)
    page = log_in(context, live_server.url, "shopper", "pw-shopper")
    page.goto(f"{live_server.url}/audits/")
    submit(page, page.locator(f"#mine-{audit.pk} a"), "open my audit")
    assert page.url.endswith(f"/audits/{audit.pk}/fill/")
    submit(page, page.locator("#start-audit"), "start the audit")

    # A visit: everything passes but the second item (failed, with a note and a photo); one item that allows
    # it is not applicable.
    na_index = next((i for i, item in enumerate(items) if item.allows_na and i > 1), None)
    results = ["fail" if i == 1 else "na" if i == na_index else "pass" for i in range(len(items))]
    photo = tmp_path / "stain.jpg"
    photo.write_bytes(_photo())
    note = "接待台无人，等候 4 分钟" if lang == "zh" else "Nobody at the desk for 4 min"
    for item, result in zip(items, results, strict=True):
        card = page.locator(f"#item-{item.pk}")
        if result == "fail":
            page.locator(f"#note-{item.pk}").fill(note)
            page.locator(f"#photos-{item.pk}").set_input_files(str(photo))
        card.locator(f"button[data-verdict={result}]").click()
        expect(page.locator(f"#item-{item.pk}")).to_have_attribute("data-result", result)
    progress = page.locator("#fill-progress")
    expect(progress).to_have_attribute("data-answered", str(len(items)))
    expect(progress).to_contain_text(f"{len(items)} / {len(items)}")
    expect(progress).to_contain_text(words[0])
    score = _expected_score(items, results)
    expect(page.locator("#score-preview")).to_have_attribute("data-score", f"{score:.2f}")
    expect(page.locator(f"#item-{items[1].pk} img")).to_have_count(1)

    page.select_option("#id_channel", "visit")
    visited = timezone.localtime(clock.now() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#id_performed_at", visited)
    page.fill("#id_summary", "前台接待需加强。" if lang == "zh" else "Reception needs work.")
    expect(page.locator("#submit-audit")).to_contain_text(words[1])
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["viewport"]["width"], f"the page scrolls sideways ({width} px)"
    page.evaluate("window.scrollTo(0, 0)")
    _keep(page, f"audit-mystery-shopper-phone-{lang}", screenshot)

    submit(page, page.locator("#submit-audit"), "submit the audit")
    assert page.url.endswith(f"/audits/{audit.pk}/")
    expect(page.locator("#audit-score")).to_have_attribute("data-score", f"{score:.2f}")
    finding = Finding.objects.get(audit=audit)
    expect(page.locator(f"#finding-{finding.pk}")).to_be_visible()
    audit = Audit.objects.get(pk=audit.pk)
    assert audit.status == AuditStatus.SUBMITTED and audit.score == score and audit.channel == "visit"
    assert AuditPhoto.objects.filter(answer__audit=audit).count() == 1
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["viewport"]["width"], f"the audit's page scrolls sideways ({width} px)"
    assert csp_violations == []
    context.close()
