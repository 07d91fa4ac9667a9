"""Error signatures: an error text with its variable parts masked, so one cause is one group.

"Object obj_9f73… exceeds the 2 GiB size limit (3862 MiB)" and "Object obj_b7ac… exceeds the 2 GiB size limit
(8657 MiB)" share the key "Object <id> exceeds the <size> size limit (<size>)". Masks are applied in a fixed
order, most specific first (a URL holds paths and numbers; an id holds hex). Each masked part keeps its original
value, so a group can show again what turned out to be the same in all its tasks (the "2 GiB" above), and mask
only what varies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SCANNED_TEXT = 2_000
"""Characters of an error text that are read (a hostile 1 MB error costs no more than this)."""
MAX_KEY_LENGTH = 300
"""Longest signature key; longer texts are cut (their tails rarely tell causes apart)."""

ID_PREFIXES = (
    "obj",
    "btch",
    "batch",
    "bkt",
    "col",
    "ns",
    "clust",
    "tax",
    "ret",
    "ray_job",
    "job",
    "task",
    "doc",
    "feat",
    "upl",
    "usr",
    "org",
    "ext",
    "eval",
    "snap",
    "mig",
    "run",
)

# (placeholder, pattern) in the order they are applied; each match becomes the placeholder.
MASKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("<url>", re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\s'\"<>()\[\]{},]*[^\s'\"<>()\[\]{},.:;!?]")),
    ("<uuid>", re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")),
    ("<email>", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("<time>", re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")),
    ("<version>", re.compile(r"(?<![\w.])(?:v\d+(?:\.\d+){1,3}|\d+\.\d+\.\d+(?:\.\d+)?)(?:-[0-9A-Za-z.]+)?(?![\w.])")),
    ("<id>", re.compile(r"\b(?:" + "|".join(ID_PREFIXES) + r")_[A-Za-z0-9_-]+")),
    ("<id>", re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:[_-][A-Za-z0-9]+)*[_-](?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{3,}\b")),
    # snake_case names and ids without digits (raysubmit_xKqvTzPaLm, nightly_catalog_sync): one placeholder with
    # the digitful ids above, so an id that happens to hold no digit still lands in its cause's group
    ("<id>", re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b")),
    ("<ip>", re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b")),
    ("<path>", re.compile(r"(?<![\w/])(?:[A-Za-z]:)?(?:/[\w.@%+-]+){2,}/?")),
    ("<hex>", re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{6,}\b")),
    ("<size>", re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?(?:[KMGTP]i?B|[KMGTP]i|bytes|B)\b")),
    ("'<name>'", re.compile(r"'[^'\n]{1,80}'")),
    ('"<name>"', re.compile(r'"[^"\n]{1,80}"')),
    ("<CODE>", re.compile(r"\b[A-Z][A-Z0-9]{1,7}\b")),
    ("<n>", re.compile(r"(?<![\w.])[-+]?\d+(?:[.,]\d+)*")),
)
PLACEHOLDER = re.compile("|".join(re.escape(name) for name in dict.fromkeys(name for name, _ in MASKS)))
_MARK = "\ue000"
"""Brackets a masked part while later masks run, so no mask reads another's placeholder. Private-use characters:
no pattern's letters, digits or word characters match them."""
_INDEX_BASE = 0xF0000


@dataclass(frozen=True)
class Signature:
    """``key``: the masked text (what groups are keyed on); ``values``: what each placeholder replaced."""

    key: str
    values: tuple[str, ...]


def signature_of(text: str) -> Signature:
    """Mask the variable parts of an error text (see the module docstring)."""
    text = " ".join(text[:MAX_SCANNED_TEXT].split())
    found: list[tuple[int, str, str]] = []  # (position in the marked text, placeholder, original)
    for placeholder, pattern in MASKS:
        pieces: list[str] = []
        last = 0
        for match in pattern.finditer(text):
            if _MARK in match.group(0):
                continue
            pieces.append(text[last : match.start()])
            pieces.append(_MARK + chr(_INDEX_BASE + len(found)) + _MARK)
            found.append((0, placeholder, match.group(0)))
            last = match.end()
        if pieces:
            pieces.append(text[last:])
            text = "".join(pieces)
    parts = text.split(_MARK)
    key_parts: list[str] = []
    values: list[str] = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            key_parts.append(part)
        else:
            _, placeholder, original = found[ord(part) - _INDEX_BASE]
            key_parts.append(placeholder)
            values.append(original)
    key = "".join(key_parts)
    if len(key) > MAX_KEY_LENGTH:
        key = key[: MAX_KEY_LENGTH - 1] + "…"
        values = values[: len(PLACEHOLDER.findall(key))]
    return Signature(key, tuple(values))


VARIES: None = None


def merge_values(known: list[str | None], values: tuple[str, ...]) -> None:
    """Fold one more task's placeholder values into a group's: a position whose value differs now varies."""
    for index, value in enumerate(values[: len(known)]):
        if known[index] is not VARIES and known[index] != value:
            known[index] = VARIES


def display(key: str, known: list[str | None]) -> str:
    """The key with every placeholder whose value was the same in all the group's tasks put back."""
    values = iter(known)

    def put_back(match: re.Match[str]) -> str:
        value = next(values, VARIES)
        return match.group(0) if value is VARIES else value

    return PLACEHOLDER.sub(put_back, key)


def literal_runs(text: str, *, minimum: int = 6) -> list[str]:
    """The stretches of a displayed signature with no placeholder, longest first: what every task of the group
    contains word for word, so a ``contains`` filter on them finds the group's tasks."""
    runs = []
    for piece in PLACEHOLDER.split(text.rstrip("…")):
        run = piece.strip(" \t:;,.()[]{}'\"-=")
        if len(run) >= minimum:
            runs.append(run)
    return sorted(dict.fromkeys(runs), key=len, reverse=True)
