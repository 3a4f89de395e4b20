"""References to products already shown: "the second one", "the cheaper one", "the Sony one", "那个黑色的".

Resolution works on the session's list of shown products; nothing is guessed when nothing matches.
"""

from __future__ import annotations

import re

from assistant.sessions import ShownProduct

_ORDINALS_EN = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3, "fifth": 4, "5th": 4,
}  # fmt: skip
_ORDINALS_ZH = {"一": 0, "二": 1, "两": 1, "三": 2, "四": 3, "五": 4}
_ORDINAL_EN = re.compile(r"\b(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th)\b", re.IGNORECASE)
_NUMBERED = re.compile(r"(?:#|\bnumber\s*|\bno\.?\s*|\boption\s*|\bitem\s*)([1-9])\b", re.IGNORECASE)
_ORDINAL_ZH = re.compile(r"第\s*([一二三四五1-5])\s*(?:个|款|件|台|种|项)?")
_LAST = re.compile(r"\b(last|final|bottom)\b(?! (week|month|year|time))|最后(一)?(个|款)?", re.IGNORECASE)
_CHEAPER = re.compile(r"\b(cheap(er|est)?|less expensive|lowest[- ]priced|affordable)\b|便宜", re.IGNORECASE)
_PRICIER = re.compile(r"\b(more expensive|most expensive|pricier|priciest|expensive|premium)\b|贵", re.IGNORECASE)
_BOTH = re.compile(r"\b(both|these two|the two|them|those two)\b|(这|那)?两(个|款)|二者|它们", re.IGNORECASE)
_ALL = re.compile(r"\b(all( of them)?|these|those)\b|(这|那)些|全部|都", re.IGNORECASE)
_FIRST_N = re.compile(r"\b(?:first|top)\s+(two|three|four|2|3|4)\b|前\s*([两二三四234])\s*(?:个|款)?", re.I)
_COUNTS = {"two": 2, "three": 3, "four": 4, "两": 2, "二": 2, "三": 3, "四": 4}
_PRONOUN = re.compile(r"\b(it|this( one)?|that( one)?|the one)\b|它|这个|那个|这款|那款", re.IGNORECASE)

COLOURS_ZH = {
    "黑": "black", "白": "white", "红": "red", "蓝": "blue", "绿": "green", "灰": "grey", "银": "silver",
    "金": "gold", "粉": "pink", "紫": "purple", "棕": "brown", "黄": "yellow", "橙": "orange",
}  # fmt: skip
COLOURS_EN = (
    "black", "white", "red", "blue", "green", "grey", "gray", "silver", "gold", "pink", "purple", "brown",
    "yellow", "orange", "beige", "navy",
)  # fmt: skip


def descriptive_words(text: str) -> list[str]:
    """Colour words in the message, Chinese colours translated to the catalog's English words."""
    lowered = text.lower()
    words = [c for c in COLOURS_EN if re.search(rf"\b{c}\b", lowered)]
    words += [en for zh, en in COLOURS_ZH.items() if f"{zh}色" in text or f"{zh}的" in text]
    return ["gray" if w == "grey" else w for w in words]


def resolve(text: str, shown: list[ShownProduct], focus_id: str | None = None) -> list[ShownProduct]:
    """The shown products the message points at, in the order mentioned; empty when it points at none."""
    if not shown:
        return []
    if first_n := _FIRST_N.search(text):
        token = next(g for g in first_n.groups() if g)
        count = _COUNTS.get(token.lower(), 0) or (int(token) if token.isdigit() else 2)
        return shown[:count]
    picked: list[int] = []
    for match in _ORDINAL_EN.finditer(text):
        picked.append(_ORDINALS_EN[match.group(1).lower()])
    for match in _NUMBERED.finditer(text):
        picked.append(int(match.group(1)) - 1)
    for match in _ORDINAL_ZH.finditer(text):
        token = match.group(1)
        picked.append(int(token) - 1 if token.isdigit() else _ORDINALS_ZH[token])
    if _LAST.search(text):
        picked.append(len(shown) - 1)
    picked = [i for i in dict.fromkeys(picked) if 0 <= i < len(shown)]
    if picked:
        return [shown[i] for i in picked]

    priced = [p for p in shown if p.price is not None]
    if priced and _CHEAPER.search(text) and re.search(r"\bone\b|的|款|个|option|pick", text, re.IGNORECASE):
        return [min(priced, key=lambda p: p.price or 0.0)]
    if priced and _PRICIER.search(text) and re.search(r"\bone\b|的|款|个|option|pick", text, re.IGNORECASE):
        return [max(priced, key=lambda p: p.price or 0.0)]

    by_words = _match_descriptions(text, shown)
    if by_words:
        return by_words
    if _BOTH.search(text):
        return shown[:2]
    if _ALL.search(text):
        return list(shown)
    if _PRONOUN.search(text):
        focus = next((p for p in shown if p.id == focus_id), None)
        return [focus or shown[0]]
    return []


def _match_descriptions(text: str, shown: list[ShownProduct]) -> list[ShownProduct]:
    """Products whose colour or brand the message names ("the black one", "the Sony")."""
    words = descriptive_words(text)
    lowered = text.lower()
    hits = [p for p in shown if words and all(re.search(rf"\b{w}\b", p.text) for w in words)]
    if hits and len(hits) < len(shown):
        return hits
    brands = [p for p in shown if p.brand and re.search(rf"\b{re.escape(p.brand.lower())}\b", lowered)]
    if brands and len(brands) < len(shown):
        return brands
    return []
