"""Checks a streamed reply sentence by sentence: each sentence is released as soon as it is complete and has
passed, so the user still sees the reply stream; a sentence that the policy would block is replaced by a short
notice and the rest of the reply is dropped.

    guard = moderator.stream_guard(language="en")
    for token in llm_tokens:
        for safe in guard.feed(token):
            send(safe)
    for safe in guard.finish():
        send(safe)
"""

from __future__ import annotations

import re
from collections.abc import Callable

from moderation.verdict import Decision

# Harm categories only: a reply quoting prices and links is not spam, and the model's own words are not an
# injection into itself.
OUTPUT_CATEGORIES: tuple[str, ...] = ("harassment", "hate", "sexual", "violence", "self_harm")
_SENTENCE_END = re.compile(r"[.!?。！？；;\n]+[\"'”’)]*(?:\s+|$)|[。！？；]")
# A sentence that never ends is released in pieces this long, cut at a space where there is one.
MAX_PENDING_CHARS = 240

_NOTICE = {
    "en": "[Part of this reply was removed by the content filter.]",
    "zh": "[部分回复内容已被内容过滤器移除。]",
}

SentenceCheck = Callable[[str], tuple[Decision, list[str]]]


class StreamGuard:
    def __init__(self, check: SentenceCheck, language: str = "en") -> None:
        self._check = check
        self._language = language
        self._pending = ""
        self.stopped = False
        self.flags: list[str] = []

    def feed(self, token: str) -> list[str]:
        """The pieces of text that may be shown now (possibly none)."""
        if self.stopped:
            return []
        self._pending += token
        out: list[str] = []
        while not self.stopped:
            cut = self._next_cut()
            if cut is None:
                break
            piece, self._pending = self._pending[:cut], self._pending[cut:]
            out.extend(self._release(piece))
        return out

    def finish(self) -> list[str]:
        """Checks and releases whatever is left at the end of the stream."""
        if self.stopped or not self._pending.strip():
            self._pending = ""
            return []
        piece, self._pending = self._pending, ""
        return self._release(piece)

    def _next_cut(self) -> int | None:
        match = _SENTENCE_END.search(self._pending)
        # "59." at the end of the buffer may still become "59.99": a Latin stop counts once something follows it.
        if match and (match.end() < len(self._pending) or match.group(0)[-1] in " \t\n。！？；"):
            return match.end()
        if len(self._pending) > MAX_PENDING_CHARS:
            space = self._pending.rfind(" ", 0, MAX_PENDING_CHARS)
            return space + 1 if space > 0 else MAX_PENDING_CHARS
        return None

    def _release(self, piece: str) -> list[str]:
        if not piece.strip():
            return [piece]
        decision, flags = self._check(piece)
        if decision == "block":
            self.stopped = True
            self.flags = flags
            return [_NOTICE.get(self._language, _NOTICE["en"])]
        return [piece]
