"""The service-quality pages (issue 13 part 3, SPEC §8): a store's (or the group's) evaluation model with its
weights, the pairwise-matrix editor with a live consistency check, the store's fuzzy evaluation / SERVQUAL gaps /
IPA / key drivers for a period, and the group's stores side by side.

Reading needs VIEW_KPIS in the store (the group's pages: in every store of the group); changing a model is decided
by `quality.services.may_manage` alone.  Views parse the request, call one service or reader, and render."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.analytics import views_dashboards as base
from aftersales.analytics.evaluation.parsing import InputError, parse_number
from aftersales.analytics.models import EvaluationModel, EvaluationNode, PairwiseMatrix
from aftersales.analytics.quality import charts, reads, services
from aftersales.analytics.quality.selectors import model_for_store
from aftersales.feedback.choices import ItemKind
from aftersales.feedback.models import SurveyItem
from aftersales.organisation.models import DealerGroup, Store

SAATY = ("9", "8", "7", "6", "5", "4", "3", "2", "1", "1/2", "1/3", "1/4", "1/5", "1/6", "1/7", "1/8", "1/9")


def _language() -> str:
    return get_language() or "zh-hans"


# --------------------------------------------------------------------------------------------- whose page


@dataclass(frozen=True)
class Where:
    """The store a page is about, or the whole group (store None)."""

    group: DealerGroup
    store: Store | None
    store_ids: frozenset[int]

    @property
    def query(self) -> str:
        return urlencode({"store": self.store.code} if self.store else {"group": self.group.code})

    @property
    def name(self) -> str:
        return self.store.name if self.store else self.group.name


def _where(request: HttpRequest) -> Where:
    """`?group=CODE` (every store of it readable), else `?store=CODE` / the chosen store (VIEW_KPIS there)."""
    if request.method == "POST":  # a form names its store or group in its fields; the choosers read the address
        query = request.GET.copy()
        for name in ("store", "group"):
            if request.POST.get(name):
                query[name] = request.POST[name]
        request.GET = query  # type: ignore[assignment]
    if request.GET.get("group"):
        group, _stores, _all = base._group(request)
        ids = frozenset(Store.objects.filter(group=group).values_list("pk", flat=True))
        return Where(group, None, ids)
    store = base._dashboard_store(request)
    return Where(store.group, store, frozenset({store.pk}))


def _model_of(where: Where) -> EvaluationModel | None:
    if where.store is not None:
        return model_for_store(where.store)
    return EvaluationModel.objects.filter(group=where.group, store__isnull=True).first()


def _model(request: HttpRequest, pk: int) -> tuple[EvaluationModel, Where]:
    """A model the user may read (its store's numbers, or the whole group's); anything else is a 404."""
    model = EvaluationModel.objects.select_related("group", "store").filter(pk=pk).first()
    if model is None:
        raise Http404(_("No evaluation model with this id whose numbers you may see."))
    allowed = base._kpi_store_ids(request)
    if model.store is not None:
        if model.store_id not in allowed:
            raise Http404(_("No evaluation model with this id whose numbers you may see."))
        return model, Where(model.group, model.store, frozenset({model.store.pk}))
    if model.group not in base._groups_read_whole(request):
        raise Http404(_("No evaluation model with this id whose numbers you may see."))
    ids = frozenset(Store.objects.filter(group=model.group).values_list("pk", flat=True))
    return model, Where(model.group, None, ids)


def _may_manage(request: HttpRequest, where: Where) -> bool:
    return services.may_manage(request.user, group=where.group, store=where.store)  # type: ignore[arg-type]


# The form fields a service's ValidationError may name, as the page labels them (the message names its field).
FIELD_LABELS = {
    "code": gettext_lazy("Code"),
    "item_key": gettext_lazy("Survey item (1–5)"),
    "criterion": gettext_lazy("Criterion"),
    "name_zh_hans": gettext_lazy("Name (Chinese)"),
    "name_en": gettext_lazy("Name (English)"),
}


def _errors(exc: ValidationError) -> list[str]:
    if hasattr(exc, "message_dict"):
        return [
            f"{FIELD_LABELS[field]}: {message}" if field in FIELD_LABELS else message
            for field, messages_ in exc.message_dict.items()
            for message in messages_
        ]
    return list(exc.messages)


# --------------------------------------------------------------------------------------------- the model


@base.answers_bad_parameters
def model_page(request: HttpRequest) -> HttpResponse:
    """The model weighing this store (or the group): criteria and indicators with local and global weights, the
    matrices to edit, add and remove; without one, the presets to start from."""
    where = _where(request)
    model = _model_of(where)
    language = _language()
    tree = reads.model_tree(model, language) if model is not None else []
    inherited = model is not None and where.store is not None and model.store_id is None
    may = _may_manage(request, where)
    used = {i.node.item_key for c in tree for i in c.indicators}
    items = list(
        SurveyItem.objects.filter(instrument__is_default=True, kind=ItemKind.SCALE_1_5).order_by("position", "pk")
    )
    return render(
        request,
        "analytics/quality_model.html",
        {
            "where": where,
            "model": model,
            "method_label": services.method_label(model.method) if model else "",
            "ri_label": services.ri_table_label(model.ri_table) if model else "",
            "tree": tree,
            "inherited": inherited,
            "may_manage": may and not inherited,
            "may_create": may and (model is None or inherited),
            "items": [(item.key, item.wording(language), item.key in used) for item in items],
            "presets": _presets(),
        },
    )


def _presets() -> list[tuple[str, str, str]]:
    return [
        ("servqual", _("SERVQUAL"), _("Five dimensions: tangibles, reliability, responsiveness, assurance, empathy.")),
        (
            "jd_power",
            _("J.D. Power CSI"),
            _("China CSI factors: service initiation, advisor, facility, vehicle pick-up, service quality."),
        ),
    ]


@require_POST
def model_create(request: HttpRequest) -> HttpResponse:
    where = _where(request)
    preset = request.POST.get("preset", "")
    try:
        services.model_create(user=request.user, group=where.group, store=where.store, preset=preset)  # type: ignore[arg-type]
    except ValidationError as exc:
        for message in _errors(exc):
            messages.error(request, message)
    else:
        messages.success(request, _("The evaluation model was created from the preset."))
    return redirect(f"{reverse('analytics:quality-model')}?{where.query}")


@require_POST
def node_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a criterion (no `criterion`) or an indicator of a criterion reading a 1–5 survey item."""
    model, where = _model(request, pk)
    parent: EvaluationNode | None = None
    raw_parent = request.POST.get("criterion", "")
    if raw_parent:
        parent = model.nodes.filter(code=raw_parent[:40], parent__isnull=True).first()
        if parent is None:
            messages.error(request, _("Choose a criterion of this model."))
            return redirect(f"{reverse('analytics:quality-model')}?{where.query}")
    item_key = request.POST.get("item_key", "").strip()[:40]
    name_zh, name_en = request.POST.get("name_zh_hans", "").strip(), request.POST.get("name_en", "").strip()
    if parent is not None and item_key and not (name_zh and name_en):
        item = SurveyItem.objects.filter(instrument__is_default=True, key=item_key).first()
        if item is not None:
            name_zh, name_en = name_zh or item.wording_zh_hans[:60], name_en or item.wording_en[:60]
    code = request.POST.get("code", "").strip()[:40] or (f"{parent.code}-{item_key}" if parent else "")
    try:
        services.node_add(
            user=request.user,  # type: ignore[arg-type]
            model=model,
            parent=parent,
            code=code,
            name_zh_hans=name_zh,
            name_en=name_en,
            item_key=item_key,
        )
    except ValidationError as exc:
        for message in _errors(exc):
            messages.error(request, message)
    else:
        messages.success(request, _("Added. The level weighs its items equally until it is compared again."))
    return redirect(f"{reverse('analytics:quality-model')}?{where.query}")


