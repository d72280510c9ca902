"""Schema helpers of the JSON API: output enums read from the models' choices (no drift between the model and
the document), and the finishing touches of the OpenAPI document that integrators read (request bodies carry
their schema's description and example)."""

from __future__ import annotations

import copy
import re
from typing import Any, Literal

from django.db import models


def choices_of(model: type[models.Model], field_name: str, *, empty: bool = False) -> Any:
    """The closed set of a model field as a `Literal` type for an output schema: its choices, plus "" when the
    field may be blank (or `empty`: the answer says "none" with ""), and `| None` when it may be null. Output
    validation refuses any other stored value."""
    values = enum_values(model, field_name, empty=empty)
    if not values:
        raise ValueError(f"{model.__name__}.{field_name} has no choices")
    closed: Any = Literal[tuple(values)]
    return closed | None if model._meta.get_field(field_name).null else closed


def enum_values(model: type[models.Model], field_name: str, *, empty: bool = False) -> list[str]:
    """What the OpenAPI document should list for `choices_of(model, field_name)` (tests compare the two)."""
    field = model._meta.get_field(field_name)
    values = [str(value) for value, _label in field.flatchoices]  # type: ignore[union-attr]
    if (empty or getattr(field, "blank", False)) and "" not in values:
        values.insert(0, "")
    return values


def document_request_bodies(schema: dict[str, Any]) -> None:
    """Each request body says what it is and shows an example: its component's description and example."""
    components = schema.get("components", {}).get("schemas", {})
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if not body:
                continue
            for media in body.get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                component = components.get(ref.rsplit("/", 1)[-1], {}) if ref else {}
                if "description" not in body and component.get("description"):
                    body["description"] = component["description"]
                if "example" not in media and "example" in component:
                    media["example"] = copy.deepcopy(component["example"])


# --------------------------------------------------------------------------------------------- examples

