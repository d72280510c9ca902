"""The SOP endpoints of /api/v1/ (issue 16's public contract): the version in force of each standard operating
procedure the caller may read, and one procedure's version in force with its checklist items.

`GET /sops` lists every procedure of the caller's groups (the group defaults and their stores' variants) with its
version in force today; with `?store=CODE` it lists, for each step, what is in force in that store (its variant,
else the group default, else the built-in default, which has no id).  A procedure of a store the caller does not
see answers 404, the same as a missing one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema

from aftersales.core import clock
from aftersales.core.api_schema import choices_of
from aftersales.organisation.access import store_by_code
from aftersales.standards import selectors
from aftersales.standards.choices import ProcedureStep
from aftersales.standards.models import Procedure, ProcedureVersion

router = Router(tags=["sops"])

StepOut = choices_of(Procedure, "step")


class SopOut(Schema):
    """A standard operating procedure with the version in force today (version 0: the built-in default)."""

    id: int | None = Field(..., description="the procedure's id (null for a built-in default not installed yet)")
    code: str = Field(..., examples=["SOP-QC"])
    step: StepOut
    title: str = Field(..., examples=["质检标准作业程序"])
    version: int | None = Field(..., description="the number of the version in force (null: none in force yet)")
    effective_from: dt.date | None


class SopListOut(Schema):
    """The procedures the caller may read, each with its version in force."""

    items: list[SopOut]
    count: int


class SopItemOut(Schema):
    """One checklist item of a version; `key` stays the same from version to version."""

    key: str = Field(..., examples=["road_test"])
    text: str = Field(..., examples=["路试或功能测试合格"])
    text_en: str = Field(..., examples=["Road test or function test passed"])
    customer_facing: bool = Field(..., description="the customer sees it (mystery shoppers score it)")


class SopDetailOut(SopOut):
    """A procedure with its version in force: the text, what changed, and the checklist items."""

    store: str | None = Field(..., description="the store's code for a store's variant; null for the group default")
    text: str
    text_en: str = Field(..., description="the procedure in English; empty when nobody wrote it")
    change_note: str
    items: list[SopItemOut]


class SopFilter(Schema):
    store: str | None = Field(None, description="A store code: what is in force there, one procedure per step")
    step: ProcedureStep | None = Field(None, description="Only this step")


def _row(procedure: Procedure | None, version: ProcedureVersion | None, step: str) -> dict[str, Any]:
    source = procedure or (version.procedure if version is not None else None)
    assert source is not None
    return {
        "id": source.pk,
        "code": source.code,
        "step": step,
        "title": source.title,
        "version": version.number if version is not None else None,
        "effective_from": version.effective_from if version is not None else None,
    }


@router.get("/sops", response=SopListOut, summary="The standard operating procedures in force")
def sop_list(request: HttpRequest, filters: Query[SopFilter]) -> Any:
    step = filters.step.value if filters.step else None
    rows: list[dict[str, Any]] = []
    if filters.store:
        store = store_by_code(request.auth, filters.store)
        for value in ProcedureStep.values:
            if step and value != step:
                continue
            version = selectors.current_version(store=store, step=value)
            rows.append(_row(None, version, value))
    else:
        for library in selectors.library_for(request.auth, step=step):
            for row in library.rows:
                for entry in (row.default, *row.variants):
                    if entry.procedure is None:
                        built_in = selectors.built_in_version(group_id=library.group_id, step=row.step)
                        rows.append(_row(None, built_in, row.step))
                    else:
                        rows.append(_row(entry.procedure, entry.current, row.step))
    return {"items": rows, "count": len(rows)}


@router.get("/sops/{sop_id}", response=SopDetailOut, summary="One procedure with its version in force and items")
def sop_detail(request: HttpRequest, sop_id: int) -> Any:
    procedure = selectors.procedures_for(request.auth).select_related("store").filter(pk=sop_id).first()
    if procedure is None:
        raise Http404
    today = clock.today()
    version = (
        procedure.versions.filter(status="published", effective_from__lte=today)
        .prefetch_related("items")
        .order_by("-number")
        .first()
    )
    items = selectors.version_items(version) if version is not None else []
    return {
        **_row(procedure, version, procedure.step),
        "store": procedure.store.code if procedure.store else None,
        "text": version.text if version is not None else "",
        "text_en": version.text_en if version is not None else "",
        "change_note": version.change_note if version is not None else "",
        "items": [
            {"key": i.key, "text": i.text, "text_en": i.text_en, "customer_facing": i.customer_facing} for i in items
        ],
    }
