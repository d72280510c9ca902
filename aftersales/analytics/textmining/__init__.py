"""Frequent issues from free text (issue 13 part 4, SPEC §8): pure Python + jieba, no Django.

- ``detect_issues(text)`` → the issues a comment raises (code, matched term, the sentence as a quote);
- ``count_issues(texts)`` → a Counter of comments per issue code;
- ``emerging_terms(current, previous_by_month)`` → words whose share of comments rose most;
- ``DEFAULT_LEXICON`` / ``Lexicon`` → the configurable bilingual issue lexicon (data; a store can extend it).

docs/text-issues.md explains the detection, the negation and contrast rules and the emerging-terms formula.
"""

from .detection import IssueHit, count_issues, detect_issues
from .emerging import EmergingTerm, content_words, emerging_from_counts, emerging_terms
from .lexicon import DEFAULT_LEXICON, DEFAULT_LEXICON_DATA, IssueDefinition, Lexicon, LexiconError
from .segmentation import Segmenter, Token, default_segmenter

__all__ = [
    "DEFAULT_LEXICON",
    "DEFAULT_LEXICON_DATA",
    "EmergingTerm",
    "IssueDefinition",
    "IssueHit",
    "Lexicon",
    "LexiconError",
    "Segmenter",
    "Token",
    "content_words",
    "count_issues",
    "default_segmenter",
    "detect_issues",
    "emerging_from_counts",
    "emerging_terms",
]