# One realistic value per field name (a dealership in Shanghai), used where a schema has no example of its own.
# A value that does not fit the field's schema is not used: the example is built from the schema then.
_TIME = "2026-12-05T09:30:00+08:00"
_DATE = "2026-12-05"
_VALUES: dict[str, Any] = {
    "id": 1024,
    "store": "SH01",
    "store_name": "上海浦东4S店",
    "group": "HUADONG",
    "name": "王伟",
    "customer_name": "王伟",
    "driver_name": "李强",
    "username": "li.qiang",
    "phone": "13812345678",
    "phone_masked": "138****5678",
    "recipient_masked": "138****5678",
    "referred_by_phone": "13912345678",
    "email": "wang.wei@example.com",
    "plate": "沪A12345",
    "vin": "LFV2A21K8P4012345",
    "brand": "大众",
    "model_name": "帕萨特 330TSI",
    "address": "上海市浦东新区张江路 88 号",
    "pickup_address": "上海市浦东新区张江路 88 号",
    "city": "上海",
    "id_number": "310115198804123456",
    "customer_words": "仪表盘发动机故障灯亮，冷车启动抖动",
    "description": "更换机油及机油滤清器",
    "fault": "高速上爆胎，停在应急车道",
    "fault_description": "冷车启动抖动，发动机故障灯亮",
    "reason": "客户临时出差，改约下周",
    "cancel_reason": "",
    "note": "客户希望下午取车",
    "notes": "",
    "text": "接待很热情，等待时间有点长",
    "title": "保养后异响",
    "detail": "保养后第二天底盘有异响，希望尽快检查",
    "resolution": "重新紧固底盘护板，试车无异响",
    "explanation": "",
    "delivery_explanation": "已更换机油机滤，下次保养 5000 公里或 6 个月后",
    "waiting_parts_reason": "",
    "decline_reason": "",
    "caption": "左前轮胎侧面鼓包",
    "root_cause": "底盘护板螺栓未按扭矩紧固",
    "part": "06L115562B",
    "part_number": "06L115562B",
    "operation_code": "M0101",
    "batch": "B20261120",
    "batch_number": "B20261120",
    "receipt_number": "RK-SH01-20261205-001",
    "number": "RO-SH01-20261205-0007",
    "order_number": "RO-SH01-20261205-0007",
    "settlement_number": "RO-SH01-20261205-0007",
    "supplier": "上汽大众配件中心",
    "manufacturer": "上汽大众",
    "source_voucher": "FP-2026-118833",
    "origin": "中国",
    "unit": "件",
    "course": "高压电安全操作培训",
    "issuer": "上海市应急管理局",
    "company_code": "310115000001",
    "company_name": "上海浦东4S店",
    "external_source": "callcenter",
    "external_ref": "CC-20261205-0042",
    "url": "https://integrator.example.com/hooks/aftersales",
    "secret": "whsec_3f9a1c0d5b7e4a2f8c6d1e0b9a7f5c3d",
    "customer_link": "https://dealer.example.com/c/a/eyJhIjoxMDI0fQ",
    "time_zone": "Asia/Shanghai",
    "content_type": "image/jpeg",
    "zone": "左前门",
    "crew": "救援一组",
    "label": "开始维修",
    "via": "transitions",
    "start": _TIME,
    "end": "2026-12-05T10:00:00+08:00",
    "latitude": 31.2036,
    "longitude": 121.5901,
    "lat": 31.2036,
    "lon": 121.5901,
    "mileage_in": 35820,
    "mileage_km": 35820,
    "odometer_km": 35820.5,
    "fuel_level": 50,
    "quantity": "1.00",
    "amount": "380.00",
    "unit_price": "380.00",
    "hourly_rate": "260.00",
    "standard_hours": "1.0",
    "hours": "8.0",
    "score": 92,
    "rating": 5,
    "satisfaction": 4,
    "capacity": 4,
    "remaining": 2,
    "rescue_capacity": 2,
    "count": 1,
    "status": "in_progress",
    "to": "in_bay",
    "channel": "phone",
    "code": "SH01",
    "key": "marketing",
    "by": "张敏",
    "bay": "B03",
    "category": "attitude",
    "concern_category": "ENGINE",
    "purchase_price": "189900.00",
    "revenue": "12680.00",
    "billed_total": "680.00",
    "bill_total": "680.00",
    "total": "680.00",
    "billed": "680.00",
    "on_hand": "12.00",
    "safety_stock": "4.00",
    "training_hours": "24.0",
    "training_hours_last_12_months": "16.0",
    "purchase_date": "2023-06-18",
    "birthday": "1988-04-12",
    "insurance_expires_on": "2027-06-17",
    "inspection_due_on": "2027-06-30",
    "repair_date": "2026-12-05",
    "settlement_date": "2026-12-05",
    "event_id": "5f0c6d1e-8a2b-4c3d-9e4f-1a2b3c4d5e6f",
    "rule": "R ≤ 180 days and F ≥ 2",
    "m": "2380.00",
    "kpi_name": "一次修复率",
    "kpi_before": "92.5",
    "kpi_after": "96.0",
    "procedure_change": "底盘护板螺栓按扭矩紧固并在交车前复检",
    "template": "booking_confirmation",
    "subject": "",
    "related_type": "service.repairorder",
    "related_id": "1024",
    "method": "newcombe_hybrid_score_95",
    "evidence": "HV-2024-0311",
    "clock": "acknowledge",
    "countdown": "in 2 hours",
    "escalated_to": "",
    "decision_note": "已纳入明年门店改造计划",
    "cluster_category": "waiting_time",
    "message": "",
    "field": "vin",
    "msg": "The VIN's check digit (9th character) should be 8, not 5. Please re-check the VIN.",
    "remote_id": "EHR-310115-20261205-0001",
    "last_error": "",
    "referred_by_staff": None,
    "vehicle": 2048,
    "customer": 3001,
    "order": 5120,
    "appointment": 4096,
    "advisor": 17,
    "technician": 23,
    "driver": 31,
    "wording_zh_hans": "您对本次服务的整体满意度如何？",
    "wording_en": "How satisfied are you with the service overall?",
    "dimension": "responsiveness",
    "month": "2026-11",
    "text_zh": "尊敬的车主，您的爱车即将到保养时间，欢迎预约。",
    "text_en": "Your car is due for its service: book a slot with us.",
    "meaning": "A business rule refused the request; `detail` says which.",
    "is_active": True,
    "pickup_from": "2026-12-05T08:00:00+08:00",
    "pickup_to": "2026-12-05T08:30:00+08:00",
}


_FORMATS = {
    "date": r"\d{4}-\d{2}-\d{2}",
    "date-time": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
    "uuid": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "uri": r"https?://\S+",
    "email": r"[^@\s]+@[^@\s]+",
}


# Where one name means different things: (schema, field) first, then a second candidate of another type.
_BY_SCHEMA: dict[tuple[str, str], Any] = {
    ("StockOut", "name"): "机油滤清器",
    ("BayOut", "name"): "3号工位",
    ("BayOut", "code"): "B03",
    ("BayOut", "capabilities"): ["general", "nev_hv"],
    ("StoreOut", "name"): "上海浦东4S店",
    ("StoreOut", "code"): "SH01",
    ("MoveOut", "name"): "start_work",
    ("StoreRolesOut", "capabilities"): ["view_service", "edit_customers"],
    ("SurveyItemOut", "key"): "overall",
    ("AnswerOut", "key"): "overall",
    ("IssueOut", "key"): "waiting",
    ("IssueOut", "label"): "等待时间长",
    ("DamageMarkIn", "kind"): "划痕",
    ("VehicleEventsIn", "source"): "上汽车联网平台",
    ("PickupOut", "vehicle"): "沪A12345 大众 帕萨特 330TSI",
    ("ProblemTypeOut", "code"): "slot_full",
    ("ProblemTypeOut", "title"): "The slot is full",
}
_SECOND: dict[str, Any] = {
    "remaining": "8.00",
    "stores": ["SH01", "HZ01"],
    "next_states": ["in_bay", "waiting_parts"],
    "alarm_flags": ["temperature_difference"],
    "dtcs": ["P0301"],
    "soc_pct": 68.0,
    "total_voltage_v": 398.6,
    "total_current_a": -12.4,
    "insulation_resistance_kohm": 5200.0,
    "max_cell_voltage_v": 4.12,
    "min_cell_voltage_v": 4.08,
    "max_cell_temperature_c": 31.0,
    "min_cell_temperature_c": 28.0,
}


