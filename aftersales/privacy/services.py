"""Customers' rights requests (PIPL arts. 44-47): intake from the desk, the customer's link and the API with the
clock fixed at receipt, the identity check, ownership, the answer (which exports, erases or withdraws consents as
the request asks), refusal with the legal reason, withdrawal, and the escalation sweep (80 % of the clock → the
store's managers, overdue → the group's privacy officers; each level once).

The clock (SPEC §10, docs/privacy.md):
* erasing vehicle data (kind erase, scope vehicle): `vehicle_data_erasure_working_days` working days on China's
  official calendar (`core.calendar.add_working_days`, the Civil Code's counting: the day of receipt does not
  count, due at 24:00 Beijing time of the last working day).  Statutory working days, NOT the store's own closed
  days: the duty is the company's, and a store closed for a refit does not stop the law's clock.
* everything else: `data_request_days` calendar days, due at the end (23:59:59 Beijing time) of the day that many
  days after the day of receipt.
Both settings are read for the request's store (store override, else group, else default) at receipt; the due
time never moves afterwards."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.calendar import CHINA_TZ, END_OF_DAY, add_working_days
from aftersales.core.exceptions import ApplicationError
from aftersales.customers import selectors as customer_selectors
from aftersales.customers.choices import ConsentChannel
from aftersales.customers.models import Consent, Customer
from aftersales.customers.services import consent_set
from aftersales.feedback.services.common import Errors, clean_choice, clean_received_at, clean_text, display_name
from aftersales.notifications.services import staff_notify
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Membership, Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.organisation.rules import Actor, Party, actor_user
from aftersales.organisation.selectors import active_users as _users
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.privacy import messages
from aftersales.privacy.choices import (
    EscalationLevel,
    IdentityMethod,
    RequestChannel,
    RequestKind,
    RequestScope,
    RequestStatus,
)
from aftersales.privacy.models import RightsRequest
from aftersales.privacy.transitions import RIGHTS_REQUEST

if TYPE_CHECKING:
    from django.contrib.auth.models import User

messages.register()  # also done at start-up (apps.py); repeated here for scripts that import the services alone

S = RequestStatus
DETAILS_MAX = 2000
# The share of a request's clock after which the store's managers are told (the first escalation level).
STORE_ESCALATION_SHARE = 0.8
NUMBER_ATTEMPTS = 20
LOST_RACE = gettext_noop("Someone else changed this request meanwhile; reload and try again.")


# ------------------------------------------------------------------------------------------------ the clock


def uses_working_days(kind: str, scope: str) -> bool:
    return kind == RequestKind.ERASE and scope == RequestScope.VEHICLE


def rights_request_due_at(*, store: Store, kind: str, scope: str, received_at: dt.datetime) -> dt.datetime:
    """The answer's due time, fixed at receipt (see the module's docstring)."""
    values = setting_values_for_store(store)
    if uses_working_days(kind, scope):
        return add_working_days(received_at, int(values["vehicle_data_erasure_working_days"]))
    day = received_at.astimezone(CHINA_TZ).date() + dt.timedelta(days=int(values["data_request_days"]))
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=CHINA_TZ)


def _number(store: Store, today: dt.date) -> str:
    """Numbers read SH01-PI-20261123-0007: store, day, running count of the day (like repair orders)."""
    prefix = f"{store.code}-PI-{today:%Y%m%d}-"
    last = RightsRequest.objects.filter(number__startswith=prefix).aggregate(m=Max("number"))["m"]
    sequence = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


def _create_numbered(request: RightsRequest) -> RightsRequest:
    """Save with the next number of the day; two requests at the same moment retry instead of failing."""
    today = timezone.localdate(clock.now())
    for _attempt in range(NUMBER_ATTEMPTS):
        request.number = _number(request.store, today)
        try:
            with transaction.atomic():
                request.save(force_insert=True)
                return request
        except IntegrityError:
            request.pk = None
            continue
    raise ApplicationError(_("The store is very busy; please try again."), {"code": "conflict"})


# ------------------------------------------------------------------------------------------------ intake


def _channel_for(by: Actor | None, channel: Any, errors: Errors) -> str:
    """The customer files only through their link; staff log at the desk or through an integration."""
    channel = clean_choice(errors, "channel", channel, RequestChannel)
    if not channel:
        return ""
    if (by is Party.CUSTOMER) != (channel == RequestChannel.LINK):
        errors.add("channel", _("Only the customer files a request through their own link."))
        return ""
    return channel


@transaction.atomic
def rights_request_log(
    *,
    store: Store,
    customer: Customer | None,
    kind: Any,
    scope: Any = RequestScope.ALL,
    channel: Any,
    details: Any = "",
    received_at: dt.datetime | None = None,
    by: User | Party | None,
) -> RightsRequest:
    """Log a customer's request.  Staff need LOG_RIGHTS_REQUESTS in the store (desk or API); the customer files
    through their signed link (`by=Party.CUSTOMER`, channel link), which also records the identity check (the
    link reached the phone on record).  The due time is fixed here and never moves."""
    if by is None:
        raise ApplicationError(_("Your role may not do this."), {"code": "forbidden"})
    RIGHTS_REQUEST.authorise(RIGHTS_REQUEST.get("log"), actor=by, store_id=store.pk)
    now = clock.now()
    errors = Errors()
    if customer is None or not customer_selectors.is_linked(customer, store.pk):
        errors.add("customer", _("No customer with this id in the store."))
    kind = clean_choice(errors, "kind", kind, RequestKind)
    scope = clean_choice(errors, "scope", scope or RequestScope.ALL, RequestScope)
    channel = _channel_for(by, channel, errors)
    details = clean_text(errors, "details", details, required=False, max_length=DETAILS_MAX)
    received = clean_received_at(errors, received_at, now)
    if kind == RequestKind.CORRECT and not details:
        errors.add("details", _("Say what is wrong and what it should be."))
    errors.raise_if_any()
    assert customer is not None
    request = RightsRequest(
        store=store,
        customer=customer,
        kind=kind,
        scope=scope,
        channel=channel,
        details=details,
        received_at=received,
        due_at=rights_request_due_at(store=store, kind=kind, scope=scope, received_at=received),
        logged_by=actor_user(by),
    )
    _create_numbered(request)
    audit_record(
        actor=actor_user(by),
        action="rights_request.log",
        obj=request,
        changes={
            "kind": kind,
            "scope": scope,
            "channel": channel,
            "received_at": received.isoformat(),
            "due_at": request.due_at.isoformat(),
        },
    )
    if by is Party.CUSTOMER:
        rights_request_verify_identity(request=request, method=IdentityMethod.SIGNED_LINK, note="", by=by)
    return request


# ------------------------------------------------------------------------------------------------ moves


def _move(
    request: RightsRequest, name: str, by: Actor, *, audit_extra: dict[str, Any] | None = None, **changes: Any
) -> RightsRequest:
    """State check, compare-and-set and audit: the only place a request's status changes (authorised before)."""
    m = RIGHTS_REQUEST.get(name)
    old = request.status
    if old not in m.sources:
        raise ApplicationError(_("This cannot be done in the record's present state."), {"code": "invalid_transition"})
    fields: dict[str, Any] = dict(changes)
    if m.target is not None:
        fields["status"] = m.target
    now = clock.now()
    if not RightsRequest.objects.filter(pk=request.pk, status=old).update(**fields, updated_at=now):
        raise ApplicationError(_(LOST_RACE), {"code": "conflict"})
    for key, value in fields.items():
        setattr(request, key, value)
    request.updated_at = now
    audit_record(
        actor=actor_user(by),
        action=f"rights_request.{name}",
        obj=request,
        changes={
            **({"status": [old, m.target]} if m.target else {}),
            **{k: (v.pk if hasattr(v, "pk") else str(v)) for k, v in changes.items() if k != "status"},
            **(audit_extra or {}),
        },
    )
    return request


