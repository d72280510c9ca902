"""/api/v1/sops (issue 16's public contract) and the SOP pages: the list and one procedure with items, what a
caller may see, refusals that write nothing, and the draft → publish → acknowledge path through the pages."""

from __future__ import annotations

import datetime as dt

import pytest

from aftersales.standards import services
from aftersales.standards.models import Acknowledgement, Procedure, ProcedureVersion
from aftersales.standards.tests.conftest import frozen

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(cast, quality, shop):
    """The group's defaults (v1, 2 March) and store A's QC variant (v1 published, in force from 2 March)."""
    with frozen(2026, 3, 2, 9, 0):
        services.procedures_install_defaults(group=cast.group, by=quality)
        variant = services.procedure_ensure(group=cast.group, store=cast.store_a, step="qc", by=cast.mia)
        services.version_publish(version=services.version_draft(procedure=variant, by=cast.mia), by=cast.mia)
    return variant


def test_the_list_contract_and_what_each_caller_sees(client, cast, library, api_token):
    with frozen(2026, 3, 3, 9, 0):
        answer = client.get("/api/v1/sops", **api_token(cast.alice))
        by_store = client.get("/api/v1/sops?store=HZ01&step=qc", **api_token(cast.grace))
        in_a = client.get("/api/v1/sops?store=SH01&step=qc", **api_token(cast.alice))
        other_group = client.get("/api/v1/sops", **api_token(cast.otto))
        carol = client.get("/api/v1/sops?step=qc", **api_token(cast.carol))
        foreign_store = client.get("/api/v1/sops?store=HZ01", **api_token(cast.alice))
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"items", "count"} and body["count"] == len(body["items"]) == 9  # 8 defaults + SH01's QC
    assert set(body["items"][0]) == {"id", "code", "step", "title", "version", "effective_from"}
    qc = [row for row in body["items"] if row["step"] == "qc"]
    assert [(r["code"], r["version"], r["effective_from"]) for r in qc] == [
        ("SOP-QC", 1, "2026-03-02"),
        ("SOP-QC-SH01", 1, "2026-03-02"),
    ]
    assert [r["code"] for r in by_store.json()["items"]] == ["SOP-QC"]
    assert [r["code"] for r in in_a.json()["items"]] == ["SOP-QC-SH01"]
    # Another group's library: its built-in defaults, never this group's procedures.
    assert {r["id"] for r in other_group.json()["items"]} == {None} and other_group.json()["count"] == 8
    assert [r["code"] for r in carol.json()["items"]] == ["SOP-QC"]  # store B does not see store A's variant
    assert foreign_store.status_code == 422 and "store" in foreign_store.json()["errors"]


def test_one_procedure_with_items_and_isolation(client, cast, library, api_token):
    with frozen(2026, 3, 3, 9, 0):
        mine = client.get(f"/api/v1/sops/{library.pk}", **api_token(cast.alice))
        not_mine = client.get(f"/api/v1/sops/{library.pk}", **api_token(cast.carol))
        other_group = client.get(f"/api/v1/sops/{library.pk}", **api_token(cast.otto))
        missing = client.get("/api/v1/sops/999999", **api_token(cast.alice))
    assert mine.status_code == 200
    body = mine.json()
    assert (body["code"], body["store"], body["version"]) == ("SOP-QC-SH01", "SH01", 1)
    assert [i["key"] for i in body["items"]][:3] == ["work_done", "road_test", "no_leaks"]
    assert set(body["items"][0]) == {"key", "text", "text_en", "customer_facing"}
    assert not_mine.status_code == other_group.status_code == missing.status_code == 404


