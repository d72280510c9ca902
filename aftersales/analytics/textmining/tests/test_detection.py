"""Issue detection: clear cases, negation, contrast, and precision/recall on the hand-labelled sets.

The thresholds sit a little below what was measured (docs/text-issues.md): labelled_comments.json was written
together with the lexicon, so its figures are in-sample; heldout_comments.json was written after the lexicon was
frozen and measures how it generalises (precision held, recall did not: the lexicon needs more phrasings).
"""

from __future__ import annotations

import pytest

from aftersales.analytics.textmining import (
    DEFAULT_LEXICON,
    Lexicon,
    LexiconError,
    count_issues,
    detect_issues,
)
from aftersales.analytics.textmining.evaluation import LABELLED_SETS, load_labelled, score_labelled

CLEAR = {
    "waiting_long": ["做个小保养等了快三个小时，太慢了。", "洗车排队排了一个多小时。"],
    "price_high": ["工时费收得太高了。", "感觉有点乱收费。"],
    "attitude": ["服务顾问态度很差，问两句就不耐烦。", "前台爱答不理的。"],
    "explanation_unclear": ["换了什么零件也没解释。", "问维修内容，服务顾问说不清楚。"],
    "parts": ["缺件，车在店里放着。", "配件没货，要从厂家调。"],
    "environment": ["休息区太小了，人多的时候没地方坐。", "洗手间很脏。"],
    "repair_quality": ["上周刚修的空调，今天又坏了。", "异响没修好。"],
    "communication": ["车修好了也没通知我。", "服务顾问电话一直联系不上。"],
    "upsell": ["一进店就推销各种套餐。", "强制消费，不做养护项目就不给保养。"],
    "vehicle_care": ["车门上多了一道划痕。", "取车时发现座椅上有油污。"],
}


def codes(text: str) -> set[str]:
    return {hit.code for hit in detect_issues(text)}


@pytest.mark.parametrize("code,text", [(code, text) for code, texts in CLEAR.items() for text in texts])
def test_every_issue_is_detected_on_clear_cases(code: str, text: str) -> None:
    assert codes(text) == {code}


def test_the_clear_cases_cover_every_issue_of_the_default_lexicon() -> None:
    assert set(CLEAR) == set(DEFAULT_LEXICON.codes)


@pytest.mark.parametrize(
    "text",
    [
        "不贵",
        "价格不贵，服务也好。",
        "不算贵，和外面差不多。",
        "不是很贵，能接受。",
        "一点也不慢，一个小时就做完了。",
        "一点都不贵。",
        "速度不慢。",
        "没有等很久，到店就有人接待。",
        "并没有让我们等太久。",
        "等候时间不长。",
        "工时费不高。",
        "没有乱收费。",
        "不存在推销的情况。",
        "服务顾问没有不耐烦，一直很客气。",
        "休息区不算小，座位够用。",
        "一点也不脏，很干净。",
        "不缺件，当天就修好了。",
        "没有返修过，一次修好。",
        "本来以为要等很久，结果四十分钟就好了。",
    ],
)
def test_negated_issues_are_not_counted(text: str) -> None:
    assert codes(text) == set()


@pytest.mark.parametrize(
    "text",
    [
        "贵店服务一直很好。",
        "感谢贵司的热情服务。",
        "宝贵的时间没浪费。",
        "慢慢开始习惯在这里保养了。",
        "态度很好，很耐心地解答我的问题。",
        "师傅把故障原因解释得很清楚。",
        "环境干净整洁。",
        "无",
        "",
    ],
)
def test_praise_and_false_friends_are_not_counted(text: str) -> None:
    assert codes(text) == set()


def test_a_concession_answered_on_the_same_issue_is_dropped() -> None:
    assert codes("虽然价格有点贵，但是用的都是原厂件，值得。") == set()
    assert codes("虽然排队的人很多，但是没等多久就轮到我了。") == set()


