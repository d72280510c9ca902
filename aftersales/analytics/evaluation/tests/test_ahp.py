"""AHP: validation, RI tables, n ≤ 2, inconsistent pairs, group AHP, sensitivity, hierarchy; property tests."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.analytics.evaluation import ahp
from aftersales.analytics.evaluation.ahp import MatrixError

weight_vectors = st.lists(st.floats(min_value=0.05, max_value=20), min_size=1, max_size=15)


def test_ri_tables_cover_1_to_15_and_the_default_is_specs():
    assert set(ahp.RI_TABLES) == {"chinese_textbook", "saaty_2005", "donegan_dodd"}
    assert all(len(t) == 15 for t in ahp.RI_TABLES.values())
    assert ahp.RI_TABLES["chinese_textbook"] == (
        0, 0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.54, 1.56, 1.57, 1.59,
    )  # fmt: skip
    assert ahp.random_index(4, "saaty_2005") == 0.89


def test_each_table_names_itself_in_the_result():
    matrix = [[1, 2, 4], [1 / 2, 1, 3], [1 / 4, 1 / 3, 1]]
    results = {t: ahp.analyse(matrix, ri_table=t) for t in ahp.RI_TABLES}
    for table, result in results.items():
        assert result.ri_table == table
        assert result.cr == pytest.approx(result.ci / ahp.RI_TABLES[table][2])
    assert len({r.weights for r in results.values()}) == 1


@pytest.mark.parametrize(
    ("matrix", "cell", "words"),
    [
        ([[1, 2, 3], [0.5, 1, 2]], None, "square"),
        ([[1, 3], [1 / 3, 1], [1, 1]], None, "square"),
        ([[1, -2], [-0.5, 1]], (0, 1), "positive"),
        ([[1, 0], [1, 1]], (0, 1), "positive"),
        ([[2, 3], [1 / 3, 1]], (0, 0), "diagonal"),
        ([[1, 3, 5], [1 / 3, 1, 2], [5, 0.5, 1]], (2, 0), "reciprocal"),
        ([[1, float("nan")], [1, 1]], (0, 1), "positive"),
    ],
)
def test_invalid_matrices_name_the_cell(matrix, cell, words):
    with pytest.raises(MatrixError) as caught:
        ahp.analyse(matrix)
    assert caught.value.cell == cell
    assert words in str(caught.value)
    if cell is not None:
        assert f"matrix[{cell[0] + 1}][{cell[1] + 1}]" in str(caught.value)


def test_reciprocal_within_tolerance_is_accepted_and_up_to_15_items():
    ahp.analyse([[1, 3, 8], [0.33, 1, 2], [0.13, 0.5, 1]])
    ahp.analyse(np.ones((15, 15)))
    with pytest.raises(MatrixError, match="at most 15"):
        ahp.analyse(np.ones((16, 16)))


@pytest.mark.parametrize("matrix", [[[1]], [[1, 7], [1 / 7, 1]], [[1, "x"], [1, 1]]])
def test_one_or_two_items_are_always_consistent(matrix):
    if matrix[0][-1] == "x":
        with pytest.raises(MatrixError):
            ahp.analyse(matrix)
        return
    result = ahp.analyse(matrix)
    assert (result.ci, result.cr, result.consistent) == (0.0, 0.0, True)
    assert sum(result.weights) == pytest.approx(1)


def test_two_items_weights():
    assert ahp.analyse([[1, 3], [1 / 3, 1]]).weights == pytest.approx((0.75, 0.25))


def test_tiny_negative_ci_from_rounding_is_zero():
    # 0.333 for 1/3 makes λmax fall a hair under n.
    result = ahp.analyse([[1, 3, 9], [0.333, 1, 3], [0.111, 0.333, 1]])
    assert result.ci == 0.0 and result.cr == 0.0


def test_geometric_method_is_named_and_close_to_the_eigenvector():
    matrix = [[1, 3, 5], [1 / 3, 1, 2], [1 / 5, 1 / 2, 1]]
    eig, geo = ahp.analyse(matrix), ahp.analyse(matrix, method="geometric")
    assert geo.method == "geometric"
    assert geo.weights == pytest.approx(eig.weights, abs=0.01)


def test_inconsistent_pairs_point_at_the_planted_error():
    matrix = ahp.consistent_matrix([0.4, 0.3, 0.2, 0.1])
    matrix[0, 3], matrix[3, 0] = 1 / 4, 4  # consistent value is 4: reversed judgement
    result = ahp.analyse(matrix)
    assert not result.consistent
    worst = ahp.inconsistent_pairs(matrix, result.weights)[0]
    assert (worst.row, worst.column) == (0, 3)
    assert worst.given == 0.25
    assert worst.consistent_value > 3 * worst.given  # the weights still say item 1 outweighs item 4 more
    shares = ahp.inconsistent_pairs(matrix, top=None)
    assert sum(p.share for p in shares) == pytest.approx(1)
    # the contributions are the exact decomposition of λmax − n for eigenvector weights
    assert sum(p.contribution for p in shares) == pytest.approx(result.lambda_max - 4)


def test_group_ahp_geometric_mean_and_exclusion():
    good_a = ahp.consistent_matrix([0.5, 0.3, 0.2])
    good_b = ahp.consistent_matrix([0.6, 0.2, 0.2])
    bad = np.array([[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]])
    result = ahp.group([good_a, good_b, bad])
    assert result.excluded == () and len(result.experts) == 3
    assert not result.experts[2].consistent
    assert result.matrix[0][1] == pytest.approx((5 / 3 * 3 * 9) ** (1 / 3))
    kept = ahp.group([good_a, good_b, bad], exclude_inconsistent=True)
    assert kept.included == (0, 1) and kept.excluded == (2,)
    assert kept.matrix[0][1] == pytest.approx((5 / 3 * 3) ** 0.5)
    assert kept.aggregate.consistent
    with pytest.raises(ValueError, match="every expert"):
        ahp.group([bad], exclude_inconsistent=True)
    with pytest.raises(ValueError, match="same items"):
        ahp.group([good_a, np.ones((2, 2))])


def test_sensitivity_finds_the_exact_crossing():
    weights = [0.5, 0.3, 0.2]
    scores = [[0.6, 0.2, 0.3], [0.3, 0.5, 0.3], [0.1, 0.3, 0.4]]
    first = ahp.sensitivity(weights, scores)[0]
    # A = 0.6t + (1−t)/0.5·(0.06+0.06) and B = 0.3t + (1−t)/0.5·(0.15+0.06) meet at t = 0.375
    assert first.lower == pytest.approx(0.375)
    assert first.lower_swap == (0, 1)
    assert first.upper == 1.0 and first.upper_swap is None
    assert first.room_down == pytest.approx(0.125)


@given(weight_vectors, st.integers(min_value=0, max_value=14))
@settings(max_examples=60, deadline=None)
def test_sensitivity_ranking_holds_inside_and_changes_at_the_bounds(raw, seed):
    rng = np.random.default_rng(seed)
    w = np.array(raw[:4] if len(raw) >= 2 else [1.0, 1.0])
    w = w / w.sum()
    scores = rng.random((4, w.size))
    for s in ahp.sensitivity(w, scores):
        for t in (s.lower + 1e-6, s.upper - 1e-6):
            if s.lower + 1e-6 >= s.upper - 1e-6:
                continue
            moved = ahp._scores_at(w, scores, s.criterion, t)
            assert list(np.argsort(-moved)) == list(np.argsort(-(scores @ w)))


@given(weight_vectors, st.sampled_from(ahp.METHODS))
@settings(max_examples=80, deadline=None)
def test_consistent_matrix_returns_its_weights_with_cr_zero(raw, method):
    w = np.array(raw) / sum(raw)
    result = ahp.analyse(ahp.consistent_matrix(w), method=method)
    assert result.weights == pytest.approx(w, abs=1e-9)
    assert result.cr == pytest.approx(0, abs=1e-9)
    assert result.lambda_max == pytest.approx(len(w), abs=1e-9)


@given(
    st.lists(st.sampled_from([1 / 9, 1 / 7, 1 / 5, 1 / 3, 1, 3, 5, 7, 9]), min_size=3, max_size=36),
    st.sampled_from(ahp.METHODS),
)
@settings(max_examples=80, deadline=None)
def test_weights_sum_to_one_and_cr_is_not_negative(upper, method):
    n = 2
    while n * (n - 1) // 2 <= len(upper) and n < 9:
        n += 1
    n -= 1
    matrix = np.ones((n, n))
    values = iter(upper)
    for i in range(n):
        for j in range(i + 1, n):
            matrix[i, j] = next(values)
            matrix[j, i] = 1 / matrix[i, j]
    result = ahp.analyse(matrix, method=method)
    assert sum(result.weights) == pytest.approx(1)
    assert all(w > 0 for w in result.weights)
    assert result.ci >= 0 and result.cr >= 0
    # relabelling the items permutes the weights (the method does not depend on the order)
    order = np.arange(n)[::-1]
    swapped = ahp.analyse(matrix[np.ix_(order, order)], method=method)
    assert swapped.weights == pytest.approx(tuple(np.array(result.weights)[order]), abs=1e-9)


@given(weight_vectors, st.floats(min_value=0.01, max_value=100))
@settings(max_examples=50, deadline=None)
def test_scale_invariance_of_the_weight_vector(raw, factor):
    w = np.array(raw)
    assert ahp.analyse(ahp.consistent_matrix(w * factor)).weights == pytest.approx(w / w.sum(), abs=1e-9)


@given(st.lists(weight_vectors, min_size=2, max_size=4))
@settings(max_examples=40, deadline=None)
def test_global_weights_add_up_to_one(groups):
    criteria = np.array([sum(g) for g in groups])
    criteria = criteria / criteria.sum()
    local = [np.array(g) / sum(g) for g in groups]
    result = ahp.global_weights(criteria, local)
    assert sum(sum(g) for g in result.global_) == pytest.approx(1)
