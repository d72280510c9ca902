"""Changing a store's or group's evaluation model (SPEC §8): start it from a preset, add or remove criteria and
indicators, save an expert's pairwise matrix (refused with CR ≥ 0.10, naming the comparisons to revisit), and the
weights that follow (group AHP over the experts' matrices of each level, global = criterion × indicator).

Who may: MANAGE_EVALUATION in the store for a store's model; in every store of the group for the group's model
(it weighs every store without its own).  Every change is audited."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.analytics.evaluation import ahp, parsing
from aftersales.analytics.evaluation.parsing import InputError
from aftersales.analytics.models import EvaluationModel, EvaluationNode, PairwiseMatrix
from aftersales.analytics.quality.presets import PRESETS
from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.scoping import store_ids_where
from aftersales.organisation.models import DealerGroup, Store
from aftersales.organisation.permissions import Capability

WEIGHT_PLACES = Decimal("0.000001")


# ------------------------------------------------------------------------------------------------- who may


def may_manage(user: User, *, group: DealerGroup, store: Store | None) -> bool:
    allowed = store_ids_where(user, Capability.MANAGE_EVALUATION)
    if store is not None:
        return store.pk in allowed
    stores = frozenset(Store.objects.filter(group=group).values_list("pk", flat=True))
    return bool(stores) and stores <= allowed


def _require(user: User, model: EvaluationModel) -> None:
    if not may_manage(user, group=model.group, store=model.store):
        raise PermissionDenied(_("You may not change this evaluation model."))


# ------------------------------------------------------------------------------------------------ matrices


@dataclass(frozen=True)
class MatrixCheck:
    """What the editor shows while an expert types: the weights, CR and the comparisons to revisit."""

    result: ahp.AhpResult
    pairs: list[ahp.InconsistentPair]


def parse_matrix(values: Sequence[Sequence[Any]], n: int) -> list[list[float]]:
    """The typed entries ("3", "1/5", 0.5) as numbers; ValidationError naming the cell (rows and columns from 1).
    The parsing itself is the evaluation library's (parsing.parse_matrix); this adds the size check and the message."""
    if len(values) != n or any(len(row) != n for row in values):
        raise ValidationError({"matrix": _("Compare every pair: the matrix must be %(n)s × %(n)s.") % {"n": n}})
    if n == 0:
        return []
    try:
        return parsing.parse_matrix(values, "matrix")
    except InputError as exc:
        cell = _CELL.fullmatch(exc.where)
        if cell is None:
            raise ValidationError({"matrix": str(exc)}) from exc
        raise ValidationError(
            {"matrix": _("Row %(row)s, column %(column)s: %(reason)s") % {"row": int(cell[1]), "column": int(cell[2]),
                                                                          "reason": exc.reason}}
        ) from exc  # fmt: skip


_CELL = re.compile(r"matrix\[(\d+)\]\[(\d+)\]")

# What the page says for each RI table of the library (ahp.RI_TABLES), instead of its code.
RI_TABLE_LABELS = {
    "chinese_textbook": gettext_lazy("Chinese textbook RI table"),
    "saaty_2005": gettext_lazy("Saaty 2005 RI table"),
    "donegan_dodd": gettext_lazy("Donegan & Dodd RI table"),
}


METHOD_LABELS = {
    "eigenvector": gettext_lazy("principal eigenvector"),
    "geometric": gettext_lazy("geometric mean of rows"),
}


def ri_table_label(code: str) -> str:
    return str(RI_TABLE_LABELS.get(code, code))


def method_label(code: str) -> str:
    return str(METHOD_LABELS.get(code, code))


def matrix_check(model: EvaluationModel, values: Sequence[Sequence[Any]], n: int) -> MatrixCheck:
    """Weights, λmax, CI, CR (the model's RI table) and the three comparisons that add most to the inconsistency;
    ValidationError naming the cell for a matrix that is not a reciprocal one of positive numbers."""
    matrix = parse_matrix(values, n)
    try:
        result = ahp.analyse(matrix, method=model.method, ri_table=model.ri_table)  # type: ignore[arg-type]
    except InputError as exc:
        raise ValidationError({"matrix": str(exc)}) from exc
    pairs = [] if result.consistent else ahp.inconsistent_pairs(matrix, result.weights)
    return MatrixCheck(result, pairs)


def _level(model: EvaluationModel, parent: EvaluationNode | None) -> list[EvaluationNode]:
    return list(model.nodes.filter(parent=parent).order_by("position", "pk"))


