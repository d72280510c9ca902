from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import jieba

from aftersales.analytics.textmining import Segmenter, content_words, default_segmenter, emerging_terms

REPO = Path(__file__).resolve().parents[4]


def test_domain_words_stay_whole() -> None:
    words = default_segmenter().words("第一次来4S店保养，换了空调滤芯和刹车片，服务顾问说工时费另算")
    for word in ("4S店", "空调滤芯", "刹车片", "服务顾问", "工时费"):
        assert word in words


def test_tokens_carry_offsets() -> None:
    text = "机油加多了"
    tokens = default_segmenter().tokens(text)
    assert "".join(t.word for t in tokens) == text
    assert all(text[t.start : t.end] == t.word for t in tokens)


def test_jieba_default_tokenizer_is_left_alone() -> None:
    assert Segmenter(extra_words=["咖啡机坏了"]).words("咖啡机坏了") == ["咖啡机坏了"]
    assert "咖啡机坏了" not in jieba.dt.FREQ  # the word went into a private tokenizer, not jieba's global one


def test_the_cache_is_written_outside_the_repository() -> None:
    default_segmenter().words("保养")
    assert not list(REPO.glob("**/jieba*.cache"))
    cache_dirs = [p for p in Path(tempfile.gettempdir()).glob("aftersales-jieba-*") if p.is_dir()]
    assert cache_dirs


def test_concurrent_first_use_builds_one_tokenizer() -> None:
    segmenter = Segmenter(extra_words=["咖啡机"])
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda: results.append(segmenter.words("咖啡机坏了"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [results[0]] * 4 and "咖啡机" in results[0]


def test_content_words_drop_stop_words_single_characters_and_numbers() -> None:
    words = content_words("我们等了两个小时，服务顾问也没解释的。")
    assert "服务顾问" in words
    assert not words & {"我们", "的", "了", "两个", "小时", "，"}


def test_a_new_problem_rises_to_the_top() -> None:
    previous = {
        "2025-01": ["保养很快，价格合理", "休息区舒服", "等了很久"] * 10,
        "2025-02": ["保养很快", "休息区舒服，有咖啡", "态度好"] * 10,
    }
    current = ["咖啡机坏了，没咖啡喝", "休息区咖啡机又坏了", "咖啡机一直没修", "保养很快", "休息区舒服"] * 2
    top = emerging_terms(current, previous, top=3)
    assert top[0].term == "咖啡机"
    assert top[0].current_count == 6 and top[0].previous_count == 0
    assert all(t.term != "很快" for t in top)  # as common as before: no rise


def test_a_word_seen_once_does_not_win() -> None:
    previous = {"2025-01": ["等了很久", "价格合理"] * 20}
    current = ["一次提到的怪词", "变速箱异响", "变速箱异响又来了", "变速箱有异响"]
    terms = [t.term for t in emerging_terms(current, previous)]
    assert "怪词" not in terms and "一次" not in terms
    assert terms[:2] == ["变速箱", "异响"] or terms[:2] == ["异响", "变速箱"]


def test_emerging_terms_without_history_rank_by_count() -> None:
    top = emerging_terms(["变速箱异响", "变速箱漏油", "变速箱顿挫", "漏油"], {}, top=2)
    assert [t.term for t in top] == ["变速箱", "漏油"]
    assert emerging_terms([], {}) == []
    assert emerging_terms(["变速箱"], {}, top=0) == []
