"""Reads of the service-quality pages (issue 13 part 3): a store's (or the whole group's) fuzzy comprehensive
evaluation for a period with its model's weights, SERVQUAL gaps, importance–performance analysis, key drivers,
and the group's stores side by side.  The maths is `analytics.evaluation`; the counting is SQL.

The population is CSI's (`kpis_voice.post_visit_responses`: post-visit responses submitted in the period with an
overall score, the earliest per order) so the grade, the gaps and CSI speak of the same customers.

Queries: the membership counts are one GROUP BY (item, value) query — (store, item, value) for the comparison —
and the gaps one GROUP BY item query.  IPA and the key drivers need correlations, so they fetch one row per answer
of the period's responses (at most the responses × the 1–5 items; a store-month is a few hundred responses, a group
year a few hundred thousand rows at most — only one period is ever read)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db.models import Avg, Count, F, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.analytics.catalogue import Scope
from aftersales.analytics.evaluation import drivers as drivers_maths
from aftersales.analytics.evaluation import fuzzy, servqual
from aftersales.analytics.evaluation.parsing import InputError
from aftersales.analytics.kpis_common import Context
from aftersales.analytics.kpis_voice import post_visit_responses
from aftersales.analytics.models import EvaluationModel, EvaluationNode
from aftersales.analytics.periods import Period
from aftersales.core import clock
from aftersales.feedback.choices import ItemKind
from aftersales.feedback.models import SurveyAnswer, SurveyItem, SurveyResponse
from aftersales.organisation.models import DealerGroup, Store

GRADE_VALUES = fuzzy.DEFAULT_GRADE_VALUES_5  # 100 / 80 / 60 / 40 / 20, best first
SCALE = (5, 4, 3, 2, 1)  # the answer value of each grade, best first
GRADE_LABELS = (
    gettext_lazy("Very satisfied"),
    gettext_lazy("Satisfied"),
    gettext_lazy("Neutral"),
    gettext_lazy("Dissatisfied"),
    gettext_lazy("Very dissatisfied"),
)
QUADRANT_LABELS = {
    "concentrate_here": gettext_lazy("Concentrate here"),
    "keep_up": gettext_lazy("Keep up the good work"),
    "low_priority": gettext_lazy("Low priority"),
    "possible_overkill": gettext_lazy("Possible overkill"),
}

Counts = tuple[int, int, int, int, int]  # answers per grade, best (5) first


def responses(store_ids: Iterable[int], period: Period) -> QuerySet[SurveyResponse]:
    """CSI's population of the period in these stores."""
    ids = frozenset(store_ids)
    context = Context(scope=Scope(ids), period=period, now=clock.now(), values={})
    return post_visit_responses(context).filter(store_id__in=sorted(ids))


def _scale_answers(store_ids: Iterable[int], period: Period) -> QuerySet[SurveyAnswer]:
    return SurveyAnswer.objects.filter(
        response__in=responses(store_ids, period).values("pk"), item__kind=ItemKind.SCALE_1_5, value__isnull=False
    ).order_by()


def answer_counts(store_ids: Iterable[int], period: Period) -> dict[str, Counts]:
    """item key → answers per grade (5 → 1).  One GROUP BY (item, value) query."""
    found: dict[str, list[int]] = defaultdict(lambda: [0] * 5)
    rows = _scale_answers(store_ids, period).values("item__key", "value").annotate(n=Count("pk"))
    for row in rows:
        value = int(row["value"] or 0)  # never null (filtered), typed as nullable
        if 1 <= value <= 5:
            found[row["item__key"]][5 - value] += row["n"]
    return {key: _counts(values) for key, values in found.items()}


def answer_counts_by_store(store_ids: Iterable[int], period: Period) -> dict[int, dict[str, Counts]]:
    """store id → item key → answers per grade.  One GROUP BY (store, item, value) query for all the stores."""
    found: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0] * 5))
    rows = _scale_answers(store_ids, period).values("response__store_id", "item__key", "value").annotate(n=Count("pk"))
    for row in rows:
        value = int(row["value"] or 0)
        if 1 <= value <= 5:
            found[row["response__store_id"]][row["item__key"]][5 - value] += row["n"]
    return {store: {key: _counts(v) for key, v in items.items()} for store, items in found.items()}