def test_a_concession_answered_on_another_point_still_counts() -> None:
    assert codes("虽然等了很久，但是师傅很专业。") == {"waiting_long"}
    assert codes("虽然收费有点高，但是服务确实好。") == {"price_high"}
    assert codes("虽然价格有点贵，但是不值得。") == {"price_high"}  # a negated resolver answers nothing


def test_a_comment_with_several_issues_yields_each_once_with_its_sentence() -> None:
    hits = detect_issues("等了三个小时，收费还贵。再也不来了！又等了二十分钟结账。")
    assert [hit.code for hit in hits] == ["waiting_long", "price_high"]
    assert hits[0].term == "等了三个小时"
    assert hits[0].quote == "等了三个小时，收费还贵"
    assert hits[1].term == "贵"


def test_full_width_digits_are_read() -> None:
    assert codes("等了３个小时") == {"waiting_long"}


def test_count_issues_counts_comments_not_mentions() -> None:
    counts = count_issues(["太贵了，真贵。", "太慢了", "价格不贵", "收费不透明，等了很久"])
    assert counts == {"price_high": 2, "waiting_long": 2}


def test_a_store_extends_the_lexicon() -> None:
    extended = DEFAULT_LEXICON.extended(
        [
            {"code": "attitude", "terms": ["爱搭不理"]},
            {"code": "coffee", "label_zh": "咖啡机", "label_en": "Coffee machine", "terms": ["咖啡机坏"]},
        ]
    )
    assert {hit.code for hit in detect_issues("前台爱搭不理，咖啡机坏了", extended)} == {"attitude", "coffee"}
    assert "coffee" not in DEFAULT_LEXICON
    assert Lexicon.from_dict(extended.to_list()).to_list() == extended.to_list()


def test_bad_lexicon_data_is_refused_clearly() -> None:
    with pytest.raises(LexiconError, match="bad pattern"):
        Lexicon.from_dict([{"code": "x", "label_zh": "x", "label_en": "x", "patterns": ["(unclosed"]}])
    with pytest.raises(LexiconError, match="label_en"):
        Lexicon.from_dict([{"code": "x", "label_zh": "x", "terms": ["x"]}])
    with pytest.raises(LexiconError, match="twice"):
        Lexicon.from_dict([DEFAULT_LEXICON["parts"].to_dict()] * 2)


def test_the_labelled_sets_are_big_enough_and_use_known_codes() -> None:
    labelled, heldout = load_labelled(LABELLED_SETS["labelled"]), load_labelled(LABELLED_SETS["heldout"])
    assert len(labelled) >= 200
    assert len(heldout) >= 80
    for comment in labelled + heldout:
        assert set(comment["issues"]) <= set(DEFAULT_LEXICON.codes), comment
    assert sum(1 for c in labelled if not c["issues"]) >= 60  # the other polarity is well represented


# Measured with the default lexicon as committed (docs/text-issues.md):
# per issue P 0.93–1.00, R 0.86–1.00; micro P 0.98, R 0.96.
IN_SAMPLE_FLOOR = {"precision": 0.90, "recall": 0.80}


@pytest.mark.parametrize("code", DEFAULT_LEXICON.codes)
def test_precision_and_recall_per_issue_on_the_labelled_set(code: str) -> None:
    per_issue, _ = score_labelled(load_labelled(LABELLED_SETS["labelled"]))
    assert per_issue[code].precision >= IN_SAMPLE_FLOOR["precision"], per_issue[code]
    assert per_issue[code].recall >= IN_SAMPLE_FLOOR["recall"], per_issue[code]


def test_overall_scores_on_both_sets() -> None:
    _, labelled = score_labelled(load_labelled(LABELLED_SETS["labelled"]))
    assert labelled.precision >= 0.95 and labelled.recall >= 0.93  # measured 0.982 / 0.959
    _, heldout = score_labelled(load_labelled(LABELLED_SETS["heldout"]))
    assert heldout.precision >= 0.95  # measured 1.00: no false alarm on 31 issue-free comments
    assert heldout.recall >= 0.30  # measured 0.364: the honest figure for phrasings the lexicon lacks
