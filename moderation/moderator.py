"""The moderation facade: every text and image a user sends goes through `Moderator` before the model, the logs or
the store see it.

    verdict = moderator.check_text(message, user_id="u1", source="chat", context=recent_turns)
    verdict.redacted_text      # what the LLM and the logs see
    verdict.decision           # allow | review | block
    masked, pii_map = moderator.mask_pii(message)   # pii_map.restore(...) gives store tools the real values

Doubtful inputs are queued for review (with masked content only); approved false alarms join the allow list;
rejected items are strikes against their user, and the policy's cooldown blocks a user over the strike limit.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from moderation.image_checks import ImageLimits, NsfwScorer, validate_image
from moderation.injection import detect_in_retrieved, neutralise
from moderation.pii import PiiMap, mask_pii
from moderation.policy import ModerationPolicy, detect_language, refusal_message
from moderation.review_queue import ReviewDecision, ReviewQueue, Status
from moderation.stream_guard import OUTPUT_CATEGORIES, StreamGuard
from moderation.text_checks import TextClassifier
from moderation.verdict import Decision, Verdict

# Longer inputs are cut before classification: the verdict must stay fast, and a flood of text is itself suspect.
MAX_TEXT_CHARS = 8000


def masked_turn(turn: object) -> dict[str, str]:
    """A conversation turn as the review queue keeps it: `{"role", "content"}`, personal data masked (a bare
    string is a turn whose speaker is unknown)."""
    if isinstance(turn, Mapping):
        return {"role": str(turn.get("role") or "turn"), "content": mask_pii(str(turn.get("content") or ""))[0]}
    return {"role": "turn", "content": mask_pii(str(turn))[0]}


class Moderator:
    def __init__(
        self,
        engine: Engine | None = None,
        *,
        policy: ModerationPolicy | None = None,
        policy_path: Path | None = None,
        image_limits: ImageLimits | None = None,
    ) -> None:
        self.policy = policy or ModerationPolicy.load(policy_path)
        self.queue = ReviewQueue(engine) if engine is not None else None
        self.image_limits = image_limits or ImageLimits()
        self._text: TextClassifier | None = None
        self._nsfw: NsfwScorer | None = None
        self._load_lock = threading.Lock()

    # --- models, loaded on first use -------------------------------------------------------------------------
    @property
    def text_classifier(self) -> TextClassifier:
        with self._load_lock:
            if self._text is None:
                self._text = TextClassifier()
            return self._text

    @property
    def nsfw(self) -> NsfwScorer:
        with self._load_lock:
            if self._nsfw is None:
                self._nsfw = NsfwScorer()
            return self._nsfw

    def warm_up(self) -> None:
        """Loads the models now rather than on the first message."""
        self.check_text("hello", enqueue=False)
        _ = self.nsfw

    # --- PII -------------------------------------------------------------------------------------------------
    @staticmethod
    def mask_pii(text: str, pii_map: PiiMap | None = None) -> tuple[str, PiiMap]:
        return mask_pii(text, pii_map)

    @staticmethod
    def restore(text: str, pii_map: PiiMap) -> str:
        return pii_map.restore(text)

    # --- checks ----------------------------------------------------------------------------------------------
    def check_text(
        self,
        text: str,
        *,
        user_id: str | None = None,
        source: str = "chat",
        context: list[Any] | None = None,
        pii_map: PiiMap | None = None,
        enqueue: bool = True,
    ) -> Verdict:
        """Scores every category, masks PII, applies the policy and (for 'review'/'block') queues the masked text.
        Pass the conversation's `pii_map` to keep placeholders stable across turns."""
        redacted, pii_map = mask_pii(text, pii_map)
        return self.check_texts(
            [text], user_id=user_id, source=source, context=context, enqueue=enqueue, redacted=[redacted]
        )[0]

    def check_texts(
        self,
        texts: list[str],
        *,
        user_id: str | None = None,
        source: str = "api",
        context: list[Any] | None = None,
        enqueue: bool = True,
        redacted: list[str] | None = None,
    ) -> list[Verdict]:
        """Batch form of `check_text` (one embedding pass for all texts)."""
        redacted = redacted or [mask_pii(t)[0] for t in texts]
        scores = self.text_classifier.score_batch([t[:MAX_TEXT_CHARS] for t in texts])
        cooldown = self._cooldown(user_id)
        verdicts = []
        for text, masked, score in zip(texts, redacted, scores, strict=True):
            categories = dict(score.categories)
            categories["pii"] = 1.0 if masked != text else 0.0
            decision, flags = self.policy.decide(categories)
            if decision != "allow" and self.queue is not None and self.queue.is_allowed(masked):
                decision = "allow"  # a reviewer approved this very text before
            if cooldown:
                decision, flags = "block", [*flags, "cooldown"]
            verdict = Verdict(decision=decision, categories=categories, flags=flags, redacted_text=masked)
            if enqueue and decision != "allow" and not cooldown and self.queue is not None:
                verdict.review_id = self.queue.add(
                    kind="text",
                    content=masked,
                    verdict=verdict.model_dump(),
                    source=source,
                    user_id=user_id,
                    context=[masked_turn(turn) for turn in context] if context else None,
                )
            verdicts.append(verdict)
        return verdicts

    def check_image(
        self,
        data: bytes,
        *,
        filename: str | None = None,
        user_id: str | None = None,
        source: str = "chat",
        enqueue: bool = True,
    ) -> Verdict:
        """Raises `ImageRejected` (a `ValueError`) for a file that is not an acceptable image."""
        info, image = validate_image(data, filename, self.image_limits)
        categories = {"nsfw_image": round(self.nsfw.score(image), 4)}
        decision, flags = self.policy.decide(categories)
        if self._cooldown(user_id):
            decision, flags = "block", [*flags, "cooldown"]
        verdict = Verdict(decision=decision, categories=categories, flags=flags)
        if enqueue and decision != "allow" and self.queue is not None and "cooldown" not in flags:
            # The queue keeps a description, not the pixels: reviewers see scores and facts.
            description = f"{info.format} image {info.width}x{info.height}, {info.size_bytes} bytes"
            if filename:
                description += f" ({Path(filename).name})"
            verdict.review_id = self.queue.add(
                kind="image", content=description, verdict=verdict.model_dump(), source=source, user_id=user_id
            )
        return verdict

    @staticmethod
    def check_retrieved(text: str) -> tuple[str, Verdict]:
        """For retrieved content (a product description, a tool result): the text with injected instructions
        neutralised, and a verdict that flags the injection (or the planted payment instruction). Nothing is
        queued."""
        result = detect_in_retrieved(text)
        flagged = result.score >= 0.5
        verdict = Verdict(
            decision="review" if flagged else "allow",
            categories={"prompt_injection": result.score},
            flags=["prompt_injection"] if flagged else [],
            redacted_text=neutralise(text) if flagged else text,
        )
        return verdict.redacted_text or "", verdict

    def check_output(self, text: str) -> tuple[Decision, list[str]]:
        """The policy's decision on a piece of the model's reply, over the harm categories only."""
        scores = self.text_classifier.score(text[:MAX_TEXT_CHARS]).categories
        return self.policy.decide({c: scores[c] for c in OUTPUT_CATEGORIES})

    def stream_guard(self, language: str = "en") -> StreamGuard:
        """A guard for one streamed reply (see `moderation.stream_guard`)."""
        return StreamGuard(self.check_output, language)

    def refusal_message(self, verdict: Verdict, language: str | None = None, text: str | None = None) -> str:
        """A polite refusal in `language`, or in the language of `text` when no language is given."""
        return refusal_message(verdict, language or detect_language(text or verdict.redacted_text or ""))

    def stops_conversation(self, verdict: Verdict) -> bool:
        """Whether the reply must be a refusal: always for 'block'; for 'review' only if the policy says so."""
        return verdict.decision == "block" or (verdict.decision == "review" and self.policy.review_stops_conversation)

    # --- review queue ----------------------------------------------------------------------------------------
    def _require_queue(self) -> ReviewQueue:
        if self.queue is None:
            raise RuntimeError("this moderator has no review queue (no database engine was given)")
        return self.queue

    def _cooldown(self, user_id: str | None) -> bool:
        if user_id is None or self.queue is None:
            return False
        strikes, last = self.queue.strikes(user_id)
        return self.policy.cooldown_until(strikes, last) is not None

    def list_items(
        self,
        status: Status | None = "pending",
        limit: int = 50,
        offset: int = 0,
        category: str | None = None,
        source: str | None = None,
    ) -> list[dict[str, Any]]:
        return self._require_queue().list_items(status, limit, offset, category, source)

    def get_item(self, item_id: int) -> dict[str, Any]:
        return self._require_queue().get_item(item_id)

    def decide(self, item_id: int, decision: ReviewDecision, reviewer: str, note: str | None = None) -> dict[str, Any]:
        return self._require_queue().decide(item_id, decision, reviewer, note)

    def audit_trail(self, item_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
        return self._require_queue().audit_trail(item_id, limit)

    def review_stats(self, days: int = 30) -> list[dict[str, Any]]:
        return self._require_queue().stats(days)

    def strikes(self, user_id: str) -> int:
        return self._require_queue().strikes(user_id)[0]