@transaction.atomic
def rights_request_verify_identity(*, request: RightsRequest, method: Any, note: Any, by: Actor) -> RightsRequest:
    """Record how the customer's identity was checked; the request is then worked on (in progress)."""
    RIGHTS_REQUEST.authorise(RIGHTS_REQUEST.get("verify_identity"), actor=by, store_id=request.store_id)
    errors = Errors()
    method = clean_choice(errors, "method", method, IdentityMethod)
    note = clean_text(errors, "note", note, required=False, max_length=200)
    if by is Party.CUSTOMER and method and method != IdentityMethod.SIGNED_LINK:
        errors.add("method", _("The customer's link proves the identity by itself."))
    errors.raise_if_any()
    return _move(
        request,
        "verify_identity",
        by,
        identity_method=method,
        identity_note=note,
        identity_checked_by=actor_user(by),
        identity_checked_at=clock.now(),
    )


def handler_ok(user: Any, store_id: int) -> bool:
    return bool(getattr(user, "is_active", False)) and user_can(user, Capability.HANDLE_RIGHTS_REQUESTS, store_id)


@transaction.atomic
def rights_request_assign(*, request: RightsRequest, owner: Any, by: User) -> RightsRequest:
    """Give the request to a handler (HANDLE_RIGHTS_REQUESTS in its store); the new owner is told at once."""
    RIGHTS_REQUEST.authorise(RIGHTS_REQUEST.get("assign"), actor=by, store_id=request.store_id)
    if owner is None or not handler_ok(owner, request.store_id):
        raise ValidationError({"owner": [_("Choose someone who handles rights requests in this store.")]})
    if owner.pk == request.owner_id:
        raise ValidationError({"owner": [_("This person already owns the request.")]})
    request = _move(request, "assign", by, owner=owner)
    store = request.store
    staff_notify(
        store=store,
        users=[owner],
        template="rights_request_assigned",
        context={
            "store": store.name,
            "number": request.number,
            "kind": RequestKind(request.kind).label,
            "due": _local(request.due_at),
        },
        related=request,
        dedupe_key=f"rights_request_assigned:{request.pk}:{owner.pk}:{int(clock.now().timestamp())}",
        url=reverse("privacy:request-detail", args=[request.pk]),
        store_robot=False,  # a customer's request about their data is not for the store's group chat
    )
    return request


