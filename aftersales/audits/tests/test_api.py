"""The audits API's public contract (issue 16): the checklists with their items, `POST /audits` answering
{"id", "score", "findings"}, errors as problems naming the field, and the audited store neither seeing an audit
before it is submitted nor recording one."""

from __future__ import annotations

import json

import pytest

from aftersales.audits import services
from aftersales.audits.choices import AuditKind
from aftersales.audits.models import Audit, AuditAnswer, Finding

from .conftest import frozen, small_checklist

pytestmark = pytest.mark.django_db
API = "/api/v1"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def post(client, path, body, headers):
    return client.post(f"{API}{path}", data=json.dumps(body), content_type="application/json", **headers, **EN)


def get(client, path, headers, **params):
    return client.get(f"{API}{path}", params, **headers, **EN)


def body_for(checklist, results, **extra):
    items = list(checklist.items.order_by("position"))
    answers = [
        {"item": item.pk, "result": result, **({"note": "没有说明"} if result == "fail" else {})}
        for item, result in zip(items, results, strict=True)
    ]
    return {"store": "SH01", "kind": checklist.kind, "checklist": checklist.pk, "answers": answers, **extra}


class ChecklistListTests:
    def test_the_checklists_with_their_items_paged(self, client, scene, api_token):
        response = get(client, "/audit-checklists", api_token(scene.sam), kind="mystery_shopper")
        assert response.status_code == 200
        payload = response.json()
        assert payload["count"] == 1 and len(payload["items"]) == 1
        checklist = payload["items"][0]
        assert checklist["kind"] == "mystery_shopper" and checklist["id"] == scene.checklists["mystery_shopper"].pk
        assert {"id", "text", "weight"} <= set(checklist["items"][0])
        # The weight is a JSON number (the score's arithmetic), like the score the POST answers.
        first = checklist["items"][0]
        item = scene.checklists["mystery_shopper"].items.get(pk=first["id"])
        assert isinstance(first["weight"], float) and first["weight"] == float(item.weight)
        every = get(client, "/audit-checklists", api_token(scene.cast.mia)).json()
        assert every["count"] == 4  # the store manager reads them too (VIEW_AUDITS)
        assert get(client, "/audit-checklists", api_token(scene.cast.otto)).json()["count"] == 0  # another group

    def test_an_unknown_kind_is_422_naming_it(self, client, scene, api_token):
        response = get(client, "/audit-checklists", api_token(scene.sam), kind="spot")
        assert response.status_code == 422 and set(response.json()["errors"]) == {"kind"}


