"""The evaluation model (SPEC §8, issue 13): presets, expert matrices refused when inconsistent (naming the
comparisons), group AHP over the experts, who may change which model, bad input named by field, and the weights
feeding CSI — with a hand-computed figure and the stored figure going stale when the weights change.  Runs on
SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from aftersales.analytics.catalogue import Scope
from aftersales.analytics.models import EvaluationModel, EvaluationNode, PairwiseMatrix
from aftersales.analytics.quality import services
from aftersales.analytics.quality.selectors import item_weights_for_stores, model_for_store
from aftersales.analytics.selectors import kpi_figures, kpi_figures_by_store, scope_for_store
from aftersales.analytics.snapshots import snapshot_refresh
from aftersales.analytics.tests.test_kpi_hand_computed import MAY, at, build_may
from aftersales.config.testing import make_user
from aftersales.core.models import AuditEntry
from aftersales.organisation.choices import Role

SERVQUAL_ORDER = ["tangibles", "reliability", "responsiveness", "assurance", "empathy"]


def consistent(parts: list[int]) -> list[list[str]]:
    """The consistent matrix of weights proportional to `parts`, typed as fractions ("5/12")."""
    return [[f"{a}/{b}" for b in parts] for a in parts]


def _weights(model: EvaluationModel) -> dict[str, Decimal | None]:
    return {node.code: node.global_weight for node in model.nodes.all()}


@pytest.mark.django_db
def test_servqual_preset_weighs_its_dimensions_equally_and_its_indicators_add_up(cast: Any) -> None:
    model = services.model_create(user=cast.mia, group=cast.group, store=cast.store_a, preset="servqual")
    criteria = list(model.nodes.filter(parent__isnull=True))
    assert [c.code for c in criteria] == SERVQUAL_ORDER
    assert all(c.global_weight == Decimal("0.2") for c in criteria)
    indicators = model.nodes.filter(parent__isnull=False)
    assert sum(i.global_weight for i in indicators) == Decimal("1")
    assert _weights(model)["responsiveness-waiting"] == Decimal("0.1")  # 0.2 × ½
    assert model_for_store(cast.store_a) == model
    assert AuditEntry.objects.filter(action="evaluation.model_created").count() == 1


@pytest.mark.django_db
def test_jd_power_preset_starts_from_its_published_range_service_quality_heaviest(cast: Any) -> None:
    model = services.model_create(user=cast.mia, group=cast.group, store=cast.store_a, preset="jd_power")
    weights = {n.code: n.global_weight for n in model.nodes.filter(parent__isnull=True)}
    assert all(Decimal("0.17") <= w <= Decimal("0.24") for w in weights.values() if w is not None)
    assert max(weights, key=lambda code: weights[code] or 0) == "service_quality"
    assert abs((weights["service_quality"] or 0) - Decimal("0.24")) < Decimal("0.001")
    assert PairwiseMatrix.objects.get(model=model).cr < Decimal("0.001")  # built consistent


@pytest.mark.django_db
def test_an_inconsistent_matrix_is_refused_naming_the_comparisons_and_nothing_changes(cast: Any) -> None:
    model = services.model_create(user=cast.mia, group=cast.group, store=cast.store_a, preset="servqual")
    before = _weights(model)
    # tangibles ≫ reliability ≫ responsiveness, yet responsiveness ≫ tangibles: a circle
    circle = [
        ["1", "9", "9", "1", "1"],
        ["1/9", "1", "9", "1", "1"],
        ["1/9", "1/9", "1", "9", "1"],
        ["1", "1", "1/9", "1", "1"],
        ["1", "1", "1", "1", "1"],
    ]
    with pytest.raises(ValidationError) as refused:
        services.matrix_save(user=cast.mia, model=model, parent=None, values=circle)
    message = refused.value.message_dict["matrix"][0]
    assert (
        "CR = " in message
        and "Chinese textbook RI table" in message
        and "chinese_textbook" not in message
        and "would agree" in message
    )
    assert not PairwiseMatrix.objects.filter(model=model).exists()
    assert _weights(model) == before


@pytest.mark.django_db
def test_bad_input_names_the_cell_or_the_size(cast: Any) -> None:
    model = services.model_create(user=cast.mia, group=cast.group, store=cast.store_a, preset="servqual")
    ones = [["1"] * 5 for _ in range(5)]
    ones[1][3] = "three"
    with pytest.raises(ValidationError) as bad:
        services.matrix_save(user=cast.mia, model=model, parent=None, values=ones)
    assert "Row 2, column 4" in bad.value.message_dict["matrix"][0]
    with pytest.raises(ValidationError) as small:
        services.matrix_save(user=cast.mia, model=model, parent=None, values=[["1", "2"], ["1/2", "1"]])
    assert "5 × 5" in small.value.message_dict["matrix"][0]
    not_reciprocal = [["1"] * 5 for _ in range(5)]
    not_reciprocal[0][1] = "3"
    with pytest.raises(ValidationError) as one_sided:
        services.matrix_save(user=cast.mia, model=model, parent=None, values=not_reciprocal)
    assert "reciprocal" in one_sided.value.message_dict["matrix"][0]
    with pytest.raises(ValidationError) as duplicate:
        services.node_add(user=cast.mia, model=model, parent=None, code="empathy", name_zh_hans="x", name_en="x")
    assert "code" in duplicate.value.message_dict
    criterion = model.nodes.get(code="empathy")
    with pytest.raises(ValidationError) as no_item:
        services.node_add(user=cast.mia, model=model, parent=criterion, code="e2", name_zh_hans="x", name_en="x")
    assert "item_key" in no_item.value.message_dict
    assert model.nodes.count() == 12


@pytest.mark.django_db
def test_experts_are_combined_by_geometric_mean(cast: Any) -> None:
    model = services.model_create(user=cast.mia, group=cast.group, store=cast.store_a, preset="servqual")
    second = make_user("mgr-2", Role.MANAGER, store=cast.store_a)
    services.matrix_save(user=cast.mia, model=model, parent=None, values=consistent([4, 1, 1, 1, 1]))
    services.matrix_save(user=second, model=model, parent=None, values=consistent([1, 1, 1, 1, 4]))
    weights = _weights(model)
    # geometric mean of the two consistent matrices = consistent matrix of √(4·1) = 2 for both ends
    assert weights["tangibles"] == weights["empathy"] == Decimal("0.285714")  # 2/7
    assert weights["reliability"] == Decimal("0.142857")  # 1/7
    # the expert replaces their own matrix
    services.matrix_save(user=second, model=model, parent=None, values=consistent([4, 1, 1, 1, 1]))
    assert _weights(model)["tangibles"] == Decimal("0.5")
    assert PairwiseMatrix.objects.filter(model=model).count() == 2


@pytest.mark.django_db
def test_who_may_change_which_model(cast: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.model_create(user=cast.alice, group=cast.group, store=cast.store_a, preset="servqual")
    other_manager = make_user("mgr-b", Role.MANAGER, store=cast.store_b)
    with pytest.raises(PermissionDenied):
        services.model_create(user=other_manager, group=cast.group, store=cast.store_a, preset="servqual")
    with pytest.raises(PermissionDenied):  # the group's model weighs every store: not a store manager's
        services.model_create(user=cast.mia, group=cast.group, store=None, preset="servqual")
    group_model = services.model_create(user=cast.grace, group=cast.group, store=None, preset="jd_power")
    with pytest.raises(PermissionDenied):
        services.matrix_save(user=cast.mia, model=group_model, parent=None, values=consistent([1, 1, 1, 1, 1]))
    assert model_for_store(cast.store_a) == group_model  # no own model: the group's
    own = services.model_create(user=cast.mia, group=cast.group, store=cast.store_a, preset="servqual")
    assert model_for_store(cast.store_a) == own
    assert not EvaluationModel.objects.filter(store=cast.store_b).exists()


@pytest.mark.django_db
def test_csi_weighs_the_items_by_the_model_hand_computed(cast: Any) -> None:
    """May's post-visit answers (test_kpi_hand_computed): attitude 5, 3, 4 → mean 4 → score 75; quality 3 → 50.
    Equal weights: (75 + 50) / 2 = 62.5.  SERVQUAL with empathy (attitude) 12/30 and reliability (quality) 3/30:
    (0.4 × 75 + 0.1 × 50) / 0.5 = 70; numerator = 2 items × 70."""
    build_may(cast)
    scope = scope_for_store(cast.store_a)
    now = at(10, 1)
    equal = kpi_figures(scope, MAY, keys=["csi"], now=now)["csi"]
    assert (equal.value, equal.numerator, equal.denominator) == (Decimal("62.50"), Decimal("125"), 2)
    with time_machine.travel(at(9, 1), tick=False):
        model = services.model_create(user=cast.mia, group=cast.group, store=cast.store_a, preset="servqual")
        services.matrix_save(user=cast.mia, model=model, parent=None, values=consistent([5, 3, 5, 5, 12]))
    weights = item_weights_for_stores({cast.store_a.pk: cast.group.pk})[cast.store_a.pk]
    assert weights is not None and (weights["attitude"], weights["quality"]) == (Decimal("0.4"), Decimal("0.1"))
    weighted = kpi_figures(scope, MAY, keys=["csi"], now=now)["csi"]
    assert (weighted.value, weighted.numerator, weighted.denominator) == (Decimal("70.00"), Decimal("140"), 2)
    by_store = kpi_figures_by_store(Scope(frozenset({cast.store_a.pk, cast.store_b.pk})), MAY, keys=["csi"], now=now)
    assert by_store[cast.store_a.pk]["csi"].value == Decimal("70.00")


@pytest.mark.django_db
def test_a_stored_csi_is_recomputed_once_the_weights_change(cast: Any) -> None:
    build_may(cast)
    with time_machine.travel(at(9, 1), tick=False):
        model = services.model_create(user=cast.mia, group=cast.group, store=cast.store_a, preset="servqual")
    snapshot_refresh(now=at(9, 2), store_ids=[cast.store_a.pk])
    scope = scope_for_store(cast.store_a)
    assert kpi_figures(scope, MAY, keys=["csi"], now=at(10, 1))["csi"].value == Decimal("62.50")
    with time_machine.travel(at(9, 3), tick=False):
        services.matrix_save(user=cast.mia, model=model, parent=None, values=consistent([5, 3, 5, 5, 12]))
    assert kpi_figures(scope, MAY, keys=["csi"], now=at(10, 1))["csi"].value == Decimal("70.00")
    assert EvaluationNode.objects.filter(model=model, global_weight__isnull=True).count() == 0
