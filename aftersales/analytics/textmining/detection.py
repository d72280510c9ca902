"""Find lexicon issues in free text, with negation, hypotheticals and contrast handled.

How a comment is read (docs/text-issues.md has the worked examples):

1. Full-width letters and digits become ASCII (one for one, so offsets and quotes stay the original text).
2. The text is cut into sentences (。！？；! ? ; newline) and each sentence into clauses (，, 、 ： and spaces, and
   before 但是 / 可是 / 然而 inside a clause).  Every match stays inside one clause.
3. Each issue's terms and patterns are matched in each clause.  A match overlapping one of the issue's
   ``exclude`` words is dropped (贵店, 慢慢).
4. **Negation**: the clause is segmented with jieba (domain dictionary).  A match is negated when one of the
   three words before its core is a negator (不, 没有, 不算, 不是, 不用, 并没有, 一点也不, …) or a hypothetical
   (以为, 担心, 如果, …), or when the core starts inside a word whose leading part is a negator (jieba keeps
   不慢 and 不贵 as one word).  Negators inside a trigger (没修好, 不耐烦, 联系不上) are part of the trigger.
   Word-level negators keep 不错 or 不知道 from negating anything.
5. **Contrast**: in a sentence with an adversative clause (但是, 但, 可是, 不过, 然而), an issue raised before it
   is cancelled when the part after it answers the same issue — one of the issue's ``resolvers`` not itself
   negated (虽然有点贵，但是值得) or a negated trigger of the same issue (虽然排队的人很多，但是没等多久 is
   resolved by 没等多久).  A concession answered on another point still counts (虽然等了很久，但是师傅很专业).
6. Praise is never counted because only problem phrasings are triggers; a comment raises each issue at most once
   (its first unnegated match, in text order), with that sentence as the example quote.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from .lexicon import DEFAULT_LEXICON, IssueDefinition, Lexicon
from .segmentation import Segmenter, Token, default_segmenter

__all__ = ["NEGATORS", "IssueHit", "count_issues", "detect_issues"]

NEGATORS: frozenset[str] = frozenset(
    {
        "不",
        "没",
        "没有",
        "未",
        "无",
        "非",
        "别",
        "并不",
        "并没",
        "并没有",
        "并非",
        "不算",
        "不是",
        "不会",
        "不用",
        "无需",
        "无须",
        "不需要",
        "不必",
        "从不",
        "从没",
        "从来不",
        "从来没",
        "从来没有",
        "毫不",
        "绝不",
        "不存在",
        "不至于",
        "没什么",
        "没那么",
        "不太",
        "不怎么",
        "没怎么",
        "一点也不",
        "一点都不",
        "丝毫不",
        "谈不上",
        "not",
        "no",
        "never",
        "hardly",
        "without",
        "isn't",
        "wasn't",
        "aren't",
        "weren't",
        "didn't",
        "don't",
        "doesn't",
    }
)
HYPOTHETICAL: frozenset[str] = frozenset(
    {"以为", "本以为", "还以为", "原以为", "担心", "怕", "生怕", "如果", "要是", "万一", "假如", "以免", "避免", "防止"}
)
LOOKBACK_WORDS = 3
_NEGATOR_ENDINGS = ("不", "没", "没有")

_SENTENCE = re.compile(r"[^。！？!?；;\n]+")
_CLAUSE_BREAK = re.compile(r"[，,、：:\s]+|(?=但是|可是|然而)")
_ADVERSATIVE = ("但是", "但", "可是", "不过", "然而")
_FULL_WIDTH = {code: code - 0xFEE0 for code in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))}


@dataclass(frozen=True, slots=True)
class IssueHit:
    """One issue raised by a comment: the trigger that matched and the sentence it is in (the quote)."""

    code: str
    term: str
    quote: str
    start: int


@dataclass(frozen=True, slots=True)
class _Match:
    issue: IssueDefinition
    clause: int
    term: str
    start: int  # in the text
    negated: bool


def _spans(pattern: re.Pattern[str], text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Pieces of ``text`` between ``pattern``'s separators (or its matches, for ``_SENTENCE``), as offsets."""
    if pattern is _SENTENCE:
        return [(m.start() + offset, m.end() + offset) for m in pattern.finditer(text) if m.group().strip()]
    spans, begin = [], 0
    for separator in pattern.finditer(text):
        if separator.start() > begin:
            spans.append((begin + offset, separator.start() + offset))
        begin = max(begin, separator.end())
    if begin < len(text):
        spans.append((begin + offset, len(text) + offset))
    return spans


