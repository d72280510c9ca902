"""Writes of the e-health record (JT/T 1132): the sweep that queues one submission per settled order, delivery to
the provincial platform with retries, a manager's resend, and the endpoint's configuration.

The queue is this app's own table rather than the messaging outbox (whose rows are texts to a person, see
models.py), but it keeps the outbox's rules: a row is claimed with a conditional UPDATE before the platform is
called (two workers never send the same record; the HTTP call holds no database lock), a failed attempt waits
`messaging.services.RETRY_BACKOFF_MINUTES` and the last one gives up (`failed`), a worker that died leaves a
claim that expires after `CLAIM_LEASE`.  A rejection is final until a person corrects the order and resends."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.text import refuse_control_characters
from aftersales.customers import crypto
from aftersales.ehr import selectors
from aftersales.ehr.adapters import ACCEPTED, REJECTED, Outcome, adapter_for
from aftersales.ehr.choices import AdapterKind, SubmissionStatus
from aftersales.ehr.models import HTTP_URL, EhrAttempt, EhrEndpoint, EhrSubmission
from aftersales.ehr.record import is_settled, order_record
from aftersales.ehr.transitions import RESENDABLE, can_move
from aftersales.messaging.services import RETRY_BACKOFF_MINUTES
from aftersales.organisation.access import require
from aftersales.organisation.models import DealerGroup, Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service.choices import RepairOrderStatus
from aftersales.service.models import RepairOrder

logger = logging.getLogger("aftersales.ehr")

S = SubmissionStatus
MAX_ATTEMPTS = len(RETRY_BACKOFF_MINUTES) + 1  # as the outbox: the 5th failure is final
CLAIM_LEASE = dt.timedelta(minutes=10)
NO_ENDPOINT_WAIT = dt.timedelta(minutes=RETRY_BACKOFF_MINUTES[-1])
NO_ENDPOINT = "no e-health endpoint is configured for this store"


# ------------------------------------------------------------------------------------------------ the sweep


def ehr_sweep() -> int:
    """Queue one submission for every order settled within the store's `ehr_backfill_days` that has none;
    returns how many were queued.  Idempotent: the order is unique on the submission, a rerun finds nothing."""
    now = clock.now()
    queued = 0
    for store in Store.objects.filter(is_active=True).order_by("pk"):
        days = int(setting_values_for_store(store)["ehr_backfill_days"])
        orders = (
            RepairOrder.objects.filter(
                store=store,
                status=RepairOrderStatus.DELIVERED,
                delivered_at__isnull=False,
                delivered_at__gte=now - dt.timedelta(days=days),
                ehr_submission__isnull=True,
            )
            .select_related("store", "vehicle", "concern_category")
            .order_by("delivered_at", "pk")
        )
        endpoint = selectors.endpoint_for_store(store)
        code = endpoint.company_code if endpoint else ""
        for order in orders:
            try:
                with transaction.atomic():
                    EhrSubmission.objects.create(
                        store=store, order=order, record=order_record(order, company_code=code), created_at=now
                    )
            except IntegrityError:  # a concurrent sweep queued it first
                continue
            queued += 1
    return queued


# ---------------------------------------------------------------------------------------------- delivery


def _due(now: dt.datetime) -> Q:
    waiting = Q(status__in=[S.PENDING, S.RETRYING]) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    taken_over = Q(status=S.SENDING, next_attempt_at__lte=now)  # a worker died holding the claim
    return waiting | taken_over


def _claim(submission_id: int, now: dt.datetime) -> bool:
    lease = getattr(settings, "AFTERSALES_EHR_CLAIM_LEASE", CLAIM_LEASE)
    return bool(
        EhrSubmission.objects.filter(_due(now), pk=submission_id).update(
            status=S.SENDING,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            next_attempt_at=now + lease,
            updated_at=now,
        )
    )


def _move(submission: EhrSubmission, new: S, **fields: Any) -> int:
    """Compare-and-set from `sending`; 0 when another worker took the row over meanwhile."""
    if not can_move(S.SENDING, new):
        raise ValueError(f"ehr: no move from sending to {new}")
    return EhrSubmission.objects.filter(pk=submission.pk, status=S.SENDING, attempts=submission.attempts).update(
        status=new, updated_at=clock.now(), **fields
    )


@transaction.atomic
def _record_outcome(submission: EhrSubmission, outcome: Outcome) -> str:
    now = clock.now()
    detail = outcome.detail[:500]
    if outcome.result == ACCEPTED:
        new, fields = S.ACCEPTED, {"remote_id": outcome.remote_id, "accepted_at": now, "reason": ""}
        fields["next_attempt_at"] = None
    elif outcome.result == REJECTED:
        new, fields = S.REJECTED, {"reason": detail, "next_attempt_at": None}
    elif submission.attempts >= MAX_ATTEMPTS:
        new, fields = S.FAILED, {"reason": detail, "next_attempt_at": None}
        logger.warning("ehr submission #%s failed after %s attempts: %s", submission.pk, submission.attempts, detail)
    else:
        wait = dt.timedelta(minutes=RETRY_BACKOFF_MINUTES[min(submission.attempts, len(RETRY_BACKOFF_MINUTES)) - 1])
        new, fields = S.RETRYING, {"reason": detail, "next_attempt_at": now + wait}
    if _move(submission, new, **fields):
        EhrAttempt.objects.create(submission=submission, at=now, outcome=new, detail=detail)
    return str(new)


def _deliver(submissions: list[EhrSubmission], endpoint: EhrEndpoint, store: Store) -> int:
    """Claim what is still due, hand it to the endpoint's adapter in batches, record each outcome; the number
    accepted."""
    values = setting_values_for_store(store)
    timeout = float(values["ehr_request_timeout_seconds"])
    size = int(values["ehr_batch_size"]) if endpoint.kind == AdapterKind.BATCH else 1
    adapter = adapter_for(endpoint, timeout=timeout)
    accepted = 0
    for start in range(0, len(submissions), size):
        now = clock.now()
        claimed = [s for s in submissions[start : start + size] if _claim(s.pk, now)]
        if not claimed:
            continue
        for submission in claimed:
            submission.refresh_from_db()
        records = [(s.pk, {**s.record, "company_code": endpoint.company_code}) for s in claimed]
        try:
            outcomes = adapter.submit(records)
        except Exception as exc:  # a broken adapter is a failed attempt, not a crashed sweep
            logger.exception("ehr: adapter %s raised", endpoint.kind)
            outcomes = {s.pk: Outcome("retry", detail=f"{type(exc).__name__}: {exc}") for s in claimed}
        for submission in claimed:
            result = _record_outcome(submission, outcomes.get(submission.pk, Outcome("retry", detail="no outcome")))
            accepted += result == S.ACCEPTED
    return accepted


def _park_without_endpoint(submission_ids: list[int], now: dt.datetime) -> None:
    """No endpoint: nothing to try, no attempt spent; looked at again later (the reason is on the page)."""
    EhrSubmission.objects.filter(pk__in=submission_ids, status__in=[S.PENDING, S.RETRYING]).update(
        reason=NO_ENDPOINT, next_attempt_at=now + NO_ENDPOINT_WAIT, updated_at=now
    )


def ehr_deliver_due(*, limit: int = 500) -> int:
    """Upload up to `limit` due submissions, oldest first, grouped by store (its endpoint); how many were
    accepted.  Safe to rerun and to run in two workers at once."""
    now = clock.now()
    rows = list(EhrSubmission.objects.filter(_due(now)).order_by("next_attempt_at", "id")[: max(limit, 0)])
    by_store: dict[int, list[EhrSubmission]] = defaultdict(list)
    for row in rows:
        by_store[row.store_id].append(row)
    accepted = 0
    for store in Store.objects.filter(pk__in=by_store).order_by("pk"):
        endpoint = selectors.endpoint_for_store(store)
        if endpoint is None:
            _park_without_endpoint([s.pk for s in by_store[store.pk]], now)
            continue
        accepted += _deliver(by_store[store.pk], endpoint, store)
    return accepted


def ehr_deliver(*, submission_id: int) -> str:
    """Upload one submission now if it is due; its status afterwards."""
    submission = EhrSubmission.objects.select_related("store").filter(pk=submission_id).first()
    if submission is None:
        return ""
    endpoint = selectors.endpoint_for_store(submission.store)
    if endpoint is None:
        _park_without_endpoint([submission.pk], clock.now())
    else:
        _deliver([submission], endpoint, submission.store)
    return EhrSubmission.objects.values_list("status", flat=True).get(pk=submission_id)


# ------------------------------------------------------------------------------------------------ resend


def ehr_resend(*, submission: EhrSubmission, by: Any) -> EhrSubmission:
    """Queue a rejected (or given-up) record again, rebuilt from the order as it is now (the manager corrected
    it); the next delivery sweep uploads it."""
    require(by, Capability.MANAGE_EHR, store_id=submission.store_id)
    if submission.status not in RESENDABLE:
        raise ValidationError({"status": [_("Only a rejected or failed record can be sent again.")]})
    order = RepairOrder.objects.select_related("store", "vehicle", "concern_category").get(pk=submission.order_id)
    if not is_settled(order):
        raise ValidationError({"status": [_("The order is no longer settled.")]})
    endpoint = selectors.endpoint_for_store(order.store, enabled_only=False)
    record = order_record(order, company_code=endpoint.company_code if endpoint else "")
    now = clock.now()
    with transaction.atomic():
        moved = EhrSubmission.objects.filter(pk=submission.pk, status__in=list(RESENDABLE)).update(
            status=S.PENDING, attempts=0, next_attempt_at=None, record=record, updated_at=now
        )
        if not moved:
            raise ValidationError({"status": [_("Only a rejected or failed record can be sent again.")]})
        EhrAttempt.objects.create(submission=submission, at=now, outcome=S.PENDING, detail="resend", by=by)
        audit_record(
            actor=by,
            action="ehr_submission.resend",
            obj=submission,
            changes={"status": [submission.status, S.PENDING], "reason": [submission.reason, ""]},
        )
    submission.refresh_from_db()
    return submission


# ------------------------------------------------------------------------------------------ configuration

ENDPOINT_FIELDS = ("kind", "token_url", "record_url", "company_code", "client_id", "enabled")


def ehr_endpoint_save(
    *,
    by: Any,
    group: DealerGroup,
    store: Store | None,
    kind: str,
    token_url: str,
    record_url: str,
    company_code: str,
    client_id: str,
    secret: str = "",
    enabled: bool = True,
) -> EhrEndpoint:
    """Create or change the endpoint of the group (store None) or of one store.  An empty secret keeps the one
    stored; the secret is never audited, only that it changed.  A change of address or account forgets the
    cached token."""
    if store is not None:
        require(by, Capability.MANAGE_EHR, store_id=store.pk)
    elif not any(
        user_can(by, Capability.MANAGE_EHR, pk) and user_can(by, Capability.EDIT_GROUP_SETTINGS, pk)
        for pk in group.stores.values_list("pk", flat=True)
    ):
        raise PermissionDenied(_("Your role may not do this."))
    refuse_control_characters(
        token_url=token_url, record_url=record_url, company_code=company_code, client_id=client_id, secret=secret
    )
    existing = selectors.endpoint_of_scope(group_id=group.pk, store=store)
    errors: dict[str, list[str]] = {}
    if kind not in AdapterKind.values:
        errors["kind"] = [_("Choose one of the endpoint shapes.")]
    for name, value in (("token_url", token_url), ("record_url", record_url)):
        try:
            HTTP_URL(value)
        except ValidationError:
            errors[name] = [_("Enter an http or https address.")]
    for name, value, longest in (("company_code", company_code, 40), ("client_id", client_id, 80)):
        if not value.strip():
            errors[name] = [_("This field is required.")]
        elif len(value) > longest:
            errors[name] = [_("At most %(n)s characters.") % {"n": longest}]
    if not secret and (existing is None or not existing.secret_encrypted):
        errors["secret"] = [_("This field is required.")]
    if len(secret) > 500:
        errors["secret"] = [_("At most %(n)s characters.") % {"n": 500}]
    if errors:
        raise ValidationError(errors)
    values: dict[str, Any] = {
        "kind": kind,
        "token_url": token_url.strip(),
        "record_url": record_url.strip(),
        "company_code": company_code.strip(),
        "client_id": client_id.strip(),
        "enabled": enabled,
    }
    with transaction.atomic():
        endpoint = existing or EhrEndpoint(group=group, store=store)
        changes: dict[str, list[Any]] = {
            k: [getattr(existing, k, None), v]
            for k, v in values.items()
            if existing is None or getattr(existing, k) != v
        }
        for key, value in values.items():
            setattr(endpoint, key, value)
        if secret:
            endpoint.secret_encrypted = crypto.encrypt(secret)
            changes["secret_encrypted"] = ["…", "…"]  # that it changed, never the value
        if existing is None or {"token_url", "client_id", "secret_encrypted"} & set(changes):
            endpoint.token_encrypted, endpoint.token_expires_at = "", None
        endpoint.save()
        audit_record(
            actor=by,
            action="ehr_endpoint.save",
            obj=endpoint,
            store_id=store.pk if store else None,
            changes={k: [str(a) if a is not None else "", str(b)] for k, (a, b) in changes.items()},
        )
    return endpoint