@require_POST
def node_remove(request: HttpRequest, pk: int, node: int) -> HttpResponse:
    model, where = _model(request, pk)
    found = model.nodes.filter(pk=node).first()
    if found is None:
        raise Http404(_("No such criterion or indicator in this model."))
    try:
        services.node_remove(user=request.user, node=found)  # type: ignore[arg-type]
    except ValidationError as exc:
        for message in _errors(exc):
            messages.error(request, message)
    else:
        messages.success(request, _("Removed. The level weighs its items equally until it is compared again."))
    return redirect(f"{reverse('analytics:quality-model')}?{where.query}")


# --------------------------------------------------------------------------------------------- the matrix editor


@dataclass
class Cell:
    name: str  # the form field of an upper-triangle cell ("m-0-2"); "" elsewhere
    value: str
    options: list[str]
    mirrored: bool  # the lower triangle: shown, the reciprocal of its mirror
    diagonal: bool
    inconsistent: bool = False
    consistent_value: str = ""
    invalid: bool = False


def _level(model: EvaluationModel, code: str) -> tuple[EvaluationNode | None, list[EvaluationNode]]:
    if not code:
        return None, list(model.nodes.filter(parent__isnull=True).order_by("position", "pk"))
    parent = model.nodes.filter(code=code[:40], parent__isnull=True).first()
    if parent is None:
        raise Http404(_("No such criterion in this model."))
    return parent, list(model.nodes.filter(parent=parent).order_by("position", "pk"))


