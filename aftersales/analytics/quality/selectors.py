"""Reads of the evaluation models: whose model weighs a store, and the weights CSI uses."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Q

from aftersales.analytics.models import EvaluationModel, EvaluationNode
from aftersales.organisation.models import Store


def model_for_store(store: Store) -> EvaluationModel | None:
    """The store's own model, else its group's, else None (one query)."""
    found = list(
        EvaluationModel.objects.filter(Q(store=store) | Q(group_id=store.group_id, store__isnull=True)).order_by(
            "store_id"
        )
    )
    own = [m for m in found if m.store_id == store.pk]
    chosen = own or found
    return chosen[0] if chosen else None


ItemWeights = dict[str, Decimal]


def _weights_by_model(model_ids: Iterable[int]) -> dict[int, ItemWeights]:
    weights: dict[int, ItemWeights] = {}
    rows = EvaluationNode.objects.filter(
        model_id__in=sorted(set(model_ids)), parent__isnull=False, global_weight__isnull=False
    ).values_list("model_id", "item_key", "global_weight")
    for model_id, item_key, weight in rows:
        found = weights.setdefault(model_id, {})
        found[item_key] = found.get(item_key, Decimal(0)) + (weight or Decimal(0))  # under two criteria: twice
    return weights


def item_weights_for_stores(group_of: dict[int, int]) -> dict[int, ItemWeights | None]:
    """store id → the CSI weights of its survey items (its own model's, else its group's), None without a model
    (CSI then weighs the items equally).  Two queries for any number of stores."""
    models = list(
        EvaluationModel.objects.filter(
            Q(store_id__in=sorted(group_of)) | Q(group_id__in=sorted(set(group_of.values())), store__isnull=True)
        ).values_list("pk", "group_id", "store_id")
    )
    if not models:
        return dict.fromkeys(group_of)
    weights = _weights_by_model(pk for pk, _g, _s in models)
    own = {store_id: pk for pk, _g, store_id in models if store_id is not None}
    of_group = {group_id: pk for pk, group_id, store_id in models if store_id is None}
    found: dict[int, ItemWeights | None] = {}
    for store_id, group_id in group_of.items():
        model_id = own.get(store_id, of_group.get(group_id))
        found[store_id] = weights.get(model_id) if model_id is not None else None
    return found


def item_weights_for_group(group_id: int) -> ItemWeights | None:
    """The group's own model's weights (a group's figures are judged by the group's settings and model)."""
    model_id = (
        EvaluationModel.objects.filter(group_id=group_id, store__isnull=True).values_list("pk", flat=True).first()
    )
    return None if model_id is None else _weights_by_model([model_id]).get(model_id)