def _counts(values: Sequence[int]) -> Counts:
    return (values[0], values[1], values[2], values[3], values[4])


# --------------------------------------------------------------------------------------------- the model


@dataclass
class IndicatorRow:
    node: EvaluationNode
    name: str
    local_weight: float
    global_weight: float
    counts: Counts = (0, 0, 0, 0, 0)
    membership: tuple[float, ...] | None = None  # shares per grade; None without answers
    contribution: float | None = None  # points of the overall score

    @property
    def answers(self) -> int:
        return sum(self.counts)


@dataclass
class CriterionRow:
    node: EvaluationNode
    name: str
    local_weight: float
    indicators: list[IndicatorRow] = field(default_factory=list)
    vector: tuple[float, ...] | None = None
    grade_index: int | None = None
    score: float | None = None  # the criterion's own score (its vector × the grade values)
    contribution: float | None = None  # points of the overall score; the criteria's add up to it


def model_tree(model: EvaluationModel, language: str) -> list[CriterionRow]:
    """The criteria in order, each with its indicators and their local and global weights (one query)."""
    return _tree(list(model.nodes.order_by("position", "pk")), language)


# --------------------------------------------------------------------------------------------- fuzzy


@dataclass
class FuzzyEvaluation:
    criteria: list[CriterionRow]
    vector: tuple[float, ...] = ()
    grade_index: int | None = None
    ties: tuple[int, ...] = ()
    score: float | None = None
    answers: int = 0
    left_out: list[str] = field(default_factory=list)  # indicators without an answer in the period

    @property
    def grade(self) -> str:
        if self.grade_index is None:
            return ""
        if self.ties:
            return " = ".join(str(GRADE_LABELS[i]) for i in self.ties)
        return str(GRADE_LABELS[self.grade_index])

    @property
    def has_data(self) -> bool:
        return self.score is not None


def fuzzy_evaluation(criteria: list[CriterionRow], counts: dict[str, Counts]) -> FuzzyEvaluation:
    """Two-level evaluation (indicators → criteria → overall) with the weighted-average operator M(·,⊕).  An
    indicator without answers in the period is left out (its criterion's other indicators share its weight); a
    criterion without any answered indicator is left out likewise.  Contributions add up to the score."""
    result = FuzzyEvaluation(criteria=criteria)
    groups: list[tuple[list[float], list[Counts]]] = []
    used: list[CriterionRow] = []
    for criterion in criteria:
        answered = []
        for indicator in criterion.indicators:
            indicator.counts = counts.get(indicator.node.item_key, (0, 0, 0, 0, 0))
            if indicator.answers:
                indicator.membership = tuple(c / indicator.answers for c in indicator.counts)
                answered.append(indicator)
            else:
                result.left_out.append(indicator.name)
        if answered:
            used.append(criterion)
            groups.append(([max(i.local_weight, 0.0) for i in answered], [i.counts for i in answered]))
    result.answers = sum(sum(c) for c in counts.values())
    weights = [max(c.local_weight, 0.0) for c in used]
    if not used or sum(weights) <= 0 or any(sum(w) <= 0 for w, _r in groups):
        return result
    two = fuzzy.evaluate_two_level(weights, groups, operator="weighted_average", grade_values=GRADE_VALUES)
    overall = two.overall
    result.vector, result.grade_index, result.ties, result.score = (
        overall.vector,
        overall.grade_index,
        overall.ties,
        overall.score,
    )
    for index, (criterion, evaluated) in enumerate(zip(used, two.criteria, strict=True)):
        criterion.vector, criterion.grade_index, criterion.score = (
            evaluated.vector,
            evaluated.grade_index,
            evaluated.score,
        )
        criterion.contribution = (overall.contributions or ())[index]
        answered = [i for i in criterion.indicators if i.answers]
        for indicator, points in zip(answered, (two.indicator_contributions or ())[index], strict=True):
            indicator.contribution = points
    return result


# --------------------------------------------------------------------------------------------- SERVQUAL


@dataclass(frozen=True)
class Gap:
    key: str
    name: str
    dimension: str
    perception: float
    expectation: float
    gap: float
    answers: int


