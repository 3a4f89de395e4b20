"""Which chat session an OpenAI-style request continues.

OpenAI clients resend the whole history each turn, while our engine keeps the conversation in a session. After a
turn, the digest of the history *including our reply* is remembered with the session id; the next request's
history up to its last user message has that same digest, so it continues the same session. A history we have
not seen (edited, or from before a restart) starts a new session, seeded with nothing but its last message.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence


def history_digest(key_id: str | None, user: str | None, messages: Sequence[tuple[str, str]]) -> str:
    payload = json.dumps([key_id, user, list(messages)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


class ConversationIndex:
    def __init__(self, max_entries: int = 20_000) -> None:
        self._max = max_entries
        self._sessions: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def find(self, digest: str) -> str | None:
        with self._lock:
            session_id = self._sessions.get(digest)
            if session_id is not None:
                self._sessions.move_to_end(digest)
            return session_id

    def remember(self, digest: str, session_id: str) -> None:
        with self._lock:
            self._sessions[digest] = session_id
            self._sessions.move_to_end(digest)
            while len(self._sessions) > self._max:
                self._sessions.popitem(last=False)
