"""The difference of two proportions with Newcombe's hybrid score interval, checked against the published
table (Newcombe 1998, Statistics in Medicine 17:873, Table II, method 10) and a hand computation."""

from __future__ import annotations

import math

import pytest

from aftersales.campaigns.stats import Z_95, newcombe_difference, wilson


class WilsonTests:
    def test_it_matches_a_hand_computation_for_zero_of_ten(self):
        # p = 0: centre = (z²/2n)/(1+z²/n) = 0.19207/1.38415 = 0.13877 and half-width the same → [0, 0.27753].
        z2 = Z_95**2
        centre = (z2 / 20) / (1 + z2 / 10)
        interval = wilson(0, 10)
        assert interval.lower == 0
        assert interval.upper == pytest.approx(2 * centre) == pytest.approx(0.27753, abs=1e-5)

    def test_it_matches_a_hand_computation_for_fifteen_of_fifty(self):
        # p = 0.3, n = 50, z² = 3.8415: centre = (0.3 + 0.038415)/1.076829 = 0.314270;
        # half = 1.95996·√(0.0042 + 0.00038415)/1.076829 = 1.95996·0.067707/1.076829 = 0.123235.
        interval = wilson(15, 50)
        assert interval.lower == pytest.approx(0.314270 - 0.123235, abs=1e-5)
        assert interval.upper == pytest.approx(0.314270 + 0.123235, abs=1e-5)

    def test_it_refuses_impossible_counts(self):
        with pytest.raises(ValueError):
            wilson(3, 0)
        with pytest.raises(ValueError):
            wilson(11, 10)


class NewcombeTests:
    @pytest.mark.parametrize(
        ("x1", "n1", "x2", "n2", "lower", "upper"),
        [
            (56, 70, 48, 80, 0.0524, 0.3339),
            (9, 10, 3, 10, 0.1705, 0.8090),
            (6, 7, 2, 7, 0.0582, 0.8062),
            (5, 56, 0, 29, -0.0381, 0.1926),
            (0, 10, 0, 20, -0.1611, 0.2775),
            (10, 10, 0, 20, 0.6791, 1.0000),
        ],
    )
    def test_it_reproduces_newcombes_published_intervals(self, x1, n1, x2, n2, lower, upper):
        interval = newcombe_difference(x1, n1, x2, n2)
        assert interval is not None
        assert interval.estimate == pytest.approx(x1 / n1 - x2 / n2)
        assert interval.lower == pytest.approx(lower, abs=5e-5)
        assert interval.upper == pytest.approx(upper, abs=5e-5)

    def test_it_is_the_square_and_add_of_the_two_wilson_intervals(self):
        # By hand from the two Wilson intervals: 30/200 vs 10/100.
        a, b = wilson(30, 200), wilson(10, 100)
        d = 0.15 - 0.10
        interval = newcombe_difference(30, 200, 10, 100)
        assert interval.lower == pytest.approx(d - math.hypot(0.15 - a.lower, b.upper - 0.10))
        assert interval.upper == pytest.approx(d + math.hypot(a.upper - 0.15, 0.10 - b.lower))
        assert interval.lower < 0 < interval.upper  # 5 points is not yet proven with 100 controls

    def test_an_empty_arm_has_no_interval(self):
        assert newcombe_difference(3, 10, 0, 0) is None
        assert newcombe_difference(0, 0, 3, 10) is None
