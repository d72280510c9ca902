"""Surveys: the instrument as configuration (SPEC §4 by default), answers stored per item, one response per
visit and channel, consent, and the low score that opens service recovery.

Consent (SPEC §10: satisfaction surveys need consent).  A response is recorded only when the customer has
consented to surveys: either a consent is on file, or the customer gives it now — on the phone (the agent
asks and ticks it: recorded as a phone consent by that agent), at the desk, or by ticking the box on their
own survey page.  Survey campaigns need the consent on file (their invitations are only sent with it).
A customer who does not consent is not surveyed; the follow-up is then recorded as refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.customers import services as customer_services
from aftersales.customers.choices import ConsentChannel, ConsentPurpose
from aftersales.customers.models import Consent
from aftersales.feedback.choices import FollowUpStatus, ItemKind, SurveyChannel
from aftersales.feedback.models import FollowUp, SurveyAnswer, SurveyInstrument, SurveyItem, SurveyResponse
from aftersales.feedback.services.common import Errors, clean_choice
from aftersales.feedback.transitions import SURVEY, SURVEY_MOVE_FOR_CHANNEL
from aftersales.organisation.rules import Actor, actor_user
from aftersales.service import services as service_services
from aftersales.service.choices import RepairOrderStatus
from aftersales.service.models import RepairOrder

NO_CONSENT = gettext_noop("The customer has not agreed to satisfaction surveys: ask them first, or do not survey them.")
NOT_DELIVERED = gettext_noop("A visit can be rated once the car is delivered.")
ALREADY_ANSWERED = gettext_noop("This visit already has a survey answered through this channel.")
DEFAULT_CODE = "default"
# How a consent given at the moment of the survey is recorded, per channel (campaigns need one on file).
CONSENT_CHANNEL_FOR: dict[str, str] = {
    SurveyChannel.DELIVERY: ConsentChannel.DESK,
    SurveyChannel.FOLLOW_UP_CALL: ConsentChannel.PHONE,
    SurveyChannel.CUSTOMER_LINK: ConsentChannel.CUSTOMER_LINK,
}

# The instrument of SPEC §4: (key, kind, zh-hans, en, required, asks expectation, SERVQUAL dimension).
DEFAULT_ITEMS: tuple[tuple[str, str, str, str, bool, bool, str], ...] = (
    (
        "overall",
        ItemKind.SCORE_0_10,
        "您对本次服务的总体满意度（0–10分）",
        "Overall satisfaction (0–10)",
        True,
        False,
        "",
    ),
    (
        "recommend",
        ItemKind.SCORE_0_10,
        "您向亲友推荐本店的可能性（0–10分）",
        "How likely are you to recommend us to friends and family (0–10)?",
        False,
        False,
        "",
    ),
    ("attitude", ItemKind.SCALE_1_5, "服务态度", "Service attitude", False, True, "empathy"),
    ("quality", ItemKind.SCALE_1_5, "维修质量", "Repair quality", False, True, "reliability"),
    ("waiting", ItemKind.SCALE_1_5, "等待时间", "Waiting time", False, True, "responsiveness"),
    ("price_transparency", ItemKind.SCALE_1_5, "价格透明", "Price transparency", False, True, "assurance"),
    ("explanation", ItemKind.SCALE_1_5, "维修解释", "Explanation of the work", False, True, "assurance"),
    ("facility", ItemKind.SCALE_1_5, "环境设施", "Facility and environment", False, True, "tangibles"),
    ("timeliness", ItemKind.SCALE_1_5, "交车及时", "Timeliness of delivery", False, True, "responsiveness"),
    ("suggestions", ItemKind.TEXT, "您的意见和建议", "Your suggestions", False, False, ""),
)
SCALES: dict[str, tuple[int, int]] = {ItemKind.SCORE_0_10: (0, 10), ItemKind.SCALE_1_5: (1, 5)}
TEXT_MAX = 2000


def survey_instrument_default() -> SurveyInstrument:
    """The default instrument.  Migration 0002 creates it; should it be missing (a database emptied by hand),
    the services that need it — recording a survey, the feedback sweep — create it with the items of SPEC §4."""
    instrument = SurveyInstrument.objects.filter(is_default=True).first()
    if instrument is not None:
        return instrument
    try:
        with transaction.atomic():
            instrument = SurveyInstrument.objects.create(
                code=DEFAULT_CODE, name="售后服务满意度调查 / After-sales satisfaction survey", is_default=True
            )
            SurveyItem.objects.bulk_create(
                SurveyItem(
                    instrument=instrument,
                    key=key,
                    kind=kind,
                    position=position,
                    wording_zh_hans=zh,
                    wording_en=en,
                    required=required,
                    asks_expectation=expectation,
                    dimension=dimension,
                )
                for position, (key, kind, zh, en, required, expectation, dimension) in enumerate(DEFAULT_ITEMS)
            )
    except IntegrityError:  # created meanwhile by a concurrent first request
        return SurveyInstrument.objects.get(is_default=True)
    return instrument


@dataclass(frozen=True)
class CleanAnswer:
    item: SurveyItem
    value: int | None
    expectation: int | None
    text: str


def survey_answers_clean(*, instrument: SurveyInstrument, answers: Any, expectations: Any = None) -> list[CleanAnswer]:
    """Check every answer against its item's scale; raises ValidationError naming `answers.<key>`."""
    errors = Errors()
    if not isinstance(answers, Mapping):
        errors.add("answers", _("Send the answers as an object: item key → value."))
        errors.raise_if_any()
    expectations = expectations or {}
    if not isinstance(expectations, Mapping):
        errors.add("expectations", _("Send the expectations as an object: item key → value."))
        errors.raise_if_any()
    items = {item.key: item for item in instrument.items.all()}
    for key in set(answers) - set(items):
        errors.add(f"answers.{key}", _("This survey has no such item."))
    for key in set(expectations) - {k for k, i in items.items() if i.asks_expectation}:
        errors.add(f"expectations.{key}", _("This item asks no expectation."))
    cleaned: list[CleanAnswer] = []
    for key, item in items.items():
        raw = answers.get(key)
        if raw is None or raw == "":
            if item.required:
                errors.add(f"answers.{key}", _("This field is required."))
            continue
        value: int | None = None
        text = ""
        if item.kind == ItemKind.TEXT:
            if not isinstance(raw, str) or len(raw) > TEXT_MAX or any(ord(c) < 32 and c not in "\t\n\r" for c in raw):
                errors.add(f"answers.{key}", _("Enter text of at most {n} characters.").format(n=TEXT_MAX))
                continue
            text = raw.strip()
        else:
            low, high = SCALES[item.kind]
            if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
                errors.add(f"answers.{key}", _("A whole number from {low} to {high}.").format(low=low, high=high))
                continue
            value = raw
        expectation = expectations.get(key)
        if expectation is not None:
            low, high = SCALES[ItemKind.SCALE_1_5]
            if isinstance(expectation, bool) or not isinstance(expectation, int) or not low <= expectation <= high:
                errors.add(f"expectations.{key}", _("A whole number from {low} to {high}.").format(low=low, high=high))
                continue
        cleaned.append(CleanAnswer(item=item, value=value, expectation=expectation, text=text))
    errors.raise_if_any()
    return cleaned