class ErasureRefused(ApplicationError):
    """Erasure the law does not allow (yet): the page shows the reasons and offers to refuse with them."""


def _export_module() -> Any:
    try:
        from aftersales.privacy import export
    except ImportError as exc:  # pragma: no cover - the export helper's module lands separately
        raise ApplicationError(_("The export is not available yet."), {"code": "unavailable"}) from exc
    return export


def _erasure_module() -> Any:
    try:
        from aftersales.privacy import erasure
    except ImportError as exc:  # pragma: no cover
        raise ApplicationError(_("Erasure is not available yet."), {"code": "unavailable"}) from exc
    return erasure


def erasure_refusals(request: RightsRequest) -> list[str]:
    """The legal reasons that forbid erasing what the request asks (empty: it may be erased)."""
    return list(_erasure_module().erasure_refusals(request.customer, scope=request.scope))


_CONSENT_CHANNEL = {
    RequestChannel.DESK: ConsentChannel.DESK,
    RequestChannel.LINK: ConsentChannel.CUSTOMER_LINK,
    RequestChannel.API: ConsentChannel.API,
}


def _withdraw_consents(request: RightsRequest, by: User) -> list[str]:
    """Withdraw every consent the customer has given (each purpose once, with its history event)."""
    purposes = list(
        Consent.objects.filter(customer=request.customer, granted=True)
        .order_by("purpose")
        .values_list("purpose", flat=True)
    )
    for purpose in purposes:
        consent_set(
            customer=request.customer,
            purpose=purpose,
            granted=False,
            channel=_CONSENT_CHANNEL[RequestChannel(request.channel)],
            by=by,
        )
    return purposes


@transaction.atomic
def rights_request_answer(*, request: RightsRequest, answer: Any, by: User) -> RightsRequest:
    """Answer the request (identity checked: the move starts only from in_progress) and do what it asks:
    * erase: `erase_customer` first; where the law requires keeping, ErasureRefused with the reasons and
      nothing written (the handler then refuses with them);
    * copy / access: the customer's export is produced (JSON + PDF, downloadable from the request's page);
    * withdraw: every consent the customer gave is withdrawn;
    * correct / object: the handler has made the change on the customer's file; the answer says what."""
    RIGHTS_REQUEST.authorise(RIGHTS_REQUEST.get("answer"), actor=by, store_id=request.store_id)
    errors = Errors()
    answer = clean_text(errors, "answer", answer, max_length=DETAILS_MAX)
    errors.raise_if_any()
    if request.status not in RIGHTS_REQUEST.get("answer").sources:
        if request.status == S.RECEIVED:
            raise ApplicationError(_("Check the customer's identity first."), {"code": "identity_not_checked"})
        raise ApplicationError(_("This cannot be done in the record's present state."), {"code": "invalid_transition"})
    done: dict[str, Any] = {}
    if request.kind == RequestKind.ERASE:
        # The answer is saved after the erasure swept the tables: it must not bring the person's name back.
        known = [v for v in (request.customer.name, request.customer.phone) if v and len(v) >= 2]
        if isinstance(answer, str):
            for value in known:
                answer = answer.replace(value, "***")
        reasons = erasure_refusals(request)
        if reasons:
            raise ErasureRefused(" ".join(reasons), {"code": "erasure_refused", "reasons": reasons})
        try:
            result = _erasure_module().erase_customer(
                customer=request.customer, by=by, scope=request.scope, rights_request=request
            )
        except ValidationError as exc:  # a reason to keep the data appeared meanwhile (the customer's row is locked)
            reasons = [m for messages in exc.message_dict.values() for m in messages]
            raise ErasureRefused(" ".join(reasons), {"code": "erasure_refused", "reasons": reasons}) from None
        done["erased"] = dict(getattr(result, "counts", {}))
    elif request.kind in (RequestKind.COPY, RequestKind.ACCESS):
        export = _export_module().export_customer(
            customer=request.customer,
            by=by,
            language=getattr(request.customer, "language", "") or "zh-hans",
            rights_request=request,
        )
        done["export"] = getattr(export, "filename_stem", "")
    elif request.kind == RequestKind.WITHDRAW:
        done["consents_withdrawn"] = ",".join(_withdraw_consents(request, by))
    return _move(request, "answer", by, audit_extra=done, answer=answer, answered_by=by, answered_at=clock.now())


