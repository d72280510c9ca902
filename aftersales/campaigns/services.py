"""Writes of the care campaigns: create and edit a draft, move it through its lifecycle (table:
`transitions.CAMPAIGN`), draw the members and send in batches (the system's sweep), and count a link opened.

Sending is built to survive a worker killed at any moment: each treatment member is handled in its own
transaction — the message is queued (`message_enqueue` with dedupe_key `campaign:<id>:<customer>`) and the member
marked handled in the same commit — so a restart resumes at the first unhandled member, and a member whose
message exists is never sent a second one."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.campaigns.audience import AudienceFilter, arm_for, audience_clean
from aftersales.campaigns.choices import Arm, CampaignPurpose, CampaignStatus, SkipReason
from aftersales.campaigns.models import Campaign, CampaignMember
from aftersales.campaigns.selectors import campaign_audience, campaigns_due, recent_marketing_count
from aftersales.campaigns.transitions import CAMPAIGN, CAMPAIGN_EDITABLE
from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.core.text import refuse_control_characters
from aftersales.customers.models import Customer
from aftersales.messaging.choices import Language, MessageStatus, Purpose, SuppressionReason
from aftersales.messaging.models import OutboxMessage
from aftersales.messaging.services import consent_missing, message_enqueue
from aftersales.organisation.models import Store
from aftersales.organisation.rules import Actor, Party, actor_user
from aftersales.organisation.selectors import setting_values_for_store

logger = logging.getLogger("aftersales.campaigns")

S = CampaignStatus
LINK = "{link}"
# The outbox's reason for a message withdrawn by a cancel.
CAMPAIGN_CANCELLED = SuppressionReason.WITHDRAWN
TEXT_MAX = 300  # an SMS of a few parts, before the link and the opt-out are filled in
CAMPAIGN_TEMPLATE = "campaign_message"  # registered with messaging.templates by CampaignsConfig.ready
BATCH_SIZE = 100
MAX_BATCHES_PER_SWEEP = 50  # 5 000 members a minute at most, so one large campaign never starves the worker

TEXT_NEEDS_LINK = _("Put the {link} placeholder where the booking link goes.")
SCHEDULE_IN_PAST = _("Choose a time in the future.")
SCHEDULE_MISSING = _("Choose when to send.")
REASON_NEEDED = _("Give the reason.")
NOT_EDITABLE = _("Only a draft campaign can be edited.")
# Why: a campaign holds back a random control group and sends free text to a whole audience; a service notice
# must reach everyone and respect no opt-out from marketing, so it goes through the reminders, not a campaign.
MARKETING_ONLY = gettext_lazy(
    "Campaigns are for marketing only. Send service notices (recalls, safety checks) through the reminders."
)


def _message_key(campaign_id: int, customer_id: int) -> str:
    return f"campaign:{campaign_id}:{customer_id}"


# ------------------------------------------------------------------------------------------ create / edit


@dataclass(frozen=True)
class CampaignInput:
    name: str
    purpose: str
    audience: dict[str, Any]
    text_zh: str
    text_en: str
    scheduled_at: dt.datetime | None = None


def _clean(data: CampaignInput) -> tuple[dict[str, Any], AudienceFilter]:
    """Every field checked; one ValidationError naming each bad field, before anything is written."""
    errors: dict[str, list[str]] = {}
    name = " ".join((data.name or "").split())
    text_zh = (data.text_zh or "").strip()
    text_en = (data.text_en or "").strip()
    try:
        refuse_control_characters(name=name, text_zh=text_zh, text_en=text_en)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not name:
        errors.setdefault("name", []).append(_("Give the campaign a name."))
    elif len(name) > 120:
        errors.setdefault("name", []).append(_("Too long (at most 120 characters)."))
    if data.purpose != CampaignPurpose.MARKETING:
        errors.setdefault("purpose", []).append(str(MARKETING_ONLY))
    for key, text in (("text_zh", text_zh), ("text_en", text_en)):
        if not text:
            errors.setdefault(key, []).append(_("Write the message."))
        elif len(text) > TEXT_MAX:
            errors.setdefault(key, []).append(_("Too long (at most 300 characters)."))
        elif LINK not in text:
            errors.setdefault(key, []).append(str(TEXT_NEEDS_LINK))
    if data.scheduled_at is not None and data.scheduled_at <= clock.now():
        errors.setdefault("scheduled_at", []).append(str(SCHEDULE_IN_PAST))
    audience = AudienceFilter()
    try:
        audience = audience_clean(data.audience)
    except ValidationError as exc:
        errors.update({f"audience.{k}" if k != "__all__" else "audience": v for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    fields = {
        "name": name,
        "purpose": data.purpose,
        "audience": audience.as_json(),
        "text_zh": text_zh,
        "text_en": text_en,
        "scheduled_at": data.scheduled_at,
    }
    return fields, audience


@transaction.atomic
def campaign_create(*, store: Store, data: CampaignInput, by: Actor) -> Campaign:
    CAMPAIGN.authorise(CAMPAIGN.get("create"), actor=by, store_id=store.pk)
    fields, _audience = _clean(data)
    campaign = Campaign.objects.create(store=store, created_by=actor_user(by), created_at=clock.now(), **fields)
    audit_record(actor=actor_user(by), action="campaign.create", obj=campaign, changes={"name": campaign.name})
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, data: CampaignInput, by: Actor) -> Campaign:
    CAMPAIGN.authorise(CAMPAIGN.get("edit"), actor=by, store_id=campaign.store_id)
    fields, _audience = _clean(data)
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status not in CAMPAIGN_EDITABLE:
        raise ApplicationError(str(NOT_EDITABLE), {"code": "invalid_transition"})
    changed = {k: v for k, v in fields.items() if getattr(locked, k) != v}
    for key, value in fields.items():
        setattr(locked, key, value)
    locked.save(update_fields=[*fields, "updated_at"])
    if changed:
        audit_record(
            actor=actor_user(by), action="campaign.update", obj=locked, changes={k: str(v) for k, v in changed.items()}
        )
    return locked


# ------------------------------------------------------------------------------------------------ moves


def _move(campaign: Campaign, *, old: str, new: str, **fields: Any) -> bool:
    """Compare-and-set the status; False when another process moved it first."""
    rows = Campaign.objects.filter(pk=campaign.pk, status=old).update(status=new, updated_at=clock.now(), **fields)
    if rows:
        campaign.status = new
        for key, value in fields.items():
            setattr(campaign, key, value)
    return bool(rows)


@transaction.atomic
def campaign_transition(*, campaign: Campaign, to: str, by: Actor, reason: str = "") -> Campaign:
    """The staff moves: schedule, back to draft, cancel (with a reason).  Checks the rulebook first."""
    step = CAMPAIGN.find(campaign.status, to)
    if step is None:
        # No such move from here: a role without the right is refused as such first (it learns nothing more).
        CAMPAIGN.authorise(CAMPAIGN.get("schedule"), actor=by, store_id=campaign.store_id)
        raise ApplicationError(_("This cannot be done in the record's present state."), {"code": "invalid_transition"})
    CAMPAIGN.require(step, actor=by, state=campaign.status, store_id=campaign.store_id)
    reason = " ".join((reason or "").split())
    refuse_control_characters(reason=reason)
    extra: dict[str, Any] = {}
    if step.needs_reason:
        if not reason:
            raise ValidationError({"reason": [str(REASON_NEEDED)]})
        extra["cancel_reason"] = reason[:300]
    if step.name == "schedule":
        if campaign.scheduled_at is None:
            raise ValidationError({"scheduled_at": [str(SCHEDULE_MISSING)]})
        if campaign.scheduled_at <= clock.now():
            raise ValidationError({"scheduled_at": [str(SCHEDULE_IN_PAST)]})
    old = campaign.status
    if not _move(campaign, old=old, new=to, **extra):
        raise ApplicationError(_("Someone else changed this campaign; reload the page."), {"code": "conflict"})
    withdrawn = _withdraw_queued(campaign) if to == S.CANCELLED else 0
    audit_record(
        actor=actor_user(by),
        action="campaign.transition",
        obj=campaign,
        changes={
            "status": [old, to],
            **({"reason": reason} if reason else {}),
            **({"withdrawn": withdrawn} if withdrawn else {}),
        },
    )
    return campaign


def _withdraw_queued(campaign: Campaign) -> int:
    """A cancel also stops the campaign's messages still waiting in the outbox: pending → suppressed, in the
    cancel's transaction.  The outbox has no service for this (messaging.services suppresses only for consent),
    so it is a compare-and-set UPDATE like the outbox's own moves (pending → suppressed is allowed by
    messaging.transitions): a worker's claim also needs `pending`, so a withdrawn message is never claimed, and
    one already claimed (sending) is left to finish — it may be at the gateway.  Runs after the campaign row's
    update, so a member's transaction that held the campaign lock has committed and its message is seen here."""
    return OutboxMessage.objects.filter(
        related_type=Campaign._meta.label_lower,
        related_id=str(campaign.pk),
        status=MessageStatus.PENDING,
    ).update(
        status=MessageStatus.SUPPRESSED,
        suppressed_reason=CAMPAIGN_CANCELLED,
        next_attempt_at=None,
        updated_at=clock.now(),
    )


