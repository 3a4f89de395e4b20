"""Moderation policy: per-category thresholds (flag / review / block), strikes and cooldown, polite refusals.

Loaded from a JSON file (the bundled default, or the operator's own file passed by the caller), so thresholds are
configuration, not code.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, Field

from moderation.verdict import Decision, Verdict

DEFAULT_POLICY_PATH = Path(__file__).parent / "data" / "policy.json"


class Thresholds(BaseModel):
    """A score at or over `flag` is listed in the verdict's flags; over `review` it is queued; over `block` it is
    refused. `None` means never."""

    flag: float = 0.5
    review: float | None = 0.5
    block: float | None = 0.9


class ModerationPolicy(BaseModel):
    thresholds: dict[str, Thresholds] = Field(default_factory=dict)
    review_stops_conversation: bool = False
    strike_limit: int = 3
    cooldown_minutes: int = 30

    @classmethod
    def load(cls, path: Path | None = None) -> ModerationPolicy:
        """The policy in `path`, or the bundled default; a bad file is a `ValueError` naming it."""
        path = path or DEFAULT_POLICY_PATH
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read moderation policy {path}: {exc}") from exc

    def thresholds_for(self, category: str) -> Thresholds:
        return self.thresholds.get(category, Thresholds())

    def decide(self, categories: dict[str, float]) -> tuple[Decision, list[str]]:
        decision: Decision = "allow"
        flags: list[str] = []
        for name, score in categories.items():
            t = self.thresholds_for(name)
            if score >= t.flag:
                flags.append(name)
            if t.block is not None and score >= t.block:
                decision = "block"
            elif t.review is not None and score >= t.review and decision == "allow":
                decision = "review"
        return decision, flags

    def cooldown_until(self, strikes: int, last_strike_at: datetime | None) -> datetime | None:
        """When a user with this many strikes may write again, or None if they are not cooling down."""
        if strikes < self.strike_limit or last_strike_at is None:
            return None
        if last_strike_at.tzinfo is None:
            last_strike_at = last_strike_at.replace(tzinfo=UTC)
        until = last_strike_at + timedelta(minutes=self.cooldown_minutes)
        return until if until > datetime.now(UTC) else None


def detect_language(text: str) -> str:
    """'zh' when Chinese characters make up a fair share of the letters, else 'en'."""
    han = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    letters = sum(1 for ch in text if ch.isalpha())
    return "zh" if letters and han / letters >= 0.3 else "en"


_REFUSALS: dict[str, dict[str, str]] = {
    "en": {
        "default": "Sorry, I can't help with that message. I'm happy to help with products, orders or returns.",
        "prompt_injection": "Sorry, I can't follow instructions that change how I work. "
        "Is there something about our products or your order I can help with?",
        "spam": "Sorry, this message looks like spam, so I can't process it. "
        "If you have a question about a product or an order, please ask it directly.",
        "self_harm": "I'm really sorry you're feeling this way. You don't have to go through it alone: please "
        "reach out to someone you trust or a local crisis line right now. If you are in danger, call your local "
        "emergency number.",
        "cooldown": "Sorry, this conversation is paused for a little while after repeated messages that break our "
        "rules. Please try again later.",
        "image": "Sorry, I can't accept that image. Please send a different one.",
    },
    "zh": {
        "default": "抱歉，这条消息我无法处理。关于商品、订单或退换货的问题，我很乐意帮您。",
        "prompt_injection": "抱歉，我不能执行改变我工作方式的指令。请问有关于商品或订单的问题需要帮忙吗？",
        "spam": "抱歉，这条消息看起来像垃圾信息，无法处理。如有商品或订单问题，请直接告诉我。",
        "self_harm": "听到您这样难受，我真的很抱歉。您并不孤单，请马上联系您信任的人或当地的心理援助热线；"
        "如有危险，请拨打当地急救电话。",
        "cooldown": "抱歉，由于多次发送违反规则的消息，本对话暂停一段时间，请稍后再试。",
        "image": "抱歉，无法接受这张图片，请换一张。",
    },
}


def refusal_message(verdict: Verdict, language: str = "en") -> str:
    """A polite refusal for a blocked verdict, in the user's language ('en' or 'zh'), fitting its main flag."""
    texts = _REFUSALS.get(language, _REFUSALS["en"])
    for key in ("cooldown", "self_harm", "prompt_injection", "spam"):
        if key in verdict.flags:
            return texts[key]
    if "nsfw_image" in verdict.flags or "invalid_image" in verdict.flags:
        return texts["image"]
    return texts["default"]
