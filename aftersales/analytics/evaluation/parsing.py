"""Numbers as people type them in JSON files: 3, 0.5, "3", "1/3", " 1 / 9 "."""

from __future__ import annotations

import math
from fractions import Fraction


class InputError(ValueError):
    """Input the maths cannot use; the message names the offending place (e.g. ``matrix[2][3]``)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.reason = message


def parse_number(value: object, where: str) -> float:
    """A finite number from an int, a float or a string such as ``"0.25"`` or ``"1/3"``; booleans are refused."""
    if isinstance(value, bool) or value is None:
        raise InputError(where, f"not a number ({value!r}).")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        try:
            number = float(Fraction(text)) if "/" in text else float(text)
        except (ValueError, ZeroDivisionError):
            raise InputError(where, f'not a number ({value!r}); write a decimal or a fraction like "1/3".') from None
    else:
        raise InputError(where, f"not a number ({value!r}).")
    if not math.isfinite(number):
        raise InputError(where, f"not a finite number ({value!r}).")
    return number


def parse_vector(values: object, where: str) -> list[float]:
    if not isinstance(values, list | tuple) or not values:
        raise InputError(where, "expected a non-empty list of numbers.")
    return [parse_number(value, f"{where}[{i + 1}]") for i, value in enumerate(values)]


def parse_matrix(rows: object, where: str) -> list[list[float]]:
    """A rectangular list of lists of numbers (rows and columns counted from 1 in messages)."""
    if not isinstance(rows, list | tuple) or not rows:
        raise InputError(where, "expected a non-empty list of rows.")
    matrix: list[list[float]] = []
    for i, row in enumerate(rows):
        if not isinstance(row, list | tuple):
            raise InputError(f"{where}[{i + 1}]", "expected a row (a list of numbers).")
        matrix.append([parse_number(value, f"{where}[{i + 1}][{j + 1}]") for j, value in enumerate(row)])
    widths = {len(row) for row in matrix}
    if len(widths) != 1 or 0 in widths:
        raise InputError(where, f"rows have different lengths ({', '.join(str(len(r)) for r in matrix)}).")
    return matrix