# -------------------------------------------------------------------------------------------- sending


@transaction.atomic
def campaign_start(*, campaign: Campaign, now: dt.datetime | None = None) -> int:
    """scheduled → sending (the system's move): draw the audience as it is now, split it with the seeded hash,
    and store every member in one transaction with the move.  Control members are handled at once (they get
    nothing).  Returns the number of members; 0 when another worker started it first."""
    now = now or clock.now()
    CAMPAIGN.require(CAMPAIGN.get("start"), actor=Party.SYSTEM, state=campaign.status, store_id=campaign.store_id)
    control_percent = int(setting_values_for_store(campaign.store)["campaign_control_share_percent"])
    if not _move(campaign, old=S.SCHEDULED, new=S.SENDING, started_at=now, control_share_percent=control_percent):
        return 0
    audience = audience_clean(campaign.audience)
    ids = campaign_audience(store=campaign.store, audience=audience).order_by("pk").values_list("pk", flat=True)
    members = []
    for customer_id in ids.iterator(chunk_size=2000):
        arm = arm_for(campaign_id=campaign.pk, customer_id=customer_id, control_percent=control_percent)
        treated = arm == Arm.TREATMENT
        members.append(
            CampaignMember(
                campaign=campaign,
                customer_id=customer_id,
                arm=arm,
                link_token=secrets.token_urlsafe(16)[:22] if treated else None,
                handled_at=None if treated else now,
                created_at=now,
            )
        )
    CampaignMember.objects.bulk_create(members, batch_size=500, ignore_conflicts=True)
    audit_record(
        actor=None,
        action="campaign.transition",
        obj=campaign,
        changes={"status": [S.SCHEDULED, S.SENDING], "members": len(members), "control_percent": control_percent},
    )
    return len(members)