@dataclass
class Gaps:
    items: list[Gap]
    dimensions: dict[str, float]  # dimension code → mean of its items' gaps
    overall: float | None

    @property
    def has_data(self) -> bool:
        return bool(self.items)


SERVQUAL_DIMENSIONS = {
    "tangibles": gettext_lazy("Tangibles"),
    "reliability": gettext_lazy("Reliability"),
    "responsiveness": gettext_lazy("Responsiveness"),
    "assurance": gettext_lazy("Assurance"),
    "empathy": gettext_lazy("Empathy"),
}


def item_names(keys: Iterable[str], language: str) -> dict[str, tuple[str, str]]:
    """item key → (wording, SERVQUAL dimension) of the 1–5 items (one query; the default instrument's first)."""
    found: dict[str, tuple[str, str]] = {}
    rows = (
        SurveyItem.objects.filter(key__in=sorted(set(keys)), kind=ItemKind.SCALE_1_5)
        .order_by("-instrument__is_default", "pk")
        .values_list("key", "wording_zh_hans", "wording_en", "dimension")
    )
    for key, zh, en, dimension in rows:
        found.setdefault(key, (en if language.startswith("en") else zh, dimension))
    return found


def servqual_gaps(store_ids: Iterable[int], period: Period, language: str) -> Gaps:
    """Perception − expectation per item over the answers that carry an expectation (one GROUP BY item query), the
    dimensions' means and their mean (`evaluation.servqual.gap_scores`)."""
    rows = list(
        _scale_answers(store_ids, period)
        .filter(expectation__isnull=False)
        .values("item__key", "item__dimension")
        .annotate(p=Avg("value"), e=Avg("expectation"), g=Avg(F("value") - F("expectation")), n=Count("pk"))
        .order_by("item__key")
    )
    if not rows:
        return Gaps([], {}, None)
    names = item_names([r["item__key"] for r in rows], language)
    dims = [r["item__dimension"] or "other" for r in rows]
    result = servqual.gap_scores(
        [float(r["p"]) for r in rows],
        [float(r["e"]) for r in rows],
        dims,
        [r["item__key"] for r in rows],
    )
    items = [
        Gap(
            key=r["item__key"],
            name=names.get(r["item__key"], (r["item__key"], ""))[0],
            dimension=dim,
            perception=float(r["p"]),
            expectation=float(r["e"]),
            gap=float(r["g"]),
            answers=int(r["n"]),
        )
        for r, dim in zip(rows, dims, strict=True)
    ]
    order = list(SERVQUAL_DIMENSIONS)

    def place(dimension: str) -> int:
        return order.index(dimension) if dimension in order else len(order)

    items.sort(key=lambda g: (place(g.dimension), g.key))
    dimensions = dict(sorted(result.dimensions.items(), key=lambda pair: place(pair[0])))
    return Gaps(items, dimensions, result.overall)


# --------------------------------------------------------------------------------------------- IPA and drivers


@dataclass(frozen=True)
class AnswerTable:
    keys: list[str]
    names: list[str]
    values: np.ndarray  # respondents × items, NaN where not answered
    overall: np.ndarray  # each respondent's overall 0–10 score

    @property
    def respondents(self) -> int:
        return int(self.overall.size)


def answer_table(store_ids: Iterable[int], period: Period, language: str) -> AnswerTable:
    """One row per response of the period (its 1–5 answers and its overall score): one query over the period's
    answers (bounded by the period's responses × items), one for the items' names."""
    rows = _scale_answers(store_ids, period).values_list("response_id", "item__key", "value", "response__overall")
    by_response: dict[int, dict[str, int]] = defaultdict(dict)
    overall: dict[int, int] = {}
    for response_id, key, value, score in rows:
        by_response[response_id][key] = int(value or 0)  # never null: filtered (value) and the population (overall)
        overall[response_id] = int(score or 0)
    keys = sorted({key for answers in by_response.values() for key in answers})
    names = item_names(keys, language) if keys else {}
    ids = sorted(by_response)
    table = np.full((len(ids), len(keys)), np.nan)
    for row, response_id in enumerate(ids):
        for column, key in enumerate(keys):
            value = by_response[response_id].get(key)
            if value is not None:
                table[row, column] = value
    return AnswerTable(
        keys=keys,
        names=[names.get(k, (k, ""))[0] for k in keys],
        values=table,
        overall=np.array([overall[i] for i in ids], dtype=np.float64),
    )


