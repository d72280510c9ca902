"""A typed wrapper around jieba: one private ``jieba.Tokenizer`` with the domain dictionary, built lazily.

jieba has no type hints, so everything it returns is checked or converted here and the rest of the package sees
``Token`` and ``str`` only.  jieba's module-level default tokenizer is never touched: the domain words go into a
private ``jieba.Tokenizer()`` instance, so other users of jieba in the process are unaffected.

Offline and out of the repository: jieba reads its bundled ``dict.txt``; the prefix-dictionary cache it writes
to speed up the next start goes to a private per-user directory under the system temp directory (mode 0700),
never next to the code.  Building the dictionary takes about a second the first time, a few tenths from cache.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .dictionary import DOMAIN_WORDS

__all__ = ["Segmenter", "Token", "default_segmenter"]


@dataclass(frozen=True, slots=True)
class Token:
    """A word and its character offsets [start, end) in the text it was cut from."""

    word: str
    start: int
    end: int


def _cache_dir() -> str:
    """A directory only this user can write, for jieba's cache (a shared /tmp file could be swapped by others)."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    path = os.path.join(tempfile.gettempdir(), f"aftersales-jieba-{uid}")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.lstat(path)
        if stat.S_ISDIR(info.st_mode) and info.st_uid == uid and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return path
    except OSError:
        pass
    return tempfile.mkdtemp(prefix="aftersales-jieba-")


class Segmenter:
    """Cuts Chinese text into words with jieba and the domain dictionary.

    The jieba tokenizer is created and loaded on first use, under a lock, so importing this module is free and
    concurrent first calls build it once.  After loading, cutting only reads the dictionary and is thread-safe.
    """

    def __init__(self, extra_words: Iterable[str] = (), *, use_hmm: bool = True) -> None:
        self._words: tuple[str, ...] = DOMAIN_WORDS + tuple(w for w in extra_words if w.strip())
        self._use_hmm = use_hmm
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        tokenizer = self._tokenizer
        if tokenizer is not None:
            return tokenizer
        with self._lock:
            if self._tokenizer is None:
                import jieba  # imported here: loading jieba costs time and memory the web workers may never need

                logging.getLogger("jieba").setLevel(logging.WARNING)  # no "Building prefix dict" on stderr
                tokenizer = jieba.Tokenizer()
                tokenizer.tmp_dir = _cache_dir()
                tokenizer.cache_file = "jieba.cache"
                tokenizer.initialize()
                for word in self._words:
                    tokenizer.add_word(word)  # frequency suggested by jieba so the word stays whole
                self._tokenizer = tokenizer
            return self._tokenizer

    def tokens(self, text: str) -> list[Token]:
        """Every piece of the text, spaces and punctuation included, with offsets."""
        if not text:
            return []
        raw: Iterable[Any] = self._loaded().tokenize(text, HMM=self._use_hmm)
        return [Token(str(word), int(start), int(end)) for word, start, end in raw]

    def words(self, text: str) -> list[str]:
        """The words of the text, without whitespace pieces."""
        return [token.word for token in self.tokens(text) if token.word.strip()]


_default: Segmenter | None = None
_default_lock = threading.Lock()


def default_segmenter() -> Segmenter:
    """The process-wide segmenter with the domain dictionary (created on first call, once)."""
    global _default
    segmenter = _default
    if segmenter is None:
        with _default_lock:
            if _default is None:
                _default = Segmenter()
            segmenter = _default
    return segmenter