def campaign_link_url(token: str) -> str:
    path = reverse("campaigns:link", args=[token])
    return f"{getattr(settings, 'PUBLIC_BASE_URL', '').rstrip('/')}{path}"


def _skip_reason(*, campaign: Campaign, customer: Customer, cap: int, since: dt.datetime) -> str:
    """Why this treatment member must get nothing now (empty: send).  Every campaign is marketing (whatever an
    old row's purpose says): it needs the customer's marketing consent (an opt-out withdraws it) and room under
    the frequency cap."""
    if consent_missing(customer=customer, purpose=Purpose.MARKETING) is not None:
        return SkipReason.NO_MARKETING_CONSENT
    recent = (
        Customer.objects.filter(pk=customer.pk)
        .annotate(n=recent_marketing_count(customer_ref="pk", since=since))
        .values_list("n", flat=True)
        .first()
    )
    return SkipReason.FREQUENCY_CAP if (recent or 0) >= cap else ""


def _handle_member(*, campaign: Campaign, member_id: int, cap: int, since: dt.datetime) -> bool:
    """One member in one transaction: the message and the mark commit together, or neither does.

    The campaign row is locked and must still be sending: a cancel (an UPDATE of that row) either waits for
    this member's commit and then withdraws its queued message, or commits first and this member is left
    unhandled — nothing more goes out after a cancel, even in the middle of a batch."""
    with transaction.atomic():
        if not Campaign.objects.select_for_update().filter(pk=campaign.pk, status=S.SENDING).exists():
            return False
        member = (
            CampaignMember.objects.select_for_update()
            .select_related("customer")
            .filter(pk=member_id, handled_at__isnull=True, arm=Arm.TREATMENT)
            .first()
        )
        if member is None:
            return False  # handled by another worker meanwhile
        now = clock.now()
        reason = _skip_reason(campaign=campaign, customer=member.customer, cap=cap, since=since)
        if reason:
            member.skipped_reason = reason
            member.handled_at = now
            member.save(update_fields=["skipped_reason", "handled_at", "updated_at"])
            return True
        link = campaign_link_url(member.link_token or "")
        # The customer model has no preferred language yet: our customers read Chinese; the English text is kept
        # for the day it has (and for the preview), and both are checked to carry the link.
        language = Language.ZH_HANS
        text = (campaign.text_zh if language == Language.ZH_HANS else campaign.text_en).replace(LINK, link)
        member.message = message_enqueue(
            store=campaign.store,
            template=CAMPAIGN_TEMPLATE,
            context={"subject": campaign.name, "text": text},
            customer=member.customer,
            purpose=Purpose.MARKETING,  # always: campaigns are marketing only (choices.CampaignPurpose)
            language=language,
            dedupe_key=_message_key(campaign.pk, member.customer_id),
            related=campaign,
        )
        member.handled_at = now
        member.save(update_fields=["message", "handled_at", "updated_at"])
        return True