def _reciprocal(raw: str) -> str:
    try:
        fraction = Fraction(raw.strip().replace(" ", ""))
    except (ValueError, ZeroDivisionError):
        return "?"
    if fraction <= 0:
        return "?"
    inverse = 1 / fraction
    if inverse.denominator == 1 or inverse.numerator == 1:
        return str(inverse)
    return f"{float(inverse):.3g}"


def _stored_values(model: EvaluationModel, parent: EvaluationNode | None, nodes: list[EvaluationNode], user: Any):
    """The matrix the editor opens with: the user's own for this level, else the latest expert's, else all 1."""
    codes = [n.code for n in nodes]
    matrices = [
        m for m in PairwiseMatrix.objects.filter(model=model, parent=parent).order_by("-pk") if m.codes == codes
    ]
    chosen = next((m for m in matrices if m.expert_id == user.pk), matrices[0] if matrices else None)
    if chosen is None:
        return [["1"] * len(nodes) for _n in nodes]
    return [[str(v) for v in row] for row in chosen.values]


def _typed(request: HttpRequest, n: int) -> tuple[list[list[str]], set[str]]:
    """The full matrix from the upper triangle's fields (diagonal 1, lower = reciprocals); the fields whose entry
    is not a number."""
    values = [["1"] * n for _i in range(n)]
    invalid: set[str] = set()
    for i in range(n):
        for j in range(i + 1, n):
            name = f"m-{i}-{j}"
            raw = request.POST.get(name, "").strip()[:20]
            values[i][j] = raw
            try:
                parse_number(raw, name)
            except InputError:
                invalid.add(name)
            values[j][i] = _reciprocal(raw) if name not in invalid else raw
    return values, invalid


def _grid(values: list[list[str]], invalid: set[str], check: services.MatrixCheck | None) -> list[list[Cell]]:
    n = len(values)
    flagged = {(p.row, p.column): p.consistent_value for p in (check.pairs if check else [])}
    rows = []
    for i in range(n):
        row = []
        for j in range(n):
            upper = j > i
            name = f"m-{i}-{j}" if upper else ""
            value = values[i][j]
            options = list(SAATY) if value in SAATY else [*SAATY, value]
            consistent = flagged.get((i, j)) or (1 / flagged[(j, i)] if (j, i) in flagged else None)
            row.append(
                Cell(
                    name=name,
                    value=value,
                    options=options if upper else [],
                    mirrored=j < i,
                    diagonal=i == j,
                    inconsistent=consistent is not None,
                    consistent_value=f"{consistent:.2g}" if consistent is not None else "",
                    invalid=name in invalid,
                )
            )
        rows.append(row)
    return rows


def _editor_context(
    request: HttpRequest,
    model: EvaluationModel,
    where: Where,
    parent: EvaluationNode | None,
    nodes: list[EvaluationNode],
    values: list[list[str]],
    *,
    invalid: set[str] | None = None,
    errors: list[str] | None = None,
) -> dict[str, Any]:
    check: services.MatrixCheck | None = None
    problems = list(errors or [])
    if not invalid and len(nodes) > 0:
        try:
            check = services.matrix_check(model, values, len(nodes))
        except ValidationError as exc:
            problems.extend(_errors(exc))
    language = _language()
    names = [node.name(language) for node in nodes]
    return {
        "model": model,
        "where": where,
        "parent": parent,
        "names": names,
        "grid": list(zip(names, _grid(values, invalid or set(), check), strict=True)),
        "check": check,
        "ri_label": services.ri_table_label(check.result.ri_table) if check else "",
        "weights": list(zip(names, check.result.weights, strict=True)) if check else [],
        "pairs": [
            {
                "a": names[p.row],
                "b": names[p.column],
                "given": f"{p.given:.3g}",
                "consistent": f"{p.consistent_value:.2g}",
            }
            for p in (check.pairs if check else [])
        ],
        "problems": problems,
        "may_manage": _may_manage(request, where) and (model.store_id is not None or where.store is None),
        "level": parent.code if parent else "",
        "criteria": list(model.nodes.filter(parent__isnull=True).order_by("position", "pk")),
        "experts": reads.expert_matrices(model, parent, [node.code for node in nodes]),
        "language": language,
    }


