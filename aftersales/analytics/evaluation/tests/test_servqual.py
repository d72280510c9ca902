"""SERVQUAL gaps and importance–performance analysis (hand-computed figures and properties)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.analytics.evaluation import servqual


def test_gaps_per_item_dimension_and_overall():
    # two respondents, four items in two dimensions; item gaps −1, −0.5, +0.5, −2
    p = [[5, 4, 6, 3], [5, 5, 6, 3]]
    e = [[6, 5, 5, 5], [6, 5, 6, 5]]
    result = servqual.gap_scores(p, e, ["tangibles", "tangibles", "reliability", "reliability"])
    assert [g.gap for g in result.items] == [-1.0, -0.5, 0.5, -2.0]
    assert result.dimensions == {"tangibles": -0.75, "reliability": -0.75}
    assert result.overall == -0.75


def test_gaps_skip_respondents_who_answered_only_one_side():
    result = servqual.gap_scores([[5], [np.nan], [3]], [[6], [7], [np.nan]], ["d"])
    assert result.items[0].gap == -1 and result.items[0].answers == 1


def test_ipa_quadrants_and_priorities():
    overall = np.array([1, 2, 3, 4, 5, 6], dtype=float)
    attributes = np.column_stack(
        [
            overall + np.array([0, 0, 0, 0, 0, 0]) - 3,  # r = 1, low mean → concentrate here
            overall + 2,  # r = 1, high mean → keep up
            [4, 5, 4, 5, 4, 5],  # weak r, mean 4.5
            [1, 1, 2, 1, 1, 1],  # weak r, low mean
        ]
    )
    result = servqual.ipa(attributes, overall, ["waiting", "explanation", "facility", "price"])
    by_name = {a.name: a for a in result.attributes}
    assert by_name["waiting"].importance == pytest.approx(1)
    assert by_name["waiting"].quadrant == "concentrate_here"
    assert by_name["explanation"].quadrant == "keep_up"
    assert result.priorities(1)[0].name == "waiting"
    assert result.importance_line == pytest.approx(np.mean([a.importance for a in result.attributes]))


def test_ipa_constant_attribute_has_undefined_importance():
    result = servqual.ipa([[5, 1], [5, 2], [5, 3]], [1, 2, 3])
    assert not result.attributes[0].importance_defined and result.attributes[0].importance == 0


@given(st.integers(min_value=0, max_value=10_000), st.floats(min_value=0.1, max_value=10), st.floats(-5, 5))
@settings(max_examples=50, deadline=None)
def test_ipa_importance_is_invariant_to_linear_rescaling(seed, a, b):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 6, size=(30, 3)).astype(float)
    y = x.sum(axis=1) + rng.normal(size=30)
    one, two = servqual.ipa(x, y), servqual.ipa(x, a * y + b)
    assert [t.importance for t in one.attributes] == pytest.approx([t.importance for t in two.attributes])