def campaign_send_batch(*, campaign: Campaign, limit: int = BATCH_SIZE) -> int:
    """Handle up to `limit` unhandled treatment members, each in its own transaction; the number handled."""
    values = setting_values_for_store(campaign.store)
    cap = int(values["campaign_frequency_cap_messages"])
    since = clock.now() - dt.timedelta(days=int(values["campaign_frequency_cap_days"]))
    ids = list(
        CampaignMember.objects.filter(campaign=campaign, arm=Arm.TREATMENT, handled_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    handled = 0
    for pk in ids:
        if not _handle_member(campaign=campaign, member_id=pk, cap=cap, since=since):
            if not Campaign.objects.filter(pk=campaign.pk, status=S.SENDING).exists():
                break  # cancelled meanwhile: stop at once (each member would be refused anyway)
            continue
        handled += 1
    return handled


def campaign_finish_if_done(*, campaign: Campaign) -> bool:
    """sending → finished when no member is left to handle (the system's move)."""
    if CampaignMember.objects.filter(campaign=campaign, handled_at__isnull=True).exists():
        return False
    CAMPAIGN.require(CAMPAIGN.get("finish"), actor=Party.SYSTEM, state=campaign.status, store_id=campaign.store_id)
    with transaction.atomic():
        if not _move(campaign, old=S.SENDING, new=S.FINISHED, finished_at=clock.now()):
            return False
        audit_record(
            actor=None, action="campaign.transition", obj=campaign, changes={"status": [S.SENDING, S.FINISHED]}
        )
    return True


@dataclass
class SweepResult:
    started: int = 0
    handled: int = 0
    finished: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"started": self.started, "handled": self.handled, "finished": self.finished}


def campaigns_sweep(*, batch_size: int = BATCH_SIZE, max_batches: int = MAX_BATCHES_PER_SWEEP) -> SweepResult:
    """Start the campaigns whose time has come and send the next batches of those sending.  Idempotent: a rerun
    (or a restart after a kill) resumes where the last one stopped."""
    result = SweepResult()
    batches = 0
    for campaign in campaigns_due(now=clock.now()).select_related("store"):
        if campaign.status == S.SCHEDULED:
            if not campaign_start(campaign=campaign):
                continue
            result.started += 1
        while batches < max_batches:
            # A cancel between two batches stops the sending.
            if not Campaign.objects.filter(pk=campaign.pk, status=S.SENDING).exists():
                break
            batches += 1
            done = campaign_send_batch(campaign=campaign, limit=batch_size)
            result.handled += done
            if done < batch_size:
                break
        if Campaign.objects.filter(pk=campaign.pk, status=S.SENDING).exists():
            campaign.status = S.SENDING
            result.finished += campaign_finish_if_done(campaign=campaign)
        if batches >= max_batches:
            break
    return result


# ------------------------------------------------------------------------------------------------- links


def campaign_link_open(*, token: str) -> CampaignMember | None:
    """The member behind a link (None for an unknown token); the first opening is recorded, later ones are not."""
    if not token or len(token) > 32 or not token.replace("-", "").replace("_", "").isalnum():
        return None
    member = CampaignMember.objects.select_related("campaign__store").filter(link_token=token).first()
    if member is None:
        return None
    if member.opened_at is None:
        now = clock.now()
        CampaignMember.objects.filter(pk=member.pk, opened_at__isnull=True).update(opened_at=now, updated_at=now)
        member.opened_at = now
    return member