class RecordTests:
    def test_the_contract_answer_is_id_score_and_findings(self, client, scene, api_token):
        checklist = small_checklist(scene)
        with frozen(2026, 3, 2, 10, 0):
            response = post(
                client,
                "/audits",
                body_for(checklist, ["pass", "fail", "na", "pass"], summary="总体良好"),
                api_token(scene.quinn),
            )
        assert response.status_code == 201, response.content
        payload = response.json()
        finding = Finding.objects.get()
        assert payload == {"id": finding.audit_id, "score": 77.78, "findings": [finding.pk]}
        assert finding.owner == scene.cast.mia

    def test_a_mystery_shopper_records_a_phone_call(self, client, scene, api_token):
        checklist = scene.checklists[AuditKind.MYSTERY_SHOPPER]
        results = ["pass"] * checklist.items.count()
        results[0] = "fail"
        with frozen(2026, 3, 2, 10, 0):
            response = post(
                client,
                "/audits",
                body_for(checklist, results, channel="phone", performed_at="2026-03-02T09:10:00+08:00"),
                api_token(scene.sam),
            )
        assert response.status_code == 201, response.content
        audit = Audit.objects.get()
        assert audit.auditor == scene.sam and audit.channel == "phone" and len(response.json()["findings"]) == 1

    def test_the_audited_store_cannot_record_and_sees_the_audit_only_once_submitted(self, client, scene, api_token):
        mia = api_token(scene.cast.mia)
        checklist = small_checklist(scene)
        response = post(client, "/audits", body_for(checklist, ["pass"] * 4), mia)
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
        with frozen(2026, 3, 2, 10, 0):
            audit = services.audit_plan(by=scene.quinn, store=scene.store, kind="internal", checklist=checklist)
            audit = services.audit_start(audit=audit, by=scene.quinn)
        assert get(client, f"/audits/{audit.pk}", mia).status_code == 404
        assert get(client, "/audits", mia).json()["count"] == 0
        quality = get(client, f"/audits/{audit.pk}", api_token(scene.quinn))
        assert quality.status_code == 200 and quality.json()["status"] == "in_progress"
        with frozen(2026, 3, 2, 11, 0):
            for item in checklist.items.all():
                services.audit_answer(audit=audit, by=scene.quinn, item=item, result="pass")
            services.audit_submit(audit=audit, by=scene.quinn)
        seen = get(client, f"/audits/{audit.pk}", mia)
        assert seen.status_code == 200
        assert seen.json()["score"] == 100.0 and len(seen.json()["answers"]) == 4
        assert get(client, "/audits", mia, status="submitted").json()["count"] == 1
        assert get(client, f"/audits/{audit.pk}", api_token(scene.cast.alice)).status_code == 404  # no VIEW_AUDITS

    def test_bad_answers_are_422_naming_each_and_nothing_is_written(self, client, scene, api_token):
        checklist = small_checklist(scene)
        body = body_for(checklist, ["pass", "fail", "na", "pass"])
        body["answers"][1]["note"] = ""
        body["answers"][3]["result"] = "na"  # the last item may not be n.a.
        body["answers"][0]["item"] = scene.checklists["video_check"].items.first().pk
        response = post(client, "/audits", body, api_token(scene.quinn))
        assert response.status_code == 422
        assert set(response.json()["errors"]) == {"answers.0.item", "answers.1.note", "answers.3.result"}
        schema = post(client, "/audits", {**body, "answers": [{"item": 0, "result": "maybe"}]}, api_token(scene.quinn))
        assert schema.status_code == 422
        assert set(schema.json()["errors"]) == {"answers.0.item", "answers.0.result"}
        unknown = post(client, "/audits", {**body, "store": "XX99", "checklist": 10**9}, api_token(scene.quinn))
        assert unknown.status_code == 422 and set(unknown.json()["errors"]) == {"store"}
        assert not Audit.objects.exists() and not AuditAnswer.objects.exists()

    def test_a_mystery_shopper_without_a_channel_and_a_video_check_without_its_reference(
        self, client, scene, api_token
    ):
        mystery = scene.checklists[AuditKind.MYSTERY_SHOPPER]
        response = post(client, "/audits", body_for(mystery, ["pass"] * mystery.items.count()), api_token(scene.sam))
        assert response.status_code == 422 and set(response.json()["errors"]) == {"channel"}
        video = scene.checklists[AuditKind.VIDEO_CHECK]
        response = post(client, "/audits", body_for(video, ["pass"] * video.items.count()), api_token(scene.quinn))
        assert response.status_code == 422 and set(response.json()["errors"]) == {"order", "video_reference"}
        assert not Audit.objects.exists()


class FindingListTests:
    def test_findings_filtered_by_store_status_and_overdue(self, client, scene, api_token):
        checklist = small_checklist(scene)
        with frozen(2026, 3, 2, 10, 0):
            post(client, "/audits", body_for(checklist, ["fail", "fail", "pass", "pass"]), api_token(scene.quinn))
        mia = api_token(scene.cast.mia)
        with frozen(2026, 3, 20, 10, 0):
            everything = get(client, "/audit-findings", mia).json()
            assert everything["count"] == 2 and everything["items"][0]["overdue"] is True
            assert get(client, "/audit-findings", mia, overdue="false").json()["count"] == 0
            assert get(client, "/audit-findings", mia, status="closed").json()["count"] == 0
            assert get(client, "/audit-findings", mia, store="SH01").json()["count"] == 2
            assert get(client, "/audit-findings", api_token(scene.cast.carol)).json()["count"] == 0
            assert get(client, "/audit-findings", mia, store="HZ01").status_code == 422
