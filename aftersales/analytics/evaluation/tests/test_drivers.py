"""Key drivers: relative weights and Shapley R² decomposition (identities and properties)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.analytics.evaluation import drivers
from aftersales.analytics.evaluation.parsing import InputError


def test_uncorrelated_items_get_their_squared_correlations():
    # With orthogonal items both measures reduce to r² (Johnson 2000; the LMG has the same property).
    x = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]] * 20, dtype=float)
    y = 2 * x[:, 0] + x[:, 1] + np.tile([0.5, -0.5, -0.5, 0.5], 20)
    result = drivers.key_drivers(x, y, ["waiting", "price"])
    for d in result.drivers:
        assert d.relative_weight == pytest.approx(d.correlation**2)
        assert d.shapley == pytest.approx(d.correlation**2)
    assert result.drivers[0].rank == 1


def test_two_items_shapley_closed_form():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 2))
    x[:, 1] += 0.8 * x[:, 0]
    y = x @ [1.0, 0.5] + rng.normal(size=300)
    result = drivers.key_drivers(x, y)
    r1, r2 = (d.correlation for d in result.drivers)
    # LMG for two items: φ_1 = (r1² + R² − r2²)/2
    assert result.drivers[0].shapley == pytest.approx((r1**2 + result.r_squared - r2**2) / 2)


def test_sample_size_warning():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3))
    result = drivers.key_drivers(x, x.sum(axis=1) + rng.normal(size=40))
    assert (result.n, result.minimum_n, result.too_small) == (40, 50, True)
    assert drivers.minimum_sample(8) == 80


def test_missing_answers_drop_the_row_and_constant_items_are_refused():
    x = np.array([[1, 2], [2, np.nan], [3, 1], [4, 3], [5, 5]], dtype=float)
    assert drivers.key_drivers(x, [1, 2, 3, 4, 5]).n == 4
    with pytest.raises(InputError, match="same"):
        drivers.key_drivers([[1, 2], [1, 3], [1, 4]], [1, 2, 3])


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=2, max_value=6))
@settings(max_examples=40, deadline=None)
def test_both_measures_add_up_to_r_squared(seed, k):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(120, k)) + rng.normal(size=(120, 1))  # correlated items
    y = x @ rng.normal(size=k) + rng.normal(size=120)
    result = drivers.key_drivers(x, y)
    assert sum(d.relative_weight for d in result.drivers) == pytest.approx(result.r_squared)
    assert sum(d.shapley or 0 for d in result.drivers) == pytest.approx(result.r_squared)
    assert all(d.relative_weight >= -1e-12 for d in result.drivers)
    assert 0 <= result.r_squared <= 1 + 1e-9
