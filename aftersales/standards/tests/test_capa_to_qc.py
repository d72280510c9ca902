"""A CAPA that closes with a procedure change publishes the new SOP version, and the QC page of the store's next
car shows it (issue 16, "Done when").  Also: the close guard accepts a drafted version instead of the text, the
closer must be allowed to approve it, the version lists its CAPA back, and the QC check records the version."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aftersales.core.exceptions import ApplicationError
from aftersales.feedback import services as feedback
from aftersales.service import services as service
from aftersales.service.tests.conftest import order_in_progress, walk
from aftersales.standards import selectors, services
from aftersales.standards.models import Acknowledgement
from aftersales.standards.tests.conftest import frozen, qc_items

pytestmark = pytest.mark.django_db
NEW_ITEM = "举升前后检查底盘螺栓扭矩"
NEW_ITEM_EN = "Underbody bolts torqued, checked before and after lifting"


def _capa_ready_to_close(shop, by):
    capa = feedback.capa_open(
        store=shop.store, by=by, title="底盘螺栓松动返修", cluster_category="quality", cluster_month=dt.date(2026, 2, 1)
    )
    feedback.capa_transition(capa=capa, to="analysing", by=by)
    feedback.capa_update(capa=capa, by=by, root_cause="质检清单未包含底盘螺栓")
    action = feedback.capa_action_add(
        capa=capa, by=by, description="培训质检员", owner=shop.cast.mia, due_date=dt.date(2026, 3, 20)
    )
    feedback.capa_transition(capa=capa, to="acting", by=by)
    feedback.capa_action_done(action=action, by=shop.cast.mia)
    feedback.capa_transition(capa=capa, to="verifying", by=by)
    feedback.capa_update(capa=capa, by=by, kpi_name="comebacks per month", kpi_before="6", kpi_after=Decimal("1"))
    return capa


def _order_at_qc(shop):
    return walk(shop, order_in_progress(shop), "qc")


def test_closing_a_capa_publishes_its_sop_version_and_the_qc_page_shows_it(client, shop):
    mia = shop.cast.mia
    with frozen(2026, 3, 2, 9, 0):
        capa = _capa_ready_to_close(shop, mia)
        with pytest.raises(ApplicationError):  # neither the text nor a version yet
            feedback.capa_transition(capa=capa, to="closed", by=mia)
        version = feedback.capa_procedure_draft(
            capa=capa,
            by=mia,
            step="qc",
            scope="store",
            change_note="底盘螺栓松动返修 3 次",
            items=qc_items({"key": "underbody", "text": NEW_ITEM, "text_en": NEW_ITEM_EN}),
        )
        assert version.status == "draft" and version.procedure.code == "SOP-QC-SH01"
        # Before the close: the store's QC still reads the built-in default.
        assert selectors.current_version(store=shop.store, step="qc").number == 0
        feedback.capa_transition(capa=capa, to="closed", by=mia)
    version.refresh_from_db()
    capa.refresh_from_db()
    assert (capa.status, capa.procedure_version_id) == ("closed", version.pk)
    assert (version.status, version.approver, version.effective_from) == ("published", mia, dt.date(2026, 3, 2))
    assert Acknowledgement.objects.filter(version=version).count() > 0
    assert list(version.capas.all()) == [capa]  # linked back
    with frozen(2026, 3, 2, 10, 0):
        order = _order_at_qc(shop)
        client.force_login(shop.foreman)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        page = client.get(f"/service/orders/{order.pk}/")
        html = page.content.decode()
        assert page.status_code == 200
        assert NEW_ITEM_EN in html and "SOP-QC-SH01 v1" in html and 'name="check_underbody"' in html
        # The new item is now required for a pass, and the check records the version.
        ticked = {item.key: True for item in selectors.version_items(version)}
        check = service.quality_check_record(order=order, by=shop.foreman, passed=True, checklist=ticked)
        assert check.procedure_version_id == version.pk and check.checklist["underbody"] is True
    # The SOP's page lists the CAPA that produced the version.
    client.force_login(mia)
    sop_page = client.get(f"/sops/{version.procedure_id}/").content.decode()
    assert f"/feedback/capa/{capa.pk}/" in sop_page and NEW_ITEM_EN in sop_page


def test_the_closer_must_be_allowed_to_publish_the_drafted_version(shop, cast):
    """A group default drafted by the group manager: the store manager, who runs the CAPA, may not approve it."""
    with frozen(2026, 3, 2, 9, 0):
        capa = _capa_ready_to_close(shop, cast.mia)
        version = feedback.capa_procedure_draft(capa=capa, by=cast.grace, step="qc", scope="group")
        assert version.procedure.store is None
        with pytest.raises(ApplicationError):
            feedback.capa_transition(capa=capa, to="closed", by=cast.mia)
        capa.refresh_from_db()
        version.refresh_from_db()
        assert capa.status == "verifying" and version.status == "draft"
        feedback.capa_transition(capa=capa, to="closed", by=cast.grace)
        version.refresh_from_db()
        assert version.status == "published" and version.approver == cast.grace
        assert [s.code for s in services.affected_stores(version.procedure)] == ["HZ01", "SH01"]


def test_the_old_text_field_still_closes_a_capa(shop):
    with frozen(2026, 3, 2, 9, 0):
        capa = _capa_ready_to_close(shop, shop.cast.mia)
        feedback.capa_update(capa=capa, by=shop.cast.mia, procedure_change="接待SOP：高峰期双顾问")
        feedback.capa_transition(capa=capa, to="closed", by=shop.cast.mia)
        capa.refresh_from_db()
        assert capa.status == "closed" and capa.procedure_version is None
