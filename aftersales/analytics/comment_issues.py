"""Frequent issues from free text, stored (issue 13 part 4, SPEC §8): read the customers' comments of a store-month
with the text-mining core (textmining/: jieba, the bilingual lexicon, negation and contrast) and keep what was
found — one `CommentIssue` per (text, issue) with the sentence as a masked quote, the month's word counts for the
emerging terms (`CommentTerm`) and the number of comments read (`CommentMonth`) — so the monthly page counts rows
in SQL and never segments a text per request.

The texts read (each with its time, which decides the month in the store's time zone):

- survey answers to free-text items (``SurveyAnswer.text`` of items of kind text, e.g. "suggestions"), at the
  response's ``submitted_at``;
- complaint descriptions and customers' suggestions, at ``received_at``;
- follow-up call notes (``CallAttempt.note``) at the call, and service-recovery notes at the task's opening —
  what the customer said, as the agent or advisor wrote it down.

A store-month is always read whole and its rows rewritten in one transaction (`comments_scan`): a rescan is
idempotent, and a text edited or moved to another month leaves no stale row.  The nightly job
(`comments_sweep`) rescans the store-months of the texts changed since its last run (``updated_at``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from aftersales.analytics.models import CommentIssue, CommentMonth, CommentSource, CommentTerm
from aftersales.analytics.periods import LOCAL_TZ, Period
from aftersales.analytics.textmining import DEFAULT_LEXICON, Lexicon, content_words, detect_issues
from aftersales.feedback.choices import ItemKind
from aftersales.feedback.models import CallAttempt, Complaint, RecoveryTask, Suggestion, SurveyAnswer
from aftersales.organisation.models import Store

__all__ = [
    "Comment",
    "ScanResult",
    "comments_of",
    "comments_scan",
    "comments_sweep",
    "mask_digits",
    "month_of",
]

QUOTE_LENGTH = 300  # CommentIssue.quote
TERM_LENGTH = 40  # CommentTerm.term: longer "words" (run-on Latin text) are not kept
# First scan ever (no store-month read yet): how many months back the nightly job reads.
FIRST_SWEEP_MONTHS = 6
# A run of 7 or more digits (a phone, an ID card, a bank card, a VIN's tail), spaces or hyphens allowed between
# them, half- or full-width: masked digit for digit in a stored quote.  Shorter numbers (三百多, 2 小时, 300 元)
# stay: they are what the customer complains about.
_LONG_NUMBER = re.compile(r"[0-9０-９](?:[ \-－]?[0-9０-９]){6,}")
_DIGIT = re.compile(r"[0-9０-９]")


def mask_digits(text: str) -> str:
    """``text`` with every run of 7+ digits replaced by asterisks (separators kept)."""
    return _LONG_NUMBER.sub(lambda match: _DIGIT.sub("*", match.group()), text)


def month_of(at: dt.datetime) -> str:
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m")


@dataclass(frozen=True, slots=True)
class Comment:
    """One free text to read."""

    kind: str  # CommentSource
    source_id: int
    record_id: int  # the record whose page shows the text (a survey answer → its response)
    store_id: int
    customer_id: int
    advisor_id: int | None
    written_at: dt.datetime
    text: str


# ------------------------------------------------------------------------------------------------ the texts


def _survey_answers() -> QuerySet[SurveyAnswer]:
    return SurveyAnswer.objects.filter(item__kind=ItemKind.TEXT).exclude(text="")


def comments_of(*, store_id: int, start: dt.datetime, end: dt.datetime) -> Iterator[Comment]:
    """Every free text of a store written in [start, end): five queries, one per source."""
    answers = (
        _survey_answers()
        .filter(response__store_id=store_id, response__submitted_at__gte=start, response__submitted_at__lt=end)
        .values_list(
            "id",
            "response_id",
            "response__customer_id",
            "response__order__advisor_id",
            "response__submitted_at",
            "text",
        )
    )
    for pk, record, customer, advisor, at, text in answers.order_by("id"):
        yield Comment(CommentSource.SURVEY, pk, record, store_id, customer, advisor, at, text)
    complaints = Complaint.objects.filter(store_id=store_id, received_at__gte=start, received_at__lt=end)
    for pk, customer, advisor, at, text in complaints.values_list(
        "id", "customer_id", "order__advisor_id", "received_at", "description"
    ).order_by("id"):
        yield Comment(CommentSource.COMPLAINT, pk, pk, store_id, customer, advisor, at, text)
    suggestions = Suggestion.objects.filter(store_id=store_id, received_at__gte=start, received_at__lt=end)
    for pk, customer, at, text in suggestions.values_list("id", "customer_id", "received_at", "description").order_by(
        "id"
    ):
        yield Comment(CommentSource.SUGGESTION, pk, pk, store_id, customer, None, at, text)
    calls = CallAttempt.objects.filter(follow_up__store_id=store_id, at__gte=start, at__lt=end).exclude(note="")
    for pk, record, customer, advisor, at, text in calls.values_list(
        "id", "follow_up_id", "follow_up__order__customer_id", "follow_up__order__advisor_id", "at", "note"
    ).order_by("id"):
        yield Comment(CommentSource.CALL_NOTE, pk, record, store_id, customer, advisor, at, text)
    tasks = RecoveryTask.objects.filter(store_id=store_id, opened_at__gte=start, opened_at__lt=end).exclude(note="")
    for pk, customer, advisor, at, text in tasks.values_list(
        "id", "response__customer_id", "order__advisor_id", "opened_at", "note"
    ).order_by("id"):
        yield Comment(CommentSource.RECOVERY_NOTE, pk, pk, store_id, customer, advisor, at, text)


def _changed_store_months(since: dt.datetime | None, now: dt.datetime) -> set[tuple[int, str]]:
    """The (store, month) of every text whose record changed since ``since`` (a text's record: the survey
    response, the complaint, the suggestion, the follow-up of a call, the recovery task).  Without ``since`` (the
    first run): every store-month of the last `FIRST_SWEEP_MONTHS` months with a text."""
    if since is None:
        start = Period.containing(timezone.localtime(now, LOCAL_TZ).date()).shift(1 - FIRST_SWEEP_MONTHS).start
        filters = [
            (_survey_answers(), "response__store_id", "response__submitted_at", {"response__submitted_at__gte": start}),
            (Complaint.objects.all(), "store_id", "received_at", {"received_at__gte": start}),
            (Suggestion.objects.all(), "store_id", "received_at", {"received_at__gte": start}),
            (CallAttempt.objects.exclude(note=""), "follow_up__store_id", "at", {"at__gte": start}),
            (RecoveryTask.objects.exclude(note=""), "store_id", "opened_at", {"opened_at__gte": start}),
        ]
    else:
        filters = [
            (_survey_answers(), "response__store_id", "response__submitted_at", {"response__updated_at__gt": since}),
            (Complaint.objects.all(), "store_id", "received_at", {"updated_at__gt": since}),
            (Suggestion.objects.all(), "store_id", "received_at", {"updated_at__gt": since}),
            (CallAttempt.objects.exclude(note=""), "follow_up__store_id", "at", {"follow_up__updated_at__gt": since}),
            (RecoveryTask.objects.exclude(note=""), "store_id", "opened_at", {"updated_at__gt": since}),
        ]
    found: set[tuple[int, str]] = set()
    for queryset, store_field, time_field, where in filters:
        rows = queryset.filter(**where).values_list(store_field, time_field).order_by().distinct()
        found.update((store_id, month_of(at)) for store_id, at in rows.iterator(chunk_size=2000))
    return found


# --------------------------------------------------------------------------------------------------- scanning


@dataclass(frozen=True)
class ScanResult:
    store_id: int
    month: str
    comments: int
    issues: Counter[str]  # comments per issue code

    def as_dict(self) -> dict[str, object]:
        return {"store": self.store_id, "month": self.month, "comments": self.comments, "issues": dict(self.issues)}


def _clip(text: str, length: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


def _rows(comments: Iterable[Comment], month: str, lexicon: Lexicon) -> tuple[list[CommentIssue], Counter[str], int]:
    issues: list[CommentIssue] = []
    terms: Counter[str] = Counter()
    read = 0
    for comment in comments:
        read += 1
        terms.update(word for word in content_words(comment.text) if len(word) <= TERM_LENGTH)
        for hit in detect_issues(comment.text, lexicon):
            issues.append(
                CommentIssue(
                    store_id=comment.store_id,
                    customer_id=comment.customer_id,
                    advisor_id=comment.advisor_id,
                    source_kind=comment.kind,
                    source_id=comment.source_id,
                    record_id=comment.record_id,
                    written_at=comment.written_at,
                    month=month,
                    issue=hit.code,
                    term=_clip(mask_digits(hit.term), 60),
                    quote=_clip(mask_digits(hit.quote), QUOTE_LENGTH),
                )
            )
    return issues, terms, read


def comments_scan(
    *,
    store: Store | int,
    period: Period,
    now: dt.datetime | None = None,
    lexicon: Lexicon = DEFAULT_LEXICON,
    by_sweep: bool = False,
) -> ScanResult:
    """Read every free text of a store-month and rewrite what was found (idempotent: the same texts give the same
    rows).  Rows of texts that moved out of the month go too, wherever they were."""
    if period.kind != "month":
        raise ValueError("comments are read per month")
    store_id = store if isinstance(store, int) else store.pk
    now = now or timezone.now()
    month = str(period)
    comments = list(comments_of(store_id=store_id, start=period.start, end=period.end))
    issues, terms, read = _rows(comments, month, lexicon)  # outside the transaction: segmentation takes time
    by_kind: dict[str, list[int]] = {}
    for comment in comments:
        by_kind.setdefault(comment.kind, []).append(comment.source_id)
    with transaction.atomic():
        CommentIssue.objects.filter(store_id=store_id, month=month).delete()
        for kind, ids in by_kind.items():  # texts moved here from another month
            for at in range(0, len(ids), 500):
                CommentIssue.objects.filter(source_kind=kind, source_id__in=ids[at : at + 500]).delete()
        CommentIssue.objects.bulk_create(issues, batch_size=500)
        CommentTerm.objects.filter(store_id=store_id, month=month).delete()
        CommentTerm.objects.bulk_create(
            [CommentTerm(store_id=store_id, month=month, term=term, documents=n) for term, n in sorted(terms.items())],
            batch_size=1000,
        )
        CommentMonth.objects.update_or_create(
            store_id=store_id, month=month, defaults={"comments": read, "scanned_at": now, "by_sweep": by_sweep}
        )
    return ScanResult(store_id, month, read, Counter(issue.issue for issue in issues))


def comments_sweep(*, now: dt.datetime | None = None) -> list[ScanResult]:
    """The nightly job: rescan every store-month with a text changed since the last sweep began (the latest
    `scanned_at` of a sweep's scan — a rescan asked for by hand does not move it; a scan stamps the time the sweep
    started, so nothing written during it is missed)."""
    now = now or timezone.now()
    since = CommentMonth.objects.filter(by_sweep=True).aggregate(last=Max("scanned_at"))["last"]
    changed = _changed_store_months(since, now)
    active = set(Store.objects.filter(pk__in={store_id for store_id, _ in changed}).values_list("pk", flat=True))
    return [
        comments_scan(store=store_id, period=Period.parse(month), now=now, by_sweep=True)
        for store_id, month in sorted(changed)
        if store_id in active
    ]
