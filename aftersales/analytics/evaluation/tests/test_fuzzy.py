"""Fuzzy comprehensive evaluation: a published example, hand-checked figures, ties, contributions, properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.analytics.evaluation import fuzzy
from aftersales.analytics.evaluation.parsing import InputError

# The clothing example of Chinese fuzzy-mathematics textbooks (factors 花色, 式样, 耐穿程度, 价格; grades 很欢迎,
# 较欢迎, 不太欢迎, 不欢迎), two kinds of customer with weights A1 = (0.1, 0.2, 0.3, 0.4) and A2 = (0.4, 0.35, 0.15,
# 0.1), evaluated with M(∧,∨) — as worked in "Example8_4" (e-com-net.com/article/1276296104417181696.htm):
# B1 = (0.2, 0.3, 0.4, 0.1) → 不太欢迎 (grade 3), B2 = (0.35, 0.4, 0.2, 0.1) → 比较欢迎 (grade 2).
CLOTHING = [[0.2, 0.5, 0.2, 0.1], [0.7, 0.2, 0.1, 0], [0, 0.4, 0.5, 0.1], [0.2, 0.3, 0.5, 0]]


@pytest.mark.parametrize(
    ("weights", "published", "grade"),
    [([0.1, 0.2, 0.3, 0.4], [0.2, 0.3, 0.4, 0.1], 2), ([0.4, 0.35, 0.15, 0.1], [0.35, 0.4, 0.2, 0.1], 1)],
)
def test_clothing_example_max_min(weights, published, grade):
    result = fuzzy.evaluate(weights, CLOTHING, operator="max_min")
    assert [round(b, 3) for b in result.raw_vector] == published
    assert result.grade_index == grade and result.ties == ()
    assert sum(result.vector) == pytest.approx(1)


def test_weighted_average_hand_computed():
    # Same data, M(·,⊕): b_j = Σ w_i r_ij, e.g. b_1 = 0.1·0.2 + 0.2·0.7 + 0.3·0 + 0.4·0.2 = 0.24.
    result = fuzzy.evaluate([0.1, 0.2, 0.3, 0.4], CLOTHING, grade_values=[4, 3, 2, 1])
    assert [round(b, 3) for b in result.vector] == [0.24, 0.33, 0.39, 0.04]
    assert result.grade_index == 2
    assert result.score == pytest.approx(0.24 * 4 + 0.33 * 3 + 0.39 * 2 + 0.04 * 1)
    assert sum(result.contributions or ()) == pytest.approx(result.score)


def test_counts_are_normalised_per_row():
    by_counts = fuzzy.evaluate([0.5, 0.5], [[30, 10, 0, 0, 0], [1, 1, 1, 1, 0]], grade_values=[100, 80, 60, 40, 20])
    by_shares = fuzzy.evaluate([0.5, 0.5], [[0.75, 0.25, 0, 0, 0], [0.25, 0.25, 0.25, 0.25, 0]])
    assert by_counts.vector == pytest.approx(by_shares.vector)
    assert by_counts.score == pytest.approx(0.5 * (75 + 20) + 0.5 * (25 + 20 + 15 + 10))


def test_a_tie_is_reported():
    result = fuzzy.evaluate([0.5, 0.5], [[1, 0, 0], [0, 1, 0]], grade_values=[3, 2, 1])
    assert result.ties == (0, 1) and result.grade_index == 0
    assert result.score == pytest.approx(2.5)


def test_max_min_contributions_credit_the_deciding_criterion():
    result = fuzzy.evaluate([0.4, 0.35, 0.15, 0.1], CLOTHING, operator="max_min", grade_values=[4, 3, 2, 1])
    assert sum(result.contributions or ()) == pytest.approx(result.score)
    # b_1 = 0.35 comes from 式样 (min(0.35, 0.7)); b_2 = 0.4 from 花色 (min(0.4, 0.5))
    assert result.contributions is not None and result.contributions[1] > 0


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"weights": [1, 1], "membership": [[1, 0], [0, 0]]}, "membership[2]"),
        ({"weights": [1], "membership": [[1, 0], [0, 1]]}, "weights"),
        ({"weights": [1, -1], "membership": [[1, 0], [0, 1]]}, "weights[2]"),
        ({"weights": [1, 1], "membership": [[1, -3], [0, 1]]}, "membership[1][2]"),
        ({"weights": [1, 1], "membership": [[1, 0], [0, 1]], "operator": "min"}, "operator"),
        ({"weights": [1, 1], "membership": [[1, 0], [0, 1]], "grade_values": [1]}, "grade_values"),
    ],
)
def test_bad_input_names_the_place(kwargs, where):
    with pytest.raises(InputError) as caught:
        fuzzy.evaluate(**kwargs)
    assert caught.value.where == where


def test_two_level_contributions_add_up_to_the_score():
    values = [100, 80, 60, 40, 20]
    groups = [
        ([0.6, 0.4], [[8, 2, 0, 0, 0], [5, 3, 2, 0, 0]]),
        ([0.2, 0.3, 0.5], [[1, 1, 1, 1, 1], [0, 0, 4, 4, 2], [3, 3, 3, 1, 0]]),
    ]
    result = fuzzy.evaluate_two_level([0.7, 0.3], groups, grade_values=values)
    assert result.overall.score == pytest.approx(0.7 * result.criteria[0].score + 0.3 * result.criteria[1].score)
    flat = [c for group in result.indicator_contributions or () for c in group]
    assert sum(flat) == pytest.approx(result.overall.score)


memberships = st.integers(min_value=1, max_value=6).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(min_value=0.01, max_value=10), min_size=n, max_size=n),
        st.lists(st.lists(st.integers(min_value=0, max_value=50), min_size=5, max_size=5), min_size=n, max_size=n),
    )
)


@given(memberships, st.sampled_from(fuzzy.OPERATORS), st.floats(min_value=0.1, max_value=100))
@settings(max_examples=100, deadline=None)
def test_properties(data, operator, factor):
    weights, counts = data
    counts = [row if sum(row) else [1, 0, 0, 0, 0] for row in counts]
    values = [100, 80, 60, 40, 20]
    result = fuzzy.evaluate(weights, counts, operator=operator, grade_values=values)
    assert sum(result.vector) == pytest.approx(1)
    assert sum(result.contributions or ()) == pytest.approx(result.score)
    assert 20 - 1e-9 <= (result.score or 0) <= 100 + 1e-9
    # scaling the counts of every row, or the weights (weighted average), changes nothing
    scaled = fuzzy.evaluate(weights, np.array(counts) * factor, operator=operator, grade_values=values)
    assert scaled.vector == pytest.approx(result.vector)
    if operator == "weighted_average":
        again = fuzzy.evaluate(np.array(weights) * factor, counts, grade_values=values)
        assert again.score == pytest.approx(result.score)
