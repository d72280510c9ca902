"""Data for the facts the KPIs read (issue 12).

1. The built-in concern categories (no group: every group sees them).
2. Existing orders get a category only where the service type says it outright: maintenance → maintenance,
   bodywork → body, NEV check → nev_battery.  Repairs, warranty work and inspections stay without one (the
   customer's words are free text; guessing would invent comebacks).  No comeback links are made for the past
   (the suggestion runs when an order is registered or categorised), reception start stays unknown (null) and
   "waits on site" stays False: those facts were never recorded, so the KPIs count those orders as unknown
   rather than as a made-up figure.
3. Timestamps repaired so that 0008's check constraints hold: the arrival becomes the earliest of the order's
   times (a car cannot be inspected before it arrived, so the recorded arrival was the late one), then along
   inspection → work start → ready → delivered a time earlier than the one before it is moved up to it.  Only
   the rows that break the chain are read and written (plain ORM, the same on SQLite and PostgreSQL).
"""

from django.db import migrations
from django.db.models import F, Q

DEFAULTS = [
    ("engine", "发动机", "Engine"),
    ("brakes", "制动系统", "Brakes"),
    ("electrical", "电气", "Electrical"),
    ("ac", "空调", "Air conditioning"),
    ("body", "车身钣喷", "Body and paint"),
    ("tyres", "轮胎", "Tyres"),
    ("maintenance", "保养", "Maintenance"),
    ("nev_battery", "新能源电池", "NEV battery"),
    ("chassis", "底盘悬挂", "Chassis and suspension"),
    ("other", "其他", "Other"),
]
OBVIOUS = {"maintenance": "maintenance", "bodywork": "body", "nev_check": "nev_battery"}
CHAIN = ["inspection_done_at", "work_started_at", "ready_at", "delivered_at"]


def forwards(apps, schema_editor):
    ConcernCategory = apps.get_model("service", "ConcernCategory")
    RepairOrder = apps.get_model("service", "RepairOrder")
    by_code = {}
    for position, (code, zh, en) in enumerate(DEFAULTS, start=1):
        by_code[code], _created = ConcernCategory.objects.get_or_create(
            group=None, code=code, defaults={"name_zh_hans": zh, "name_en": en, "position": position * 10}
        )
    for service_type, code in OBVIOUS.items():
        RepairOrder.objects.filter(service_type=service_type, concern_category__isnull=True).update(
            concern_category=by_code[code]
        )

    everything = ["arrived_at", *CHAIN]
    broken = Q()
    for i, a in enumerate(everything):
        for b in everything[i + 1 :]:
            broken |= Q(**{f"{a}__isnull": False, f"{b}__isnull": False, f"{b}__lt": F(a)})
    batch = []
    for order in RepairOrder.objects.filter(broken).only("pk", *everything).iterator(chunk_size=500):
        times = [getattr(order, name) for name in CHAIN]
        order.arrived_at = min([order.arrived_at, *[t for t in times if t is not None]])
        floor = order.arrived_at
        for name in CHAIN:
            value = getattr(order, name)
            if value is not None:
                floor = max(floor, value)
                setattr(order, name, floor)
        batch.append(order)
        if len(batch) >= 500:
            RepairOrder.objects.bulk_update(batch, everything)
            batch = []
    if batch:
        RepairOrder.objects.bulk_update(batch, everything)


class Migration(migrations.Migration):
    dependencies = [("service", "0006_facts_for_kpis")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
