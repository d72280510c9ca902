"""The SOP library of the demo: the built-in procedures installed for the group half a year ago, the first store's
own delivery variant (an EV hand-over adds the charging explanation), and one CAPA of the first store — comebacks
for loose underbody bolts — that the quality department closed three weeks ago, publishing QC v2 with a new item;
about two thirds of the staff asked have acknowledged it so far.

Everything goes through the services; the dates are then set back to the demo's `today`, so a run with a fixed
--today gives the same data.  The CAPA is feedback's, a layer above: the caller (config's seed command) hands in
feedback's services as `capa_services`, so this app imports nothing of feedback."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.utils import timezone

from aftersales.organisation.models import Store
from aftersales.standards import services
from aftersales.standards.models import Acknowledgement, Procedure, ProcedureVersion

QC_NEW_ITEM = {
    "key": "underbody_bolts",
    "text": "举升作业后复查底盘螺栓扭矩并做防松标记",
    "text_en": "After lifting work, re-check the underbody bolts' torque and paint a witness mark",
    "customer_facing": False,
}
DELIVERY_EV_ITEM = {
    "key": "ev_charging",
    "text": "新能源车：讲解充电口、充电枪使用和剩余电量",
    "text_en": "EVs: explain the charge port, the charging gun and the range left",
    "customer_facing": True,
}


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _backdate(version: ProcedureVersion, *, day: dt.date, rng: random.Random, share: float) -> None:
    """Published on `day` at 10:00 (in force that day); `share` of the staff asked acknowledged within a week."""
    published = _at(day, 10)
    ProcedureVersion.objects.filter(pk=version.pk).update(
        effective_from=day, published_at=published, created_at=published - dt.timedelta(days=2)
    )
    acks = list(Acknowledgement.objects.filter(version=version).order_by("user_id"))
    for ack in acks:
        ack.asked_at = published
        ack.acknowledged_at = (
            published + dt.timedelta(hours=rng.randint(1, 7 * 24), minutes=rng.randint(0, 59))
            if rng.random() < share
            else None
        )
    Acknowledgement.objects.bulk_update(acks, ["asked_at", "acknowledged_at"])


def seed_standards(
    *, rng: random.Random, stores: list[Store], users: dict[str, Any], today: dt.date, capa_services: Any
) -> dict[str, int]:
    """The group's library, a store's variant and the CAPA that changed the QC SOP (see the module's text);
    `capa_services`: feedback's services (capa_open, capa_transition, … capa_procedure_draft)."""
    feedback = capa_services
    first = stores[0]
    group = first.group
    quality, manager = users["quality"], users["manager"]
    made = services.procedures_install_defaults(group=group, by=quality)
    ProcedureVersion.objects.filter(procedure__group=group, number=1).update(
        effective_from=today - dt.timedelta(days=180), published_at=_at(today - dt.timedelta(days=180), 9)
    )

    # The first store's delivery variant: the group's delivery items plus the EV hand-over.
    variant = services.procedure_ensure(group=group, store=first, step="delivery", by=manager)
    base = services.base_version(variant)
    draft = services.version_draft(
        procedure=variant,
        by=manager,
        text=base.text + "\n本店新能源车占比高：交车时加讲充电。",
        change_note="本店新能源车交车增加充电讲解 / EV hand-over explains charging",
        items=services.items_of(base) + [DELIVERY_EV_ITEM],
    )
    _backdate(
        services.version_publish(version=draft, by=manager), day=today - dt.timedelta(days=60), rng=rng, share=0.9
    )

    # The CAPA: opened from last month's repair-quality issues, closed with QC v2 of the group's default.
    month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    capa = feedback.capa_open(
        store=first, by=quality, title="底盘螺栓松动导致返修", cluster_category="quality", cluster_month=month
    )
    feedback.capa_transition(capa=capa, to="analysing", by=quality)
    feedback.capa_update(
        capa=capa,
        by=quality,
        root_cause="举升作业后未复查底盘螺栓扭矩；质检清单没有这一项，班组长凭经验检查。",
    )
    action = feedback.capa_action_add(
        capa=capa,
        by=quality,
        description="全体技师和班组长培训扭矩复查与防松标记",
        owner=manager,
        due_date=today - dt.timedelta(days=25),
    )
    feedback.capa_transition(capa=capa, to="acting", by=quality)
    feedback.capa_action_done(action=action, by=manager)
    feedback.capa_transition(capa=capa, to="verifying", by=quality)
    feedback.capa_update(
        capa=capa, by=quality, kpi_name="底盘螺栓返修（次/月）", kpi_before="5", kpi_after=Decimal("1")
    )
    qc = Procedure.objects.get(group=group, store__isnull=True, step="qc")
    version = feedback.capa_procedure_draft(
        capa=capa,
        by=quality,
        step="qc",
        scope="group",
        change_note="CAPA：底盘螺栓松动返修 5 次/月 → 质检增加扭矩复查 / underbody bolt comebacks",
        items=services.items_of(services.base_version(qc)) + [QC_NEW_ITEM],
    )
    feedback.capa_transition(capa=capa, to="closed", by=quality, note="效果验证通过，质检SOP升级为v2")
    version.refresh_from_db()
    _backdate(version, day=today - dt.timedelta(days=21), rng=rng, share=0.65)
    asked = Acknowledgement.objects.filter(version=version).count()
    return {
        "procedures": made + 1,
        "qc_version": version.number,
        "asked": asked,
        "acknowledged": Acknowledgement.objects.filter(version=version, acknowledged_at__isnull=False).count(),
    }


def flush_standards() -> None:
    """Delete the SOP library (the seed's --flush), after the CAPAs, orders and follow-ups that name its versions."""
    Acknowledgement.objects.all().delete()
    ProcedureVersion.objects.all().delete()
    Procedure.objects.all().delete()