@transaction.atomic
def rights_request_refuse(*, request: RightsRequest, reason: Any, by: User) -> RightsRequest:
    """Refuse, with the reason the law gives (PIPL art. 47's exceptions, a retention duty, identity unproven)."""
    RIGHTS_REQUEST.authorise(RIGHTS_REQUEST.get("refuse"), actor=by, store_id=request.store_id)
    errors = Errors()
    reason = clean_text(errors, "reason", reason, max_length=DETAILS_MAX)
    errors.raise_if_any()
    return _move(request, "refuse", by, refusal_reason=reason, answered_by=by, answered_at=clock.now())


@transaction.atomic
def rights_request_withdraw(*, request: RightsRequest, note: Any = "", by: User | Party) -> RightsRequest:
    """The customer no longer wants the request (told the desk, or through their link)."""
    RIGHTS_REQUEST.authorise(RIGHTS_REQUEST.get("withdraw"), actor=by, store_id=request.store_id)
    errors = Errors()
    note = clean_text(errors, "note", note, required=False, max_length=500)
    errors.raise_if_any()
    return _move(request, "withdraw", by, answer=note, answered_at=clock.now())


# ------------------------------------------------------------------------------------------------ escalation


def _local(value: dt.datetime) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"


def store_managers(store: Store) -> list[Any]:
    return _users(Membership.objects.filter(store=store, role=Role.MANAGER))


def privacy_officers(store: Store) -> list[Any]:
    return _users(
        Membership.objects.filter(
            Q(group_id=store.group_id, store__isnull=True) | Q(store=store), role=Role.PRIVACY_OFFICER
        )
    )


def store_escalation_at(request: RightsRequest) -> dt.datetime:
    """When 80 % of the request's clock has run."""
    return request.received_at + (request.due_at - request.received_at) * STORE_ESCALATION_SHARE


def _escalate(pk: int, level: str, now: dt.datetime) -> bool:
    """Claim one level of one request with a conditional UPDATE (a concurrent sweep claims nothing) and alert."""
    field = "escalated_store_at" if level == EscalationLevel.STORE else "escalated_group_at"
    with transaction.atomic():
        claimed = RightsRequest.objects.filter(
            pk=pk, status__in=RIGHTS_REQUEST.get("escalate").sources, **{f"{field}__isnull": True}
        ).update(**{field: now, "escalation_level": level, "updated_at": now})
        if not claimed:
            return False
        request = RightsRequest.objects.select_related("store", "owner__staff_profile").get(pk=pk)
        RIGHTS_REQUEST.authorise(RIGHTS_REQUEST.get("escalate"), actor=Party.SYSTEM, store_id=request.store_id)
        store = request.store
        with translation.override("zh-hans"):
            context = {
                "store": store.name,
                "number": request.number,
                "kind": RequestKind(request.kind).label,
                "owner": display_name(request.owner),
                "due": _local(request.due_at),
            }
        users = store_managers(store) if level == EscalationLevel.STORE else privacy_officers(store)
        staff_notify(
            store=store,
            users=users,
            template="rights_request_due_soon" if level == EscalationLevel.STORE else "rights_request_overdue",
            context=context,
            related=request,
            dedupe_key=f"rights_request_escalated:{request.pk}:{level}",
            url=reverse("privacy:request-detail", args=[request.pk]),
            store_robot=False,
        )
        audit_record(
            actor=None,
            action="rights_request.escalate",
            obj=request,
            changes={"level": level, "due_at": request.due_at.isoformat()},
        )
    return True


@dataclass(frozen=True)
class SweepResult:
    store: int
    group: int


def rights_request_escalation_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    """Open requests with 80 % of their clock run → the store's managers; overdue (strictly after the due time)
    → the group's privacy officers.  Each level once; idempotent."""
    now = now or clock.now()
    rows = RightsRequest.objects.filter(status__in=RIGHTS_REQUEST.get("escalate").sources).filter(
        Q(escalated_store_at__isnull=True) | Q(escalated_group_at__isnull=True, due_at__lt=now)
    )
    store_count = group_count = 0
    for request in rows.only("pk", "received_at", "due_at", "escalated_store_at", "escalated_group_at").order_by(
        "due_at", "pk"
    ):
        if request.escalated_store_at is None and store_escalation_at(request) <= now:
            store_count += _escalate(request.pk, EscalationLevel.STORE, now)
        if request.escalated_group_at is None and request.due_at < now:
            group_count += _escalate(request.pk, EscalationLevel.GROUP, now)
    return SweepResult(store=store_count, group=group_count)
