"""The words a person would read, for classification: markup, invisible characters and odd spacing removed.

Wrappers change how a text looks to a classifier, not what it says: `<script>x</script>I will hurt them` diluted
a threat into an allow. The decision is taken on the underlying text; the text itself (shown, stored) is unchanged.

    unwrap("<b>I</b> w i l l\u200b hurt")   # UnwrappedText(text="I will hurt", hidden=[])
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field

# Code, styles and comments are not read as prose: kept out of the main text (where a long block would push the
# words past the classifier's window) and judged on their own.
_HIDDEN_BLOCK = re.compile(r"<\s*(script|style)\b[^>]*>(.*?)(?:<\s*/\s*\1\s*>|$)|<!--(.*?)(?:-->|$)", re.I | re.S)
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][\w:-]*(?:\s[^<>]*)?/?\s*>")
_BBCODE = re.compile(r"\[/?(?:b|i|u|s|url|img|color|size|font|quote|code|spoiler)(?:=[^\]]*)?\]", re.I)
# Letters spaced apart ("h u r t"): four or more single characters in a row.
_SPACED = re.compile(r"\b(?:\w ){3,}\w\b")
_SPACES = re.compile(r"[ \t]+")
# Fullwidth Latin letters and digits ("ｈｕｒｔ"); fullwidth punctuation stays, Chinese text uses it.
_FULLWIDTH_RANGES = ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
_FULLWIDTH = {c: c - 0xFEE0 for first, last in _FULLWIDTH_RANGES for c in range(first, last + 1)}


@dataclass(frozen=True)
class UnwrappedText:
    text: str  # the readable words
    hidden: list[str] = field(default_factory=list)  # the text inside script/style blocks and comments


def unwrap(text: str) -> UnwrappedText:
    hidden: list[str] = []

    def _hide(match: re.Match[str]) -> str:
        inner = _readable(match.group(2) or match.group(3) or "")
        if inner:
            hidden.append(inner)
        return " "

    # Entities first: "&lt;script&gt;" is markup once decoded.
    plain = _HIDDEN_BLOCK.sub(_hide, html.unescape(text))
    return UnwrappedText(_readable(plain), hidden)


def _readable(text: str) -> str:
    text = _BBCODE.sub(" ", _TAG.sub(" ", text))
    # Format characters (zero-width spaces and joiners, soft hyphens, direction marks) are invisible.
    text = "".join(" " if unicodedata.category(c) == "Zs" else c for c in text if unicodedata.category(c) != "Cf")
    text = text.translate(_FULLWIDTH)
    text = _SPACED.sub(lambda m: m.group(0).replace(" ", ""), text)
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n")).strip()