def _is_negated(tokens: list[Token], at: int) -> bool:
    """Whether a negator or hypothetical governs the text starting at offset ``at`` (clause offsets)."""
    before: list[str] = []
    for token in tokens:
        if token.start < at < token.end:  # the core starts inside a word: 不慢, 不贵
            prefix = token.word[: at - token.start]
            if prefix in NEGATORS or prefix.endswith(_NEGATOR_ENDINGS):
                return True
        if token.end <= at and token.word.strip():
            before.append(token.word.lower())
    for word in before[-LOOKBACK_WORDS:]:
        if word in NEGATORS or word in HYPOTHETICAL or (len(word) > 1 and word.endswith(_NEGATOR_ENDINGS)):
            return True
    return False


def _overlaps_excluded(issue: IssueDefinition, clause: str, start: int, end: int) -> bool:
    for word in issue.exclude:
        position = clause.find(word)
        while position != -1:
            if position < end and start < position + len(word):
                return True
            position = clause.find(word, position + 1)
    return False


def _core_start(match: re.Match[str]) -> int:
    for name, value in match.groupdict().items():
        if name.startswith("core") and value is not None:
            return match.start(name)
    return match.start()


def _resolves(issue: IssueDefinition, clauses: list[tuple[str, list[Token]]]) -> bool:
    for clause, tokens in clauses:
        for resolver in issue.resolvers:
            position = clause.find(resolver)
            while position != -1:
                if not _is_negated(tokens, position):
                    return True
                position = clause.find(resolver, position + 1)
    return False


def detect_issues(text: str, lexicon: Lexicon = DEFAULT_LEXICON, segmenter: Segmenter | None = None) -> list[IssueHit]:
    """The issues a comment raises, each once, in the order they appear."""
    if not text or not text.strip():
        return []
    segmenter = segmenter or default_segmenter()
    normalised = text.translate(_FULL_WIDTH)
    found: dict[str, IssueHit] = {}
    for sentence_start, sentence_end in _spans(_SENTENCE, normalised):
        clause_spans = _spans(_CLAUSE_BREAK, normalised[sentence_start:sentence_end], sentence_start)
        clauses = [(normalised[a:b], segmenter.tokens(normalised[a:b])) for a, b in clause_spans]
        matches: list[_Match] = []
        for index, ((clause, tokens), (clause_start, _)) in enumerate(zip(clauses, clause_spans, strict=True)):
            for issue in lexicon.issues:
                for match in issue.matcher.finditer(clause):
                    if _overlaps_excluded(issue, clause, match.start(), match.end()):
                        continue
                    negated = _is_negated(tokens, _core_start(match))
                    matches.append(_Match(issue, index, match.group(), clause_start + match.start(), negated))
        pivot = next((i for i, (clause, _) in enumerate(clauses) if i > 0 and clause.startswith(_ADVERSATIVE)), None)
        quote = text[sentence_start:sentence_end].strip()
        for hit in sorted(matches, key=lambda m: m.start):
            if hit.negated or hit.issue.code in found:
                continue
            if pivot is not None and hit.clause < pivot:
                answered_by_negation = any(
                    m.negated and m.issue.code == hit.issue.code and m.clause >= pivot for m in matches
                )
                if answered_by_negation or _resolves(hit.issue, clauses[pivot:]):
                    continue
            found[hit.issue.code] = IssueHit(hit.issue.code, hit.term, quote, hit.start)
    return sorted(found.values(), key=lambda hit: hit.start)


def count_issues(
    texts: Iterable[str], lexicon: Lexicon = DEFAULT_LEXICON, segmenter: Segmenter | None = None
) -> Counter[str]:
    """How many of the comments raise each issue (a comment counts once per issue)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(hit.code for hit in detect_issues(text, lexicon, segmenter))
    return counts
