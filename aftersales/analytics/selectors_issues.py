"""Reads of the monthly frequent-issues page (/numbers/issues/): the issues found in the customers' comments of a
store or a group (`CommentIssue` rows, counted in SQL), their trend, the advisors' (or stores') counts, example
quotes, the emerging words (from the stored word counts) and the complaint categories beside them.  A fixed number
of queries, whatever the number of stores, comments or advisors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import translation

from aftersales.analytics.models import CommentIssue, CommentMonth, CommentSource, CommentTerm
from aftersales.analytics.periods import Period
from aftersales.analytics.textmining import DEFAULT_LEXICON, EmergingTerm, Lexicon, emerging_from_counts
from aftersales.feedback.choices import ComplaintCategory
from aftersales.feedback.models import Complaint
from aftersales.organisation.models import Store

TREND_MONTHS = 6
EMERGING_HISTORY = 3  # months before the chosen one that the emerging words are compared with
QUOTES_PER_ISSUE = 3
# The complaint category a CAPA opened on a comment issue is filed under (a CAPA's source is a category-month).
ISSUE_CATEGORY: dict[str, str] = {
    "waiting_long": ComplaintCategory.WAITING,
    "price_high": ComplaintCategory.PRICE,
    "upsell": ComplaintCategory.PRICE,
    "attitude": ComplaintCategory.ATTITUDE,
    "parts": ComplaintCategory.PARTS,
    "repair_quality": ComplaintCategory.QUALITY,
}


def issue_category(code: str) -> str:
    return ISSUE_CATEGORY.get(code, ComplaintCategory.OTHER)


def issue_label(code: str, lexicon: Lexicon = DEFAULT_LEXICON) -> str:
    language = translation.get_language() or "zh-hans"
    return lexicon[code].label(language) if code in lexicon else code


@dataclass
class Quote:
    text: str
    kind: str
    kind_label: str
    record_id: int
    store_id: int
    written_at: Any


@dataclass
class IssueRank:
    code: str
    label: str
    count: int
    previous: int
    rank: int = 0
    quotes: list[Quote] = field(default_factory=list)

    @property
    def change(self) -> int:
        return self.count - self.previous


@dataclass
class CategoryRank:
    key: str
    label: str
    count: int
    previous: int
    rank: int = 0

    @property
    def change(self) -> int:
        return self.count - self.previous


@dataclass
class IssuesPage:
    period: Period
    previous: Period
    months: list[str]  # the trend's months, oldest first
    read: int  # comments read in the month
    read_previous: int
    stores_read: int  # stores of the scope whose month was read
    stores: int
    scanned_at: Any
    issues: list[IssueRank]
    trend: dict[str, list[int]]  # issue code → count per month of `months`
    by_party: list[dict[str, Any]]  # advisors (a store) or stores (a group): name, counts per issue, total
    emerging: list[EmergingTerm]
    history_comments: int  # comments of the months the emerging words are compared with
    categories: list[CategoryRank]

    @property
    def commented_issues(self) -> int:
        return sum(issue.count for issue in self.issues)


def _ranked(rows: list[Any]) -> list[Any]:
    rows.sort(key=lambda r: (-r.count, -r.change, r.label))
    for position, row in enumerate(rows, start=1):
        row.rank = position
    return rows


def _quotes(ids: list[int], month: str, codes: list[str]) -> dict[str, list[Quote]]:
    """The newest `QUOTES_PER_ISSUE` quotes of each issue: one query (a window numbers them per issue)."""
    if not codes:
        return {}
    labels = dict(CommentSource.choices)
    rows = (
        CommentIssue.objects.filter(store_id__in=ids, month=month, issue__in=codes)
        .annotate(
            position=Window(RowNumber(), partition_by=[F("issue")], order_by=[F("written_at").desc(), F("id").desc()])
        )
        .filter(position__lte=QUOTES_PER_ISSUE)
        .values_list("issue", "quote", "source_kind", "record_id", "store_id", "written_at")
        .order_by("issue", "position")
    )
    found: dict[str, list[Quote]] = {}
    for code, quote, kind, record_id, store_id, at in rows:
        found.setdefault(code, []).append(Quote(quote, kind, str(labels.get(kind, kind)), record_id, store_id, at))
    return found


def _emerging(ids: list[int], period: Period, top: int) -> tuple[list[EmergingTerm], int]:
    month = str(period)
    history = [str(period.shift(-step)) for step in range(1, EMERGING_HISTORY + 1)]
    read = dict(
        CommentMonth.objects.filter(store_id__in=ids, month__in=[month, *history])
        .values("month")
        .annotate(n=Sum("comments"))
        .values_list("month", "n")
    )
    n_current = int(read.get(month) or 0)
    n_previous = sum(int(read.get(m) or 0) for m in history)
    if not n_current:
        return [], n_previous
    current = dict(
        CommentTerm.objects.filter(store_id__in=ids, month=month)
        .values("term")
        .annotate(n=Sum("documents"))
        .filter(n__gte=2)
        .values_list("term", "n")
    )
    previous = dict(
        CommentTerm.objects.filter(store_id__in=ids, month__in=history, term__in=list(current))
        .values("term")
        .annotate(n=Sum("documents"))
        .values_list("term", "n")
    )
    vocabulary = (
        CommentTerm.objects.filter(store_id__in=ids, month__in=[month, *history]).values("term").distinct().count()
    )
    return emerging_from_counts(current, n_current, previous, n_previous, vocabulary, top=top), n_previous


def _categories(ids: list[int], period: Period) -> list[CategoryRank]:
    previous = period.previous()
    counts: dict[tuple[str, str], int] = {}
    for label, p in (("now", period), ("before", previous)):
        rows = (
            Complaint.objects.filter(store_id__in=ids, received_at__gte=p.start, received_at__lt=p.end)
            .values("category")
            .annotate(n=Count("id"))
            .values_list("category", "n")
        )
        counts.update({(label, category): n for category, n in rows})
    rows_out = [
        CategoryRank(
            key, str(ComplaintCategory(key).label), counts.get(("now", key), 0), counts.get(("before", key), 0)
        )
        for key in ComplaintCategory.values
        if counts.get(("now", key)) or counts.get(("before", key))
    ]
    return _ranked(rows_out)


def _party_names(by: str, ids: set[int]) -> dict[int, str]:
    if by == "store":
        return dict(Store.objects.filter(pk__in=ids).values_list("pk", "name"))
    rows = get_user_model().objects.filter(pk__in=ids).values_list("pk", "staff_profile__display_name", "username")
    return {pk: name or username for pk, name, username in rows}


def issues_page(
    *,
    store_ids: list[int],
    period: Period,
    by: str,
    lexicon: Lexicon = DEFAULT_LEXICON,
    emerging_top: int = 10,
) -> IssuesPage:
    """The page of a store (``by="advisor"``: counts per advisor) or of a group's stores (``by="store"``: counts
    per store), for the month ``period``."""
    ids = sorted(store_ids)
    months = [str(p) for p in period.trailing(TREND_MONTHS)]
    month, previous = str(period), str(period.previous())
    counts: dict[tuple[str, str], int] = {}
    for m, code, n in (
        CommentIssue.objects.filter(store_id__in=ids, month__in=months)
        .values("month", "issue")
        .annotate(n=Count("id"))
        .values_list("month", "issue", "n")
    ):
        counts[(m, code)] = n
    codes_seen = {code for m, code in counts}
    issues = _ranked(
        [
            IssueRank(code, issue_label(code, lexicon), counts.get((month, code), 0), counts.get((previous, code), 0))
            for code in codes_seen
            if counts.get((month, code)) or counts.get((previous, code))
        ]
    )
    quotes = _quotes(ids, month, [row.code for row in issues if row.count])
    for row in issues:
        row.quotes = quotes.get(row.code, [])
    # the trend draws the month's issues, and any raised in the months before (the legend can hide them)
    trend_codes = [row.code for row in issues] + sorted(codes_seen - {row.code for row in issues})
    trend = {code: [counts.get((m, code), 0) for m in months] for code in trend_codes}

    party_field = "advisor_id" if by == "advisor" else "store_id"
    per_party: dict[int | None, dict[str, int]] = {}
    for party, code, n in (
        CommentIssue.objects.filter(store_id__in=ids, month=month)
        .values(party_field, "issue")
        .annotate(n=Count("id"))
        .values_list(party_field, "issue", "n")
    ):
        per_party.setdefault(party, {})[code] = n
    parties = _party_names(by, {party for party in per_party if party is not None})
    by_party: list[dict[str, Any]] = [
        {
            "id": party,
            "name": parties.get(party, "") if party is not None else "",
            "counts": [values.get(row.code, 0) for row in issues if row.count],
            "total": sum(values.values()),
        }
        for party, values in per_party.items()
    ]
    by_party.sort(key=lambda r: (-r["total"], r["id"] is None, r["name"]))

    read_rows = list(
        CommentMonth.objects.filter(store_id__in=ids, month__in=[month, previous]).values_list(
            "month", "comments", "scanned_at"
        )
    )
    emerging, history = _emerging(ids, period, emerging_top)
    return IssuesPage(
        period=period,
        previous=period.previous(),
        months=months,
        read=sum(n for m, n, _at in read_rows if m == month),
        read_previous=sum(n for m, n, _at in read_rows if m == previous),
        stores_read=sum(1 for m, _n, _at in read_rows if m == month),
        stores=len(ids),
        scanned_at=max((at for m, _n, at in read_rows if m == month), default=None),
        issues=issues,
        trend=trend,
        by_party=by_party,
        emerging=emerging,
        history_comments=history,
        categories=_categories(ids, period),
    )