def survey_consent_on_file(customer: Any) -> bool:
    return Consent.objects.filter(customer=customer, purpose=ConsentPurpose.SURVEYS, granted=True).exists()


@transaction.atomic
def survey_response_record(
    *,
    order: RepairOrder,
    channel: Any,
    answers: Any,
    by: Actor,
    expectations: Any = None,
    consent_given: bool = False,
    submitted_at: dt.datetime | None = None,
) -> SurveyResponse:
    """Record one survey of a delivered visit.  Validates everything first; a low overall score opens the
    recovery task in the same transaction; a follow-up answer closes the open follow-up.  Who may record it
    depends on the channel (transitions.SURVEY): the customer alone answers through their link."""
    from aftersales.feedback.services.recovery import recovery_open_if_low

    if isinstance(channel, str) and channel in SURVEY_MOVE_FOR_CHANNEL:
        SURVEY.authorise(SURVEY.get(SURVEY_MOVE_FOR_CHANNEL[channel]), actor=by, store_id=order.store_id)
    errors = Errors()
    channel = clean_choice(errors, "channel", channel, SurveyChannel)
    errors.raise_if_any()
    instrument = survey_instrument_default()
    cleaned = survey_answers_clean(instrument=instrument, answers=answers, expectations=expectations)
    if order.status != RepairOrderStatus.DELIVERED:
        raise ApplicationError(_(NOT_DELIVERED), {"code": "not_delivered"})
    if SurveyResponse.objects.filter(order=order, channel=channel).exists():
        raise ApplicationError(_(ALREADY_ANSWERED), {"code": "already_answered"})
    overall_given = next((a.value for a in cleaned if a.item.key == "overall"), None)
    if channel == SurveyChannel.DELIVERY:
        # One delivery score: the order's rating.  Checked before anything is written; set below if missing.
        rating = RepairOrder.objects.filter(pk=order.pk).values_list("rating", flat=True).first()
        if rating is not None and overall_given is not None and overall_given != rating:
            raise ValidationError(
                {
                    "answers.overall": [
                        _("The delivery score of this visit is already {rating}: the survey must say the same.").format(
                            rating=rating
                        )
                    ]
                }
            )
    customer = order.customer
    if not survey_consent_on_file(customer):
        if not consent_given or channel not in CONSENT_CHANNEL_FOR:
            raise ApplicationError(_(NO_CONSENT), {"code": "no_survey_consent"})
        customer_services.consent_set(
            customer=customer,
            purpose=ConsentPurpose.SURVEYS,
            granted=True,
            channel=CONSENT_CHANNEL_FOR[channel],
            by=actor_user(by),
        )
    if channel == SurveyChannel.DELIVERY and overall_given is not None:
        service_services.repair_order_delivery_score(order=order, rating=overall_given)
    now = clock.now()
    by_key = {answer.item.key: answer for answer in cleaned}
    overall = by_key.get("overall")
    recommend = by_key.get("recommend")
    try:
        with transaction.atomic():
            response = SurveyResponse.objects.create(
                store=order.store,
                order=order,
                customer=customer,
                instrument=instrument,
                channel=channel,
                overall=overall.value if overall else None,
                recommend=recommend.value if recommend else None,
                submitted_at=submitted_at or now,
                recorded_by=actor_user(by),
            )
    except IntegrityError as exc:  # the same visit answered twice at the same moment
        raise ApplicationError(_(ALREADY_ANSWERED), {"code": "already_answered"}) from exc
    SurveyAnswer.objects.bulk_create(
        SurveyAnswer(response=response, item=a.item, value=a.value, expectation=a.expectation, text=a.text)
        for a in cleaned
    )
    audit_record(
        actor=actor_user(by),
        action="survey.record",
        obj=response,
        changes={"order": order.pk, "channel": channel, "overall": response.overall, "recommend": response.recommend},
    )
    if channel in (SurveyChannel.FOLLOW_UP_CALL, SurveyChannel.CUSTOMER_LINK):
        FollowUp.objects.filter(order=order, status=FollowUpStatus.OPEN).update(
            status=FollowUpStatus.DONE, response=response, closed_at=now, closed_by=actor_user(by), updated_at=now
        )
    recovery_open_if_low(response=response, order=order)
    return response
