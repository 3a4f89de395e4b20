"""The moderation verdict: the one object every caller (chat, widget, API, CLI, review queue) receives."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Decision = Literal["allow", "review", "block"]

# The public category names of the interface, in a stable order (reports and plots use it).
TEXT_CATEGORIES: tuple[str, ...] = (
    "harassment",
    "hate",
    "sexual",
    "violence",
    "self_harm",
    "spam",
    "prompt_injection",
    "pii",
)

_SEVERITY = {"allow": 0, "review": 1, "block": 2}


class Verdict(BaseModel):
    """`categories` holds a probability-like score in [0, 1] per category that applies; `flags` the ones over
    their review threshold; `redacted_text` is what the LLM, the logs and the review queue may see."""

    decision: Decision = "allow"
    categories: dict[str, float] = Field(default_factory=dict)
    flags: list[str] = Field(default_factory=list)
    redacted_text: str | None = None
    review_id: int | None = None


def stricter(a: Decision, b: Decision) -> Decision:
    """The more severe of two decisions."""
    return a if _SEVERITY[a] >= _SEVERITY[b] else b