@dataclass
class Ipa:
    result: servqual.IpaResult | None
    respondents: int
    reason: str = ""

    def priorities(self, top: int = 3) -> list[servqual.IpaAttribute]:
        """The first `top` to improve: "concentrate here" first, then by distance towards important and poor."""
        return [] if self.result is None else self.result.priorities(top)


def importance_performance(table: AnswerTable) -> Ipa:
    """Importance = Pearson r of each item with the overall 0–10 score, performance = the item's mean."""
    if table.respondents < 2 or not table.keys:
        return Ipa(None, table.respondents, _("At least two answered surveys are needed to correlate."))
    try:
        return Ipa(servqual.ipa(table.values, table.overall, table.names), table.respondents)
    except InputError as exc:
        return Ipa(None, table.respondents, str(exc))


@dataclass
class Drivers:
    result: drivers_maths.DriverResult | None
    respondents: int
    reason: str = ""

    def ranked(self) -> list[drivers_maths.Driver]:
        return sorted(self.result.drivers, key=lambda d: d.rank) if self.result else []


def key_drivers(table: AnswerTable) -> Drivers:
    """Johnson's relative weights and the Shapley decomposition of R² over the complete answers, with the sample
    size and the too-small warning of `evaluation.drivers`."""
    if not table.keys:
        return Drivers(None, 0, _("No answers in this period."))
    try:
        return Drivers(drivers_maths.key_drivers(table.values, table.overall, table.names), table.respondents)
    except InputError as exc:
        return Drivers(None, table.respondents, str(exc))


# --------------------------------------------------------------------------------------------- the pages


@dataclass
class EvaluationPage:
    model: EvaluationModel | None
    fuzzy: FuzzyEvaluation | None
    gaps: Gaps
    ipa: Ipa
    drivers: Drivers
    responses: int

    @property
    def has_answers(self) -> bool:
        return self.responses > 0


def evaluation_page(
    *, model: EvaluationModel | None, store_ids: Iterable[int], period: Period, language: str
) -> EvaluationPage:
    """Everything the evaluation page shows.  Queries: 1 tree + 1 counts + 1 gaps + 1 names + 1 answer rows +
    1 names (+ 1 responses count), whatever the number of answers."""
    ids = frozenset(store_ids)
    counts = answer_counts(ids, period)
    evaluation = fuzzy_evaluation(model_tree(model, language), counts) if model is not None else None
    table = answer_table(ids, period, language)
    return EvaluationPage(
        model=model,
        fuzzy=evaluation,
        gaps=servqual_gaps(ids, period, language),
        ipa=importance_performance(table),
        drivers=key_drivers(table),
        responses=table.respondents,
    )


@dataclass
class StoreRow:
    store: Store
    model: EvaluationModel | None
    score: float | None
    grade: str
    csi: float | None
    answers: int
    criterion_scores: dict[str, float] = field(default_factory=dict)  # criterion code → its score (answered ones)


def group_comparison(*, group: DealerGroup, stores: list[Store], period: Period, language: str) -> list[StoreRow]:
    """Each store's fuzzy score and grade (with its own model, else the group's) and its CSI, best score first.
    Queries: 1 models + 1 nodes + 1 counts for all the stores + the CSI figures (`kpi_figures_by_store`)."""
    from aftersales.analytics.selectors import kpi_figures_by_store

    ids = [s.pk for s in stores]
    models = list(
        EvaluationModel.objects.filter(store_id__in=ids) | EvaluationModel.objects.filter(group=group, store=None)
    )
    nodes: dict[int, list[EvaluationNode]] = defaultdict(list)
    for node in EvaluationNode.objects.filter(model__in=models).order_by("position", "pk"):
        nodes[node.model_id].append(node)
    own = {m.store_id: m for m in models if m.store_id is not None}
    of_group = next((m for m in models if m.store_id is None), None)
    counts = answer_counts_by_store(ids, period)
    csi = kpi_figures_by_store(Scope(frozenset(ids), group_id=group.pk, label=group.code), period, keys=["csi"])
    rows = []
    for store in stores:
        model = own.get(store.pk, of_group)
        store_counts = counts.get(store.pk, {})
        score, grade, by_criterion = None, "", {}
        if model is not None:
            evaluation = fuzzy_evaluation(_tree(nodes[model.pk], language), store_counts)
            score, grade = evaluation.score, evaluation.grade
            by_criterion = {c.node.code: c.score for c in evaluation.criteria if c.score is not None}
        figure = csi.get(store.pk, {}).get("csi")
        value = None if figure is None or figure.value is None else float(figure.value)
        answers = sum(sum(c) for c in store_counts.values())
        rows.append(StoreRow(store, model, score, grade, value, answers, by_criterion))
    rows.sort(key=lambda r: (r.score is None, -(r.score or 0), r.store.code))
    return rows