@transaction.atomic
def matrix_save(
    *, user: User, model: EvaluationModel, parent: EvaluationNode | None, values: Sequence[Sequence[Any]]
) -> PairwiseMatrix:
    """Store the expert's comparisons of the criteria (parent None) or of a criterion's indicators and recompute
    the weights.  Refused with CR ≥ 0.10: the message gives the CR and the comparisons to revisit with the value
    that would be consistent."""
    _require(user, model)
    if parent is not None and (parent.model_id != model.pk or parent.parent_id is not None):
        raise ValidationError({"criterion": _("Choose a criterion of this model.")})
    nodes = _level(model, parent)
    check = matrix_check(model, values, len(nodes))
    if not check.result.consistent:
        raise ValidationError({"matrix": inconsistency_message(check, nodes)})
    codes = [node.code for node in nodes]
    matrix, created = PairwiseMatrix.objects.update_or_create(
        model=model,
        parent=parent,
        expert=user,
        defaults={"codes": codes, "values": [[str(v) for v in row] for row in values], "cr": _cr(check)},
    )
    weights_recompute(model)
    audit_record(
        actor=user,
        action="evaluation.matrix_saved",
        obj=matrix,
        store_id=model.store_id,
        changes={"level": parent.code if parent else "criteria", "cr": str(matrix.cr), "created": created},
    )
    return matrix


