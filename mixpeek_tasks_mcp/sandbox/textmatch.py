"""The text operators ``phrase`` and ``words`` as SQL functions (ASCII case-insensitive, whole words)."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"\w+")


@lru_cache(maxsize=256)
def _phrase_pattern(phrase: str) -> re.Pattern[str] | None:
    words = _WORD.findall(phrase)
    if not words:
        return None
    return re.compile(r"\b" + r"\W+".join(re.escape(word) for word in words) + r"\b", re.IGNORECASE)


@lru_cache(maxsize=256)
def _word_patterns(text: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(r"\b" + re.escape(word) + r"\b", re.IGNORECASE) for word in _WORD.findall(text))


def phrase_match(value: object, phrase: str | None) -> bool:
    """The phrase's words appear consecutively (any non-word characters between them), as whole words."""
    if not isinstance(value, str) or phrase is None:
        return False
    pattern = _phrase_pattern(phrase)
    return pattern is None or pattern.search(value) is not None


def words_match(value: object, words: str | None) -> bool:
    """Every word of ``words`` appears somewhere in the value as a whole word (no stemming)."""
    if not isinstance(value, str) or words is None:
        return False
    return all(pattern.search(value) for pattern in _word_patterns(words))
