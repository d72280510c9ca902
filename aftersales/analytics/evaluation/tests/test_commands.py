"""`aftersales ahp FILE.json` and `aftersales fuzzy FILE.json`: output, exit statuses, errors (no database)."""

import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def run(command, tmp_path, content):
    path = tmp_path / "in.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    out = StringIO()
    try:
        call_command(command, str(path), stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)
    return 0, out.getvalue(), ""


def test_ahp_consistent_exit_0_with_fractions_as_strings(tmp_path):
    status, out, _ = run("ahp", tmp_path, {"matrix": [[1, 3, 5], ["1/3", 1, 2], ["0.2", "1 / 2", 1]]})
    answer = json.loads(out)
    assert status == 0
    assert set(answer) >= {"weights", "lambda_max", "ci", "cr", "consistent"}
    assert answer["consistent"] is True and answer["method"] == "eigenvector"
    assert answer["ri_table"] == "chinese_textbook"
    assert sum(answer["weights"]) == pytest.approx(1)


def test_ahp_geometric_and_another_table(tmp_path):
    status, out, _ = run(
        "ahp", tmp_path, {"matrix": [[1, 2], [0.5, 1]], "method": "geometric", "ri_table": "saaty_2005"}
    )
    answer = json.loads(out)
    assert (status, answer["method"], answer["ri_table"], answer["cr"]) == (0, "geometric", "saaty_2005", 0)
    assert answer["weights"] == pytest.approx([2 / 3, 1 / 3])


def test_ahp_inconsistent_exit_1_prints_json_and_the_pairs(tmp_path):
    status, out, error = run("ahp", tmp_path, {"matrix": [[1, 9, "1/9"], ["1/9", 1, 9], [9, "1/9", 1]]})
    answer = json.loads(out)
    assert status == 1 and answer["consistent"] is False and answer["cr"] >= 0.10
    assert "CR" in error and "chinese_textbook" in error
    assert {"row", "column", "given", "consistent_value", "share"} <= set(answer["inconsistent_pairs"][0])


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ({"matrix": [[1, 2, 3], [0.5, 1, 2]]}, "square"),
        ({"matrix": [[1, 2], [0.5]]}, "different lengths"),
        ({"matrix": [[1, 3], [3, 1]]}, "not reciprocal"),
        ({"matrix": [[1, "three"], ["1/3", 1]]}, "matrix[1][2]: not a number"),
        ({"matrix": [[1, True], [1, 1]]}, "not a number"),
        ({"matrix": [[1, "1/0"], [1, 1]]}, "not a number"),
        ({"matrix": [[1, 0], [1, 1]]}, "positive"),
        ({"matrix": [[2, 1], [1, 1]]}, "diagonal"),
        ({"matrix": [[1, 2], [0.5, 1]], "method": "power"}, "method"),
        ({"matrix": [[1, 2], [0.5, 1]], "ri_table": "mine"}, "ri_table"),
        ({"weights": [1]}, "matrix: missing"),
        ([[1, 2], [0.5, 1]], "JSON object"),
        ("{matrix: [[1]]", "not valid JSON"),
    ],
)
def test_ahp_invalid_input_exit_2_with_the_reason(tmp_path, content, words):
    status, out, error = run("ahp", tmp_path, content)
    assert status == 2 and out == ""
    assert words in error


def test_ahp_missing_file_exit_2(tmp_path):
    with pytest.raises(CommandError) as caught:
        call_command("ahp", str(tmp_path / "absent.json"), stdout=StringIO())
    assert caught.value.returncode == 2 and "no such file" in str(caught.value)


def test_fuzzy_counts_and_default_grade_values(tmp_path):
    status, out, _ = run(
        "fuzzy",
        tmp_path,
        {"weights": ["0.6", "0.4"], "membership": [[6, 3, 1, 0, 0], [2, 2, 4, 2, 0]], "operator": "weighted_average"},
    )
    answer = json.loads(out)
    assert status == 0
    assert answer["vector"] == pytest.approx([0.44, 0.26, 0.22, 0.08, 0.0])
    assert answer["grade_index"] == 0 and answer["ties"] == []
    assert answer["score"] == pytest.approx(0.44 * 100 + 0.26 * 80 + 0.22 * 60 + 0.08 * 40)
    assert sum(answer["contributions"]) == pytest.approx(answer["score"])


def test_fuzzy_max_min_tie_and_no_score_without_grade_values(tmp_path):
    status, out, _ = run(
        "fuzzy", tmp_path, {"weights": [0.5, 0.5], "membership": [[1, 0, 0], [0, 1, 0]], "operator": "max_min"}
    )
    answer = json.loads(out)
    assert (status, answer["grade_index"], answer["ties"], answer["score"]) == (0, 0, [0, 1], None)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ({"membership": [[1, 0]]}, "weights: missing"),
        ({"weights": [1, 1], "membership": [[1, 0]]}, "weights"),
        ({"weights": [1], "membership": [[0, 0]]}, "membership[1]"),
        ({"weights": [1], "membership": [[1, "a"]]}, "membership[1][2]: not a number"),
        ({"weights": [1], "membership": [[1, 0]], "operator": "sum"}, "operator"),
        ({"weights": [1], "membership": [[1, 0]], "grade_values": [1, 2, 3]}, "grade_values"),
        ("[", "not valid JSON"),
    ],
)
def test_fuzzy_invalid_input_exit_2(tmp_path, content, words):
    status, out, error = run("fuzzy", tmp_path, content)
    assert status == 2 and out == ""
    assert words in error


def test_console_script_exit_statuses_and_stderr(tmp_path):
    """The real `aftersales` entry point: stdout JSON, reason on stderr, the exit status of the issue."""
    good, bad, odd = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "odd.json"
    good.write_text('{"matrix": [[1, 2], ["1/2", 1]]}')
    bad.write_text('{"matrix": [[1, 9, "1/9"], ["1/9", 1, 9], [9, "1/9", 1]]}')
    odd.write_text('{"matrix": [[1, 2, 3]]}')
    entry = [sys.executable, "-m", "aftersales"]
    results = {
        name: subprocess.run([*entry, "ahp", str(p)], capture_output=True, text=True, check=False)  # noqa: S603 - our interpreter
        for name, p in {"good": good, "bad": bad, "odd": odd}.items()
    }
    assert results["good"].returncode == 0 and json.loads(results["good"].stdout)["consistent"] is True
    assert results["bad"].returncode == 1 and json.loads(results["bad"].stdout)["consistent"] is False
    assert results["odd"].returncode == 2 and "square" in results["odd"].stderr and results["odd"].stdout == ""