def _cr(check: MatrixCheck) -> Decimal:
    return Decimal(str(check.result.cr)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def inconsistency_message(check: MatrixCheck, nodes: Sequence[EvaluationNode]) -> str:
    from django.utils.translation import get_language

    language = get_language() or "zh-hans"
    hints = "; ".join(
        _("%(a)s vs %(b)s: %(given)s given, about %(consistent)s would agree with the rest")
        % {
            "a": nodes[pair.row].name(language),
            "b": nodes[pair.column].name(language),
            "given": f"{pair.given:.3g}",
            "consistent": f"{pair.consistent_value:.2g}",
        }
        for pair in check.pairs
    )
    return _("Inconsistent comparisons: CR = %(cr)s (must be below 0.10 with the %(table)s). Revisit %(hints)s.") % {
        "cr": f"{check.result.cr:.3f}",
        "table": ri_table_label(check.result.ri_table),
        "hints": hints,
    }


def weights_recompute(model: EvaluationModel) -> None:
    """Local weights of each level from the geometric mean of its experts' matrices (only those comparing the
    level's current items); a level without one weighs its items equally.  Global = criterion × local."""
    matrices: dict[int | None, list[list[list[float]]]] = {}
    levels: dict[int | None, list[EvaluationNode]] = {None: _level(model, None)}
    for criterion in levels[None]:
        levels[criterion.pk] = _level(model, criterion)
    for matrix in PairwiseMatrix.objects.filter(model=model).order_by("pk"):
        codes = [node.code for node in levels.get(matrix.parent_id, [])]
        if matrix.codes == codes and codes:
            matrices.setdefault(matrix.parent_id, []).append(parse_matrix(matrix.values, len(codes)))
    local: dict[int, float] = {}
    for parent_id, nodes in levels.items():
        if not nodes:
            continue
        found = matrices.get(parent_id)
        weights = (
            ahp.group(found, method=model.method).aggregate.weights  # type: ignore[arg-type]
            if found
            else tuple(1 / len(nodes) for _node in nodes)
        )
        local.update({node.pk: weight for node, weight in zip(nodes, weights, strict=True)})
    for criterion in levels[None]:
        criterion.local_weight = criterion.global_weight = _decimal(local[criterion.pk])
        criterion.save(update_fields=["local_weight", "global_weight", "updated_at"])
        for indicator in levels[criterion.pk]:
            indicator.local_weight = _decimal(local[indicator.pk])
            indicator.global_weight = _decimal(local[criterion.pk] * local[indicator.pk])
            indicator.save(update_fields=["local_weight", "global_weight", "updated_at"])
    # the model's updated_at marks its stores' stored CSI figures stale (analytics/snapshots.py)
    EvaluationModel.objects.filter(pk=model.pk).update(updated_at=clock.now())


def _decimal(value: float) -> Decimal:
    return Decimal(str(value)).quantize(WEIGHT_PLACES, rounding=ROUND_HALF_UP)


# ------------------------------------------------------------------------------------------------ the model


@transaction.atomic
def model_create(*, user: User, group: DealerGroup, store: Store | None, preset: str) -> EvaluationModel:
    """The store's (or group's) model from a preset: its criteria and indicators, the preset's weights as the
    creator's consistent criteria matrix, equal indicator weights."""
    if store is not None and store.group_id != group.pk:
        raise ValidationError({"store": _("The store does not belong to this dealer group.")})
    if not may_manage(user, group=group, store=store):
        raise PermissionDenied(_("You may not change this evaluation model."))
    if preset not in PRESETS:
        raise ValidationError({"preset": _("Choose SERVQUAL or J.D. Power's CSI factors.")})
    if EvaluationModel.objects.filter(group=group, store=store).exists():
        raise ValidationError({"store": _("This store already has an evaluation model.")})
    model = EvaluationModel.objects.create(group=group, store=store, preset=preset)
    criteria = PRESETS[preset]
    for position, criterion in enumerate(criteria):
        node = EvaluationNode.objects.create(
            model=model, code=criterion.code, name_zh_hans=criterion.zh_hans, name_en=criterion.en, position=position
        )
        for index, indicator in enumerate(criterion.indicators):
            EvaluationNode.objects.create(
                model=model,
                parent=node,
                code=f"{criterion.code}-{indicator.code}",
                name_zh_hans=indicator.zh_hans,
                name_en=indicator.en,
                item_key=indicator.item_key,
                position=index,
            )
    weights = [criterion.weight for criterion in criteria]
    if len(set(weights)) > 1:  # equal weights need no matrix
        ratios = [[_ratio(a / b) for b in weights] for a in weights]
        PairwiseMatrix.objects.create(
            model=model,
            parent=None,
            expert=user,
            codes=[c.code for c in criteria],
            values=ratios,
            cr=_cr(matrix_check(model, ratios, len(criteria))),
        )
    weights_recompute(model)
    audit_record(actor=user, action="evaluation.model_created", obj=model, store_id=model.store_id,
                 changes={"preset": preset})  # fmt: skip
    return model


def _ratio(value: float) -> str:
    return f"{value:.6g}"


@transaction.atomic
def node_add(
    *,
    user: User,
    model: EvaluationModel,
    parent: EvaluationNode | None,
    code: str,
    name_zh_hans: str,
    name_en: str,
    item_key: str = "",
) -> EvaluationNode:
    """A criterion (parent None) or an indicator reading the 1–5 survey item `item_key`.  The level's matrices
    compared other items: they no longer count (the level weighs equally until an expert compares again)."""
    _require(user, model)
    errors: dict[str, str] = {}
    if parent is not None and (parent.model_id != model.pk or parent.parent_id is not None):
        errors["criterion"] = _("Choose a criterion of this model.")
    if parent is not None and not item_key:
        errors["item_key"] = _("An indicator reads a 1–5 survey item: choose one.")
    if parent is None and item_key:
        errors["item_key"] = _("A criterion groups indicators; it reads no survey item itself.")
    if model.nodes.filter(code=code).exists():
        errors["code"] = _("Another criterion or indicator of this model has this code.")
    if len(_level(model, parent)) >= ahp.MAX_ORDER:
        errors["code"] = _("At most %(n)s items can be compared at one level.") % {"n": ahp.MAX_ORDER}
    node = EvaluationNode(
        model=model, parent=parent, code=code, name_zh_hans=name_zh_hans, name_en=name_en, item_key=item_key,
        position=len(_level(model, parent)),
    )  # fmt: skip
    try:
        node.full_clean(exclude=["local_weight", "global_weight"])
    except ValidationError as exc:
        errors.update({field: " ".join(messages) for field, messages in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    node.save()
    weights_recompute(model)
    audit_record(actor=user, action="evaluation.node_added", obj=node, store_id=model.store_id,
                 changes={"code": code, "item_key": item_key})  # fmt: skip
    return node


@transaction.atomic
def node_remove(*, user: User, node: EvaluationNode) -> None:
    """Remove a criterion (with its indicators) or an indicator; the level's matrices no longer count."""
    model = node.model
    _require(user, model)
    if node.parent_id is None and model.nodes.filter(parent__isnull=True).count() <= 1:
        raise ValidationError({"code": _("A model keeps at least one criterion.")})
    audit_record(actor=user, action="evaluation.node_removed", obj=node, store_id=model.store_id,
                 changes={"code": node.code})  # fmt: skip
    node.delete()
    weights_recompute(model)
