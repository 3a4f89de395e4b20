"""Which language a message is written in: Chinese when it contains CJK ideographs, English otherwise."""

from __future__ import annotations

import re

Language = str  # "en" | "zh"

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def detect_language(text: str, default: Language = "en") -> Language:
    if _CJK.search(text):
        return "zh"
    if re.search(r"[A-Za-z]", text):
        return "en"
    return default