@base.answers_bad_parameters
def matrix_editor(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the level's n×n grid; POST: save through `services.matrix_save` (refused: its message, nothing saved)."""
    model, where = _model(request, pk)
    code = request.POST.get("level", "") if request.method == "POST" else request.GET.get("level", "")
    parent, nodes = _level(model, code)
    if request.method != "POST":
        values = _stored_values(model, parent, nodes, request.user)
        return render(
            request, "analytics/quality_matrix.html", _editor_context(request, model, where, parent, nodes, values)
        )
    if not _may_manage(request, where):
        raise PermissionDenied(_("You may not change this evaluation model."))
    values, invalid = _typed(request, len(nodes))
    errors: list[str] = []
    try:
        services.matrix_save(user=request.user, model=model, parent=parent, values=values)  # type: ignore[arg-type]
    except ValidationError as exc:
        errors = _errors(exc)
    else:
        messages.success(request, _("The comparisons were saved and the weights recomputed."))
        return redirect(f"{reverse('analytics:quality-model')}?{where.query}")
    context = _editor_context(request, model, where, parent, nodes, values, invalid=invalid, errors=errors)
    return render(request, "analytics/quality_matrix.html", context, status=422)


@require_POST
def matrix_check(request: HttpRequest, pk: int) -> HttpResponse:
    """The live check (htmx): the typed grid's weights, λmax, CI, CR and the comparisons to revisit; nothing is
    saved."""
    model, where = _model(request, pk)
    parent, nodes = _level(model, request.POST.get("level", ""))
    values, invalid = _typed(request, len(nodes))
    context = _editor_context(request, model, where, parent, nodes, values, invalid=invalid)
    if invalid:
        context["problems"] = [
            _("Row %(row)s, column %(column)s is not a number.") % {"row": int(f.split("-")[1]) + 1,
                                                                  "column": int(f.split("-")[2]) + 1}
            for f in sorted(invalid)
        ]  # fmt: skip
    return render(request, "analytics/partials/_quality_matrix_form.html", context)


# --------------------------------------------------------------------------------------------- evaluation


@base.answers_bad_parameters
def evaluation(request: HttpRequest) -> HttpResponse:
    """A store's (or the group's) evaluation for a period: grade and score, contributions, membership, SERVQUAL
    gaps, the IPA chart with priorities, key drivers."""
    where = _where(request)
    period = base._period(request)
    model = _model_of(where)
    language = _language()
    page = reads.evaluation_page(model=model, store_ids=where.store_ids, period=period, language=language)
    return render(
        request,
        "analytics/quality_evaluation.html",
        {
            "where": where,
            "period": period,
            "nav": base._period_nav(period),
            "page": page,
            "grades": [str(g) for g in reads.GRADE_LABELS],
            "grade_values": reads.GRADE_VALUES,
            "contributions_chart": charts.contributions(page.fuzzy) if page.fuzzy and page.fuzzy.has_data else None,
            "gaps_chart": charts.gaps(page.gaps) if page.gaps.has_data else None,
            "ipa_chart": charts.ipa(page.ipa.result) if page.ipa.result else None,
            "dimensions": {k: str(v) for k, v in reads.SERVQUAL_DIMENSIONS.items()},
            "quadrants": {k: str(v) for k, v in reads.QUADRANT_LABELS.items()},
            "may_manage": _may_manage(request, where),
        },
    )


@base.answers_bad_parameters
def group_comparison(request: HttpRequest) -> HttpResponse:
    """The group's stores side by side: fuzzy score and grade (each with its own model, else the group's), CSI."""
    group, stores, groups = base._group(request)
    period = base._period(request)
    rows = reads.group_comparison(group=group, stores=stores, period=period, language=_language())
    return render(
        request,
        "analytics/quality_group.html",
        {
            "group": group,
            "groups": groups if len(groups) > 1 else [],
            "period": period,
            "nav": base._period_nav(period),
            "rows": rows,
            "sensitivity": reads.ranking_sensitivity(rows, _language()),
            "chart": charts.stores(rows) if any(r.score is not None for r in rows) else None,
            "scope_query": urlencode({"group": group.code}),
            "has_group_model": EvaluationModel.objects.filter(group=group, store__isnull=True).exists(),
        },
    )