@dataclass(frozen=True)
class SensitivityRow:
    """How far one criterion's weight may move (the others rescaled in proportion) before the stores' ranking
    changes, and the first two stores to trade places at each end (None: no change within 0–100 %)."""

    name: str
    weight: float
    lower: float
    upper: float
    lower_swap: tuple[str, str] | None  # (ahead today, overtaken there)
    upper_swap: tuple[str, str] | None


def ranking_sensitivity(rows: list[StoreRow], language: str) -> list[SensitivityRow]:
    """SPEC §8's sensitivity for the stores ranked with the group's model: with the weighted-average operator a
    store's score is Σ w_c · (its criterion c score), so `ahp.sensitivity` finds exactly where a change of w_c
    reorders them.  Only stores with a score on every criterion take part (two at least); stores weighed by their
    own model are not comparable this way.  One query (the group model's criteria)."""
    from aftersales.analytics.evaluation import ahp

    shared = [r for r in rows if r.model is not None and r.model.store_id is None]
    if not shared:
        return []
    criteria = [n for n in shared[0].model.nodes.all() if n.parent_id is None] if shared[0].model else []
    criteria.sort(key=lambda n: (n.position, n.pk))
    codes = [n.code for n in criteria]
    complete = [r for r in shared if all(code in r.criterion_scores for code in codes)]
    if len(complete) < 2 or len(codes) < 2:
        return []
    weights = [float(n.local_weight or 0) for n in criteria]
    if sum(weights) <= 0:
        return []
    scores = [[r.criterion_scores[code] for code in codes] for r in complete]
    names = [r.store.name for r in complete]

    def pair(swap: tuple[int, int] | None) -> tuple[str, str] | None:
        return None if swap is None else (names[swap[0]], names[swap[1]])

    return [
        SensitivityRow(
            name=criteria[found.criterion].name(language),
            weight=found.weight,
            lower=found.lower,
            upper=found.upper,
            lower_swap=pair(found.lower_swap),
            upper_swap=pair(found.upper_swap),
        )
        for found in ahp.sensitivity(weights, scores)
    ]


def _tree(nodes: list[EvaluationNode], language: str) -> list[CriterionRow]:
    criteria = {n.pk: CriterionRow(n, n.name(language), float(n.local_weight or 0)) for n in nodes if not n.parent_id}
    for n in nodes:
        if n.parent_id in criteria:
            criteria[n.parent_id].indicators.append(
                IndicatorRow(n, n.name(language), float(n.local_weight or 0), float(n.global_weight or 0))
            )
    return list(criteria.values())


@dataclass(frozen=True)
class ExpertMatrix:
    """One expert's saved comparisons of a level: their CR and whether they still compare the level's items (a
    matrix of items since added or removed no longer counts in the weights)."""

    expert: str
    cr: Decimal
    saved_at: dt.datetime
    counts: bool


def expert_matrices(model: EvaluationModel, parent: EvaluationNode | None, codes: list[str]) -> list[ExpertMatrix]:
    """The experts whose matrices make the level's weights (group AHP: their geometric mean), one query."""
    from aftersales.analytics.models import PairwiseMatrix

    rows = PairwiseMatrix.objects.filter(model=model, parent=parent).select_related("expert").order_by("pk")
    return [
        ExpertMatrix(
            expert=row.expert.get_full_name() or row.expert.get_username(),
            cr=row.cr,
            saved_at=row.updated_at,
            counts=row.codes == codes,
        )
        for row in rows
    ]