def _fits(value: Any, schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """Whether a realistic value fits a field's schema (the few keywords our schemas use)."""
    if "$ref" in schema:
        return False  # a record: built from its own schema
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return any(_fits(value, option, components) for option in schema[key])
    if "enum" in schema and value not in schema["enum"]:
        return False
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind else []
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
    }
    if kinds and not any(checks.get(k, lambda v: False)(value) for k in kinds):
        return False
    if isinstance(value, str):
        shape = _FORMATS.get(schema.get("format", ""))
        if shape is not None and not re.fullmatch(shape, value):
            return False
        if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", 10**9):
            return False
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"] or "maximum" in schema and value > schema["maximum"]:
            return False
    return bool(kinds) or "enum" in schema


def _example_of(
    schema: dict[str, Any], components: dict[str, Any], name: str = "", depth: int = 0, owner: str = ""
) -> Any:
    """A value for `schema`: the field's realistic value when it fits, else one built from the schema."""
    if "example" in schema:
        return copy.deepcopy(schema["example"])
    candidates = [_BY_SCHEMA[(owner, name)]] if (owner, name) in _BY_SCHEMA else []
    candidates += [table[name] for table in (_VALUES, _SECOND) if name in table]
    for candidate in candidates:
        if _fits(candidate, schema, components) or (
            isinstance(candidate, list)
            and schema.get("type") == "array"
            and candidate
            and all(_fits(item, schema.get("items", {}), components) for item in candidate)
        ):
            return copy.deepcopy(candidate)
    if "$ref" in schema:
        target = schema["$ref"].rsplit("/", 1)[-1]
        return _component_example(target, components, depth + 1)
    if "default" in schema and schema["default"] not in (None, "") and not schema.get("enum"):
        return copy.deepcopy(schema["default"])
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return next((v for v in schema["enum"] if v not in ("", None)), schema["enum"][0])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return _example_of(options[0], components, name, depth, owner)
    if "allOf" in schema:
        return _example_of(schema["allOf"][0], components, name, depth, owner)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return _object_example(schema, components, depth, owner)
    if kind == "array":
        item = schema.get("items", {})
        return [_example_of(item, components, name, depth + 1)] if item and depth < 8 else []
    if kind == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in schema else 1)
        return max(int(low), 1) if schema.get("maximum", 10**9) >= 1 else int(low)
    if kind == "number":
        return float(max(schema.get("minimum", 1), 1))
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    fmt = schema.get("format")
    if fmt == "date-time":
        return _TIME
    if fmt == "date":
        return _DATE
    if fmt == "uri":
        return "https://integrator.example.com/hooks/aftersales"
    text = "示例"
    low, high = schema.get("minLength", 0), schema.get("maxLength", 1000)
    if len(text) < low:
        text = text * low
    return text[: max(high, low)]


def _object_example(schema: dict[str, Any], components: dict[str, Any], depth: int, owner: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, prop in schema.get("properties", {}).items():
        out[field] = _example_of(prop, components, field, depth, owner)
    if not schema.get("properties") and isinstance(schema.get("additionalProperties"), dict) and depth < 8:
        out["key"] = _example_of(schema["additionalProperties"], components, "", depth + 1)
    return out


def _component_example(name: str, components: dict[str, Any], depth: int = 0) -> Any:
    component = components.get(name, {})
    if "example" in component:
        return copy.deepcopy(component["example"])
    return _example_of(component, components, "", depth, name)


def document_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The finishing touches integrators read: a description and an example on every component (a page of
    records and an enum say what they are; other schemas take their class's docstring and `example`, else
    an example built from realistic field values), and request bodies carrying their schema's."""
    components = schema.get("components", {}).get("schemas", {})
    for name, component in components.items():
        if name.startswith("Paged") and "description" not in component:
            component["description"] = f"A page of {name[5:]} records: `items` and the total `count`."
        if "enum" in component and "description" not in component:
            component["description"] = "One of: " + ", ".join(str(v) for v in component["enum"]) + "."
    for name, component in components.items():
        if "example" not in component:
            component["example"] = _component_example(name, components)
    document_request_bodies(schema)
    return schema
