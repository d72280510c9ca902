"""Emerging terms: the words whose share of comments rose most this month against the months before.

A new problem (a recall, a broken coffee machine, a new advisor) shows up as a word before anyone adds it to the
lexicon.  Words come from jieba with the domain dictionary; stop-words, single characters, numbers and
punctuation are dropped.  Counts are **document frequencies** (how many comments contain the word, once per
comment), so a word repeated in one long complaint does not win, and months of different volume compare.

Formula, for a word w:

    c   = comments this month containing w,          N = comments this month
    b   = comments in the previous months containing w, P = comments in the previous months (pooled)
    E   = N · (b + α) / (P + α·V)  — the count expected this month at the previous rate, add-α smoothed
    score = log2((c + α) / (E + α))

with α = 1 and V = the number of distinct words seen in either period (Lidstone smoothing of the previous rate,
then the same α added to both counts).  A word seen once this month and never before scores log2(2 / (1+E)) ≤ 1;
one seen in 6 comments scores near log2(7) ≈ 2.8.  Words in fewer than ``min_count`` comments this month (2 by
default) are not reported at all, and a score must be positive.  With no previous months, E is N / V for every
word and the ranking is by this month's count.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .segmentation import Segmenter, default_segmenter
from .stopwords import STOP_WORDS

__all__ = ["EmergingTerm", "content_words", "emerging_from_counts", "emerging_terms"]

_NOT_A_WORD = re.compile(r"^[\d零〇一二两三四五六七八九十百千万亿几半多个次遍天周年月日号点分秒钟小时块元%.\-]+$|^\W+$")


@dataclass(frozen=True, slots=True)
class EmergingTerm:
    term: str
    current_count: int  # comments this month containing the term
    expected_count: float  # at the previous months' (smoothed) rate
    previous_count: int  # comments in all previous months containing it
    score: float  # log2 of the smoothed ratio, see the module docstring


def content_words(text: str, segmenter: Segmenter | None = None) -> set[str]:
    """The distinct content words of one comment (lower-cased, stop-words and single characters removed)."""
    segmenter = segmenter or default_segmenter()
    words = set()
    for word in segmenter.words(text):
        word = word.strip().lower()
        if len(word) < 2 or word in STOP_WORDS or _NOT_A_WORD.match(word):
            continue
        words.add(word)
    return words


def _document_frequencies(texts: Iterable[str], segmenter: Segmenter) -> tuple[Counter[str], int]:
    counts: Counter[str] = Counter()
    total = 0
    for text in texts:
        total += 1
        counts.update(content_words(text, segmenter))
    return counts, total


def emerging_terms(
    current_texts: Iterable[str],
    previous_texts_by_month: Mapping[object, Iterable[str]],
    top: int = 10,
    *,
    min_count: int = 2,
    alpha: float = 1.0,
    segmenter: Segmenter | None = None,
) -> list[EmergingTerm]:
    """The ``top`` words whose share of comments rose most against the previous months (best first)."""
    if top <= 0:
        return []
    segmenter = segmenter or default_segmenter()
    current, n_current = _document_frequencies(current_texts, segmenter)
    previous: Counter[str] = Counter()
    n_previous = 0
    for texts in previous_texts_by_month.values():
        counts, total = _document_frequencies(texts, segmenter)
        previous.update(counts)
        n_previous += total
    vocabulary = len(current.keys() | previous.keys())
    return emerging_from_counts(
        current, n_current, previous, n_previous, vocabulary, top=top, min_count=min_count, alpha=alpha
    )


def emerging_from_counts(
    current: Mapping[str, int],
    n_current: int,
    previous: Mapping[str, int],
    n_previous: int,
    vocabulary: int,
    top: int = 10,
    *,
    min_count: int = 2,
    alpha: float = 1.0,
) -> list[EmergingTerm]:
    """The same ranking from document frequencies already counted (the product stores them per store-month):
    ``current``/``previous`` map words to comments containing them, ``n_*`` count the comments, ``vocabulary``
    is the number of distinct words in either period (only ``previous[w]`` of this month's words is read)."""
    if top <= 0:
        return []
    vocabulary = vocabulary or 1
    results = []
    for term, count in current.items():
        if count < min_count:
            continue
        before = previous.get(term, 0)
        expected = n_current * (before + alpha) / (n_previous + alpha * vocabulary)
        score = math.log2((count + alpha) / (expected + alpha))
        if score > 0:
            results.append(EmergingTerm(term, count, expected, before, score))
    results.sort(key=lambda t: (-t.score, -t.current_count, t.term))
    return results[:top]
