"""Pure maths for the campaign results (no Django): the difference of two proportions with its confidence
interval.

We use Newcombe's hybrid score interval (Newcombe 1998, "Interval estimation for the difference between
independent proportions", Statistics in Medicine 17:873–890, method 10): the Wilson score interval of each
proportion, combined by the square-and-add rule.  Unlike the Wald interval it stays inside [−1, 1], behaves with
small arms (a 10 % control group is small) and with rates near 0 — a campaign's return rates often are."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054  # the two-sided 95 % normal quantile


@dataclass(frozen=True)
class Interval:
    estimate: float
    lower: float
    upper: float


def wilson(successes: int, n: int, z: float = Z_95) -> Interval:
    """The Wilson score interval of successes / n (n > 0)."""
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def newcombe_difference(x1: int, n1: int, x2: int, n2: int, z: float = Z_95) -> Interval | None:
    """p1 − p2 (x1/n1 − x2/n2) with Newcombe's hybrid score interval; None when an arm is empty."""
    if n1 <= 0 or n2 <= 0:
        return None
    a, b = wilson(x1, n1, z), wilson(x2, n2, z)
    d = a.estimate - b.estimate
    lower = d - math.sqrt((a.estimate - a.lower) ** 2 + (b.upper - b.estimate) ** 2)
    upper = d + math.sqrt((a.upper - a.estimate) ** 2 + (b.estimate - b.lower) ** 2)
    return Interval(d, lower, upper)
