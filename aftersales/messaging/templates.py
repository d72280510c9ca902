"""Message templates, kept in code: `{key: {language: (subject, body)}}` with `str.format` placeholders.

Messages are rendered when they are queued, so the outbox holds exactly the text that was sent.
Callers pass ready-to-print values (times already formatted in the store's time zone, links absolute).
A missing value is an error at enqueue time, never a half-filled SMS.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from aftersales.core.exceptions import ApplicationError

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "booking_confirmed": {
        "zh-hans": (
            "预约成功｜{store}",
            "{name}您好！您已成功预约{store}的{service}服务，到店时间{time}，到店后预计等候约{wait_minutes}分钟。"
            "门店地址：{address}（{directions}），预约详情：{link}。请携带：{documents}。如需改期或取消，请致电{phone}。",
        ),
        "en": (
            "Booking confirmed – {store}",
            "Dear {name}, your {service} visit to {store} is booked for {time}. "
            "Expect to wait about {wait_minutes} minutes after you arrive. "
            "Address: {address} ({directions}); booking details: {link}. Please bring: {documents}. "
            "To change or cancel, call {phone}.",
        ),
    },
    "booking_rescheduled": {
        "zh-hans": (
            "预约时间变更｜{store}",
            "{name}您好！您在{store}的{service}预约已改到{time}，到店后预计等候约{wait_minutes}分钟。"
            "预约详情：{link}。如有疑问，请致电{phone}。",
        ),
        "en": (
            "Booking moved – {store}",
            "Dear {name}, your {service} booking at {store} has moved to {time}; "
            "expect to wait about {wait_minutes} minutes after you arrive. "
            "Booking details: {link}. Questions? Call {phone}.",
        ),
    },
    "booking_cancelled": {
        "zh-hans": (
            "预约已取消｜{store}",
            "{name}您好！您在{store}{time}的{service}预约已取消。如需重新预约，请致电{phone}。",
        ),
        "en": (
            "Booking cancelled – {store}",
            "Dear {name}, your {service} booking at {store} for {time} has been cancelled. "
            "To book again, call {phone}.",
        ),
    },
    "pickup_driver_assigned": {
        "zh-hans": (
            "取送车司机已安排｜{store}",
            "{name}您好！{store}已为您的爱车{plate}安排取送车司机{driver}，将于{window}上门取车，"
            "维修完成后送回。预约详情：{link}。如有疑问，请致电{phone}。",
        ),
        "en": (
            "Your pick-up driver – {store}",
            "Dear {name}, {store} has assigned {driver} to collect your vehicle {plate} between {window} "
            "and to bring it back when the work is done. Booking details: {link}. Questions? Call {phone}.",
        ),
    },
    "estimate_ready": {
        "zh-hans": (
            "维修报价已出｜{plate}",
            "{name}您好！您的爱车{plate}已在{store}完成检查，维修项目及报价请点击查看并确认：{link}",
        ),
        "en": (
            "Your estimate is ready – {plate}",
            "Dear {name}, {store} has inspected your vehicle {plate}. See and approve the work and prices here: {link}",
        ),
    },
    "vehicle_ready": {
        "zh-hans": (
            "车辆可取｜{plate}",
            "{name}您好！您的爱车{plate}已完成维修并通过质检，可随时到{store}取车。结算单与维修报告：{link}",
        ),
        "en": (
            "Your vehicle is ready – {plate}",
            "Dear {name}, your vehicle {plate} is repaired and has passed quality check; "
            "collect it from {store} at any time. Invoice and repair report: {link}",
        ),
    },
    "maintenance_reminder": {
        "zh-hans": (
            "保养提醒｜{plate}",
            "{name}您好！您的爱车{plate}预计在{due}前需要保养，欢迎预约{store}，电话{phone}。",
        ),
        "en": (
            "Maintenance due – {plate}",
            "Dear {name}, your vehicle {plate} is due for maintenance by {due}. Book at {store}: {phone}.",
        ),
    },
    "survey_invitation": {
        "zh-hans": (
            "服务满意度回访",
            "{name}您好！感谢您光临{store}，诚邀您花1分钟评价本次服务：{link}",
        ),
        "en": (
            "How did we do?",
            "Dear {name}, thank you for visiting {store}. Please take one minute to rate our service: {link}",
        ),
    },
    # Voice of the customer (feedback app): staff alerts of the closed loop.
    "recovery_opened": {
        "zh-hans": (
            "服务补救｜{number}",
            "{store}：工单{number}的客户{customer}给出了{score}分（低于{threshold}分），请在{due}前联系客户并记录结果。",
        ),
        "en": (
            "Service recovery – {number}",
            "{store}: the customer {customer} of order {number} scored {score} (below {threshold}). "
            "Contact them and record the outcome by {due}.",
        ),
    },
    "recovery_escalated": {
        "zh-hans": (
            "服务补救超时｜{number}",
            "{store}：工单{number}的低分补救（顾问{advisor}）应于{due}前完成，至今未处理。",
        ),
        "en": (
            "Service recovery overdue – {number}",
            "{store}: the low-score recovery of order {number} (advisor {advisor}) was due by {due} "
            "and has no outcome yet.",
        ),
    },
    "complaint_escalated": {
        "zh-hans": (
            "投诉超时升级｜{reference}",
            "{store}：投诉{reference}（{category}，{priority}，负责人{owner}）未在{due}前完成“{clock}”，已升级。",
        ),
        "en": (
            "Complaint escalated – {reference}",
            "{store}: complaint {reference} ({category}, {priority}, owner {owner}) missed its "
            "“{clock}” time of {due} and is escalated to you.",
        ),
    },
    "suggestion_overdue": {
        "zh-hans": (
            "建议答复超时｜{reference}",
            "{store}：客户建议{reference}应于{due}前作出是否采纳的决定，至今未决定。",
        ),
        "en": (
            "Suggestion overdue – {reference}",
            "{store}: suggestion {reference} needed an adopt / not-adopt decision by {due} and has none yet.",
        ),
    },
    "capa_action_due": {
        "zh-hans": (
            "整改措施到期｜{reference}",
            "{store}：纠正预防措施“{capa}”中由您负责的措施“{action}”应于{due}完成，至今未完成。",
        ),
        "en": (
            "Corrective action due – {reference}",
            "{store}: your action “{action}” of the CAPA “{capa}” was due on {due} and is not done yet.",
        ),
    },
    "efficiency_warning": {
        "zh-hans": (
            "工时超标｜{number}",
            "{number}：实际作业{spent}分钟，标准工时{standard}分钟，已超出预警比例。",
        ),
        "en": (
            "Over standard time – {number}",
            "{number}: work has taken {spent} min against {standard} min standard.",
        ),
    },
    "estimate_answered": {
        "zh-hans": (
            "客户已答复报价｜{number}",
            "{store}：工单{number}（{plate}）的客户已在线答复报价{estimate}：同意{approved}项，拒绝{declined}项。",
        ),
        "en": (
            "Estimate answered – {number}",
            "{store}: the customer of order {number} ({plate}) answered estimate {estimate} online: "
            "{approved} approved, {declined} declined.",
        ),
    },
    "staff_alert": {
        "zh-hans": ("内部提醒", "{text}"),
        "en": ("Internal alert", "{text}"),
    },
}

# Appended to every marketing message: Chinese rules for commercial SMS require a way to opt out.
MARKETING_FOOTER: dict[str, str] = {"zh-hans": " 回复TD退订", "en": " Reply STOP to opt out."}

UNKNOWN_TEMPLATE = _("There is no message template {template!r}.")
UNKNOWN_LANGUAGE = _("Message template {template!r} has no {language!r} text.")
MISSING_VALUES = _("Message template {template!r} ({language}) needs values for: {names}.")
BAD_VALUE = _("Message template {template!r} ({language}) cannot be filled in: {error}.")

_ROOT = re.compile(r"[.\[]")


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def placeholders(text: str) -> set[str]:
    """The top-level names a format string asks for (`{a.b}` and `{a[0]}` need `a`)."""
    names = set()
    for _literal, field, _spec, _conversion in string.Formatter().parse(text):
        if field is not None:
            names.add(_ROOT.split(field, maxsplit=1)[0])
    return names


def template_placeholders(template: str) -> set[str]:
    """Every name any language of `template` uses (what a caller must pass)."""
    if template not in TEMPLATES:
        raise ApplicationError(str(UNKNOWN_TEMPLATE).format(template=template))
    return {name for subject, body in TEMPLATES[template].values() for name in placeholders(subject + body)}


def render(*, template: str, language: str, context: Mapping[str, Any], marketing: bool = False) -> Rendered:
    """Fill in one template; raises ApplicationError naming every missing value."""
    languages = TEMPLATES.get(template)
    if languages is None:
        raise ApplicationError(str(UNKNOWN_TEMPLATE).format(template=template))
    if language not in languages:
        raise ApplicationError(str(UNKNOWN_LANGUAGE).format(template=template, language=language))
    subject, body = languages[language]
    missing = sorted(placeholders(subject + body) - set(context))
    if missing:
        raise ApplicationError(
            str(MISSING_VALUES).format(template=template, language=language, names=", ".join(missing)),
            {"missing": missing},
        )
    try:
        rendered = Rendered(subject=subject.format_map(context), body=body.format_map(context))
    except (IndexError, KeyError, AttributeError, ValueError, TypeError) as exc:
        raise ApplicationError(str(BAD_VALUE).format(template=template, language=language, error=exc)) from exc
    if marketing:
        rendered = Rendered(subject=rendered.subject, body=rendered.body + MARKETING_FOOTER[language])
    return rendered
