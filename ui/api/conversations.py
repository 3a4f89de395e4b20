"""Which chat session an OpenAI-style request continues.

OpenAI clients resend the whole history each turn, while our engine keeps the conversation in a session. After a
turn, the digest of the history *including our reply* is remembered with the session id; the next request's
history up to its last user message has that same digest, so it continues the same session, on any worker and
across restarts (the index lives in the SQL database). A history we have not seen (edited, or pruned after a
week) starts a new session, seeded with nothing but its last message.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence

from sqlalchemy import Column, Engine, Float, MetaData, String, Table, delete, insert, select, update

metadata = MetaData()
_index = Table(
    "openai_conversations",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("session_id", String(64), nullable=False),
    Column("created_ts", Float, nullable=False, index=True),
)


def history_digest(key_id: str | None, user: str | None, messages: Sequence[tuple[str, str]]) -> str:
    payload = json.dumps([key_id, user, list(messages)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


class ConversationIndex:
    """digest -> session id, in the SQL database, so every worker behind a load balancer continues the same
    conversation. Entries older than `max_age_s` are pruned as new ones arrive."""

    def __init__(self, engine: Engine, max_age_s: float = 7 * 24 * 3600) -> None:
        self.engine = engine
        self.max_age_s = max_age_s
        self._created = False

    def _table(self) -> Table:
        # Created on first use, not at app construction: the app must start while the database is down.
        if not self._created:
            metadata.create_all(self.engine)
            self._created = True
        return _index

    def find(self, digest: str) -> str | None:
        self._table()
        with self.engine.connect() as conn:
            row = conn.execute(select(_index.c.session_id).where(_index.c.digest == digest)).first()
        return row[0] if row else None

    def remember(self, digest: str, session_id: str) -> None:
        now = time.time()
        self._table()
        with self.engine.begin() as conn:
            conn.execute(delete(_index).where(_index.c.created_ts < now - self.max_age_s))
            if not conn.execute(update(_index).where(_index.c.digest == digest).values(session_id=session_id)).rowcount:
                conn.execute(insert(_index).values(digest=digest, session_id=session_id, created_ts=now))