def test_the_pages_draft_publish_acknowledge(client, cast, library, shop):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    default_qc = Procedure.objects.get(group=cast.group, store__isnull=True, step="delivery")
    with frozen(2026, 3, 3, 9, 0):
        client.force_login(shop.foreman)
        page = client.get("/sops/")
        assert page.status_code == 200 and "SOP-QC-SH01" in page.content.decode()
        assert client.get(f"/sops/{library.pk}/draft/").status_code == 403  # a foreman reads, never drafts
        assert client.post(f"/sops/{default_qc.pk}/draft/", {"text": "x", "rows": "0"}).status_code == 403
        client.force_login(cast.grace)
        form = client.get(f"/sops/{default_qc.pk}/draft/")
        assert form.status_code == 200 and "explain_work" in form.content.decode()
        refused = client.post(f"/sops/{default_qc.pk}/draft/", {"text": "", "change_note": "", "rows": "0"})
        assert refused.status_code == 400 and not ProcedureVersion.objects.filter(status="draft").exists()
        saved = client.post(
            f"/sops/{default_qc.pk}/draft/",
            {
                "text": "交车时讲解电子发票",
                "change_note": "加电子发票",
                "rows": "2",
                "key_0": "explain_work",
                "text_0": "逐项解释所做项目和费用",
                "text_en_0": "Explain each line of work and its cost",
                "customer_facing_0": "on",
                "text_1": "开具电子发票",
                "text_en_1": "Issue the e-invoice",
            },
        )
        assert saved.status_code == 302
        draft = ProcedureVersion.objects.get(status="draft")
        assert [i.key for i in draft.items.order_by("position")] == ["explain_work", "issue-the-e-invoice"]
        late = client.post(f"/sops/{default_qc.pk}/versions/{draft.pk}/publish/", {"effective_from": "2026-03-01"})
        assert late.status_code == 302 and ProcedureVersion.objects.get(pk=draft.pk).status == "draft"
        client.post(f"/sops/{default_qc.pk}/versions/{draft.pk}/publish/", {"effective_from": "2026-03-03"})
        assert ProcedureVersion.objects.get(pk=draft.pk).status == "published"
        client.force_login(cast.alice)  # an advisor delivers cars: asked to read it
        mine = client.get("/sops/mine/").content.decode()
        assert "SOP-DL v2" in mine
        client.post(f"/sops/{default_qc.pk}/versions/{draft.pk}/acknowledge/", {"next": "mine"})
        assert Acknowledgement.objects.get(version=draft, user=cast.alice).acknowledged_at is not None
        assert "Nothing to read" in client.get("/sops/mine/").content.decode()
        detail = client.get(f"/sops/{default_qc.pk}/").content.decode()
        assert "Issue the e-invoice" in detail and 'data-change="added"' in detail
        assert 'data-change="removed"' in detail  # the items v2 dropped, struck through


def test_the_walk_around_and_delivery_cards_show_their_sop_and_record_ticks(client, shop, library):
    from django.core.exceptions import ValidationError

    from aftersales.config.testing import make_vehicle
    from aftersales.service import services as service
    from aftersales.service.tests.conftest import open_order, order_ready

    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(shop.cast.alice)
    with frozen(2026, 3, 3, 9, 0):
        ready = order_ready(shop)
        page = client.get(f"/service/orders/{ready.pk}/").content.decode()
        assert "SOP-DL v1" in page and 'name="sop_show_old_parts"' in page
        with pytest.raises(ValidationError) as caught:
            service.repair_order_deliver(
                order=ready,
                by=shop.cast.alice,
                explanation="已说明",
                next_service_date=None,
                next_service_km=None,
                checklist={"nonsense": True},
            )
        assert "checklist" in caught.value.message_dict
        service.repair_order_deliver(
            order=ready,
            by=shop.cast.alice,
            explanation="已说明",
            next_service_date=None,
            next_service_km=None,
            checklist={"explain_work": True, "show_old_parts": True},
        )
        ready.refresh_from_db()
        assert ready.delivery_checklist["show_old_parts"] is True and ready.delivery_checklist["ask_rating"] is False
        assert ready.delivery_procedure_version.procedure.code == "SOP-DL"
        order = open_order(shop, vehicle=make_vehicle(shop.customer, by=shop.cast.alice, plate="沪A54321"))
        page = client.get(f"/service/orders/{order.pk}/").content.decode()
        assert "SOP-RC v1" in page and 'name="sop_covers"' in page
        service.inspection_record(
            order=order, by=shop.cast.alice, mileage_in=12500, fuel_level=50, checklist={"covers": True}
        )
        order.refresh_from_db()
        assert order.reception_checklist["covers"] is True and order.reception_checklist["greet"] is False
        assert order.reception_procedure_version.procedure.code == "SOP-RC"


def test_query_counts_of_the_pages_are_bounded(client, cast, library, django_assert_max_num_queries):
    client.force_login(cast.grace)
    client.get("/sops/")
    with frozen(2026, 3, 3, 9, 0), django_assert_max_num_queries(30):
        assert client.get("/sops/").status_code == 200
    with frozen(2026, 3, 3, 9, 0), django_assert_max_num_queries(30):
        assert client.get(f"/sops/{library.pk}/").status_code == 200
    assert dt.date(2026, 3, 3)
