"""Fuzzy comprehensive evaluation with the weighted-average operator M(·,⊕) against two published worked examples.

Source: the textbook 《数学建模算法与应用》 ("The Algorithm and Application of Mathematical Modeling",
司守奎 and 孙玺菁, National Defense Industry Press), chapter 14 "综合评价与决策方法", section 14.2
"模糊综合评判法" (page 375 in the edition used by the transcription below).  We have not seen the printed book; the
inputs and the printed results are taken from a public transcription of its examples that shows the computed output
next to the book's data: RabbitWhite1/Mathematical-Modeling-In-Python on GitHub, notebook "14.2 模糊综合评判法.ipynb"
with its data file "14.D 多层次模糊综合评判数据.txt" (https://github.com/RabbitWhite1/Mathematical-Modeling-In-Python).
Both examples use B = A·R (b_j = Σ_i a_i·r_ij) and the grade of maximum membership; the weights add up to 1 and every
membership row adds up to 1, so our normalisation changes nothing and the vectors compare directly.
"""

import pytest

from aftersales.analytics.evaluation import fuzzy

GRADES = ["优秀", "良好", "一般", "较差", "差"]


def test_one_level_staff_appraisal():
    """Example 1: a staff member judged on 政治表现, 工作能力, 工作态度, 工作成绩 with A = (0.25, 0.2, 0.25, 0.3);
    row i of R is the share of raters giving each grade (e.g. 10 %, 50 %, 40 %, 0 %, 0 % for 政治表现).
    Printed: B = (0.175, 0.53, 0.275, 0.02, 0) → 良好."""
    weights = [0.25, 0.2, 0.25, 0.3]
    membership = [
        [0.1, 0.5, 0.4, 0.0, 0.0],
        [0.2, 0.5, 0.2, 0.1, 0.0],
        [0.2, 0.5, 0.3, 0.0, 0.0],
        [0.2, 0.6, 0.2, 0.0, 0.0],
    ]
    result = fuzzy.evaluate(weights, membership, operator="weighted_average")
    assert [round(b, 3) for b in result.raw_vector] == [0.175, 0.53, 0.275, 0.02, 0.0]
    assert [round(b, 3) for b in result.vector] == [0.175, 0.53, 0.275, 0.02, 0.0]
    assert GRADES[result.grade_index] == "良好" and result.ties == ()
    # the same raters given as counts out of 10 (the way our surveys arrive) give the same vector
    counts = [[round(10 * share) for share in row] for row in membership]
    assert fuzzy.evaluate(weights, counts).vector == pytest.approx(result.vector)


# Example 2 (two levels): four criteria weighted A = (0.4, 0.3, 0.2, 0.1); their indicators (4, 5, 5 and 4 of them)
# weighted as below, with the book's 18 membership rows in order.  Printed: B = (0.288, 0.354, 0.2355, 0.0865, 0.036)
# → 良好.
CRITERIA_WEIGHTS = [0.4, 0.3, 0.2, 0.1]
INDICATOR_WEIGHTS = [
    [0.2, 0.3, 0.3, 0.2],
    [0.3, 0.2, 0.1, 0.2, 0.2],
    [0.1, 0.2, 0.3, 0.2, 0.2],
    [0.3, 0.2, 0.2, 0.3],
]
ROWS = [
    [0.8, 0.15, 0.05, 0, 0],
    [0.2, 0.6, 0.1, 0.1, 0],
    [0.5, 0.4, 0.1, 0, 0],
    [0.1, 0.3, 0.5, 0.05, 0.05],
    [0.3, 0.5, 0.15, 0.05, 0],
    [0.2, 0.2, 0.4, 0.1, 0.1],
    [0.4, 0.4, 0.1, 0.1, 0],
    [0.1, 0.3, 0.3, 0.2, 0.1],
    [0.3, 0.2, 0.2, 0.2, 0.1],
    [0.1, 0.3, 0.5, 0.1, 0],
    [0.2, 0.3, 0.3, 0.1, 0.1],
    [0.2, 0.3, 0.35, 0.15, 0],
    [0.1, 0.3, 0.4, 0.1, 0.1],
    [0.1, 0.4, 0.3, 0.1, 0.1],
    [0.3, 0.4, 0.2, 0.1, 0],
    [0.1, 0.4, 0.3, 0.1, 0.1],
    [0.2, 0.3, 0.4, 0.1, 0],
    [0.4, 0.3, 0.2, 0.1, 0],
]


def test_two_level_evaluation():
    groups, start = [], 0
    for weights in INDICATOR_WEIGHTS:
        groups.append((weights, ROWS[start : start + len(weights)]))
        start += len(weights)
    assert start == len(ROWS)
    result = fuzzy.evaluate_two_level(
        CRITERIA_WEIGHTS, groups, operator="weighted_average", grade_values=[5, 4, 3, 2, 1]
    )
    # the book prints four places; we match all four
    assert [round(b, 4) for b in result.overall.vector] == [0.288, 0.354, 0.2355, 0.0865, 0.036]
    assert GRADES[result.overall.grade_index] == "良好" and result.overall.ties == ()
    # first criterion by hand: 0.2·0.8 + 0.3·0.2 + 0.3·0.5 + 0.2·0.1 = 0.39 in 优秀
    assert result.criteria[0].vector[0] == pytest.approx(0.39)
    # with the weighted average the indicator contributions still add up to the overall score
    flat = [c for group in result.indicator_contributions or () for c in group]
    assert sum(flat) == pytest.approx(result.overall.score)


def test_the_operator_matters_on_the_same_data():
    """The same data with M(∧,∨) gives a different vector (max_i min(a_i, r_ij) before normalisation), so the
    examples above really test the weighted-average branch."""
    weights = [0.25, 0.2, 0.25, 0.3]
    membership = [
        [0.1, 0.5, 0.4, 0.0, 0.0],
        [0.2, 0.5, 0.2, 0.1, 0.0],
        [0.2, 0.5, 0.3, 0.0, 0.0],
        [0.2, 0.6, 0.2, 0.0, 0.0],
    ]
    max_min = fuzzy.evaluate(weights, membership, operator="max_min")
    assert [round(b, 3) for b in max_min.raw_vector] == [0.2, 0.3, 0.25, 0.1, 0.0]
