"""Reading the JSON files of `aftersales ahp FILE.json` and `aftersales fuzzy FILE.json` (plain Python, no Django).

Each function returns the JSON-ready answer or raises InputError naming what is wrong; the management commands
turn that into exit status 2 with the reason on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aftersales.analytics.evaluation import ahp, fuzzy
from aftersales.analytics.evaluation.parsing import InputError, parse_matrix, parse_vector


def read_json_object(path: str) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise InputError(path, "no such file.")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(path, "not a UTF-8 text file.") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).") from None
    if not isinstance(data, dict):
        raise InputError(path, 'expected a JSON object such as {"matrix": [[1, 3], ["1/3", 1]]}.')
    return data


def _choice(data: dict[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = data.get(key, default)
    if value not in choices:
        raise InputError(key, f"must be one of {', '.join(choices)}, got {value!r}.")
    return str(value)


def ahp_answer(data: dict[str, Any]) -> dict[str, Any]:
    if "matrix" not in data:
        raise InputError("matrix", "missing; give the pairwise comparison matrix as a list of rows.")
    matrix = parse_matrix(data["matrix"], "matrix")
    method = _choice(data, "method", ahp.METHODS, "eigenvector")
    ri_table = _choice(data, "ri_table", tuple(ahp.RI_TABLES), ahp.DEFAULT_RI_TABLE)
    result = ahp.analyse(matrix, method="geometric" if method == "geometric" else "eigenvector", ri_table=ri_table)
    answer: dict[str, Any] = {
        "weights": list(result.weights),
        "lambda_max": result.lambda_max,
        "ci": result.ci,
        "cr": result.cr,
        "consistent": result.consistent,
        "method": result.method,
        "ri_table": result.ri_table,
        "ri": result.ri,
    }
    if not result.consistent:
        answer["inconsistent_pairs"] = [
            {
                "row": pair.row + 1,
                "column": pair.column + 1,
                "given": pair.given,
                "consistent_value": pair.consistent_value,
                "share": pair.share,
            }
            for pair in ahp.inconsistent_pairs(matrix, result.weights)
        ]
    return answer


def fuzzy_answer(data: dict[str, Any]) -> dict[str, Any]:
    for key in ("weights", "membership"):
        if key not in data:
            raise InputError(key, "missing.")
    weights = parse_vector(data["weights"], "weights")
    membership = parse_matrix(data["membership"], "membership")
    operator = _choice(data, "operator", fuzzy.OPERATORS, "weighted_average")
    grades = len(membership[0])
    if "grade_values" in data and data["grade_values"] is not None:
        grade_values: list[float] | None = parse_vector(data["grade_values"], "grade_values")
    else:
        grade_values = list(fuzzy.DEFAULT_GRADE_VALUES_5) if grades == 5 else None
    result = fuzzy.evaluate(
        weights,
        membership,
        operator="max_min" if operator == "max_min" else "weighted_average",
        grade_values=grade_values,
    )
    return result.as_dict() | {"grade_values": grade_values}
