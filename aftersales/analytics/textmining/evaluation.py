"""Precision, recall and F1 per issue on a labelled set (used by the tests and benchmarks/text_issues.py)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .detection import detect_issues
from .lexicon import DEFAULT_LEXICON, Lexicon

__all__ = ["LABELLED_SETS", "Score", "load_labelled", "score_labelled"]

LABELLED_SETS = {
    "labelled": Path(__file__).parent / "tests" / "labelled_comments.json",
    "heldout": Path(__file__).parent / "tests" / "heldout_comments.json",
}


@dataclass(frozen=True, slots=True)
class Score:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_labelled(path: Path) -> list[Mapping[str, Any]]:
    comments: list[Mapping[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["comments"]
    return comments


def score_labelled(
    comments: Sequence[Mapping[str, Any]], lexicon: Lexicon = DEFAULT_LEXICON
) -> tuple[dict[str, Score], Score]:
    """Per-issue scores and the micro-average over all issues (a comment counts once per issue)."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for comment in comments:
        found = {hit.code for hit in detect_issues(str(comment["text"]), lexicon)}
        expected = set(comment["issues"])
        tp.update(found & expected)
        fp.update(found - expected)
        fn.update(expected - found)
    per_issue = {code: Score(tp[code], fp[code], fn[code]) for code in lexicon.codes}
    total = Score(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return per_issue, total
