"""Which chat session a request continues, and who may continue it.

Sessions are bound to who started them: the key and the user the request acted for (`Caller.owner`). A session id
named by a request with another key or another user is refused (403 `session_forbidden`), so knowing a session id
is not enough to read or act in someone's verified conversation. A session that exists but was not started through
the keyed API (the terminal chat, the keyless demo) cannot be continued by a keyed caller either. On the keyless
loopback demo everything stays open.

OpenAI clients resend the whole history each turn, while our engine keeps the conversation in a session. A
conversation is continued only by an explicit id the caller holds: the `X-Conversation-ID` header or the
`conversation_id` field (or the engine's own `session_id`), looked up under the caller's key and `user`, never by
matching the history (two callers who send the same opening must not share a conversation). Without one, each
request starts a new session seeded with nothing but its last message. The index lives in the SQL database, so
every worker behind a load balancer continues the same conversation, across restarts.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid

import anyio.to_thread
import sqlalchemy.exc
from sqlalchemy import Column, Engine, Float, MetaData, String, Table, delete, insert, select, update

from assistant.sessions import SessionStore
from ui.api.errors import ApiError
from ui.api.security import Caller

metadata = MetaData()
_index = Table(
    "openai_conversations",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("session_id", String(64), nullable=False),
    Column("created_ts", Float, nullable=False, index=True),
)
_owners = Table(
    "chat_session_owners",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("created_ts", Float, nullable=False),
)


def conversation_digest(owner: str, conversation_id: str) -> str:
    payload = json.dumps(["conversation", owner, conversation_id], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _forbidden() -> ApiError:
    return ApiError(
        403,
        "session_forbidden",
        "this session belongs to another key or user; start a new conversation (leave session_id out)",
    )


class ConversationIndex:
    """(owner, conversation id) -> session id, and session id -> owner, in the SQL database. Conversation entries
    older than `max_age_s` are pruned as new ones arrive."""

    def __init__(self, engine: Engine, max_age_s: float = 7 * 24 * 3600) -> None:
        self.engine = engine
        self.max_age_s = max_age_s
        self._created = False

    def _tables(self) -> None:
        # Created on first use, not at app construction: the app must start while the database is down.
        if not self._created:
            metadata.create_all(self.engine)
            self._created = True

    def find(self, digest: str) -> str | None:
        self._tables()
        with self.engine.connect() as conn:
            row = conn.execute(select(_index.c.session_id).where(_index.c.digest == digest)).first()
        return row[0] if row else None

    def remember(self, digest: str, session_id: str) -> None:
        now = time.time()
        self._tables()
        with self.engine.begin() as conn:
            conn.execute(delete(_index).where(_index.c.created_ts < now - self.max_age_s))
            if not conn.execute(update(_index).where(_index.c.digest == digest).values(session_id=session_id)).rowcount:
                conn.execute(insert(_index).values(digest=digest, session_id=session_id, created_ts=now))

    def owner_of(self, session_id: str) -> str | None:
        self._tables()
        with self.engine.connect() as conn:
            row = conn.execute(select(_owners.c.owner).where(_owners.c.session_id == session_id)).first()
        return row[0] if row else None

    def claim(self, session_id: str, owner: str) -> bool:
        """Binds an unowned session id to `owner`; True when it is (now) theirs. Two first claims at once: one wins."""
        self._tables()
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_owners).values(session_id=session_id, owner=owner, created_ts=time.time()))
            return True
        except sqlalchemy.exc.IntegrityError:
            return self.owner_of(session_id) == owner

    def resolve(
        self, caller: Caller, user_id: str | None, session_id: str | None, sessions: SessionStore
    ) -> str | None:
        """The session this request may use: the named one if it is the caller's, else a new one bound to them.
        Blocking (SQL): call it from a worker thread."""
        if caller.kind == "local":
            return session_id  # the keyless loopback demo: everything open
        owner = caller.owner(user_id)
        if session_id is None:
            session_id = uuid.uuid4().hex
            self.claim(session_id, owner)
            return session_id
        recorded = self.owner_of(session_id)
        if recorded is None:
            # Not started through the keyed API: another front end's session, or an id nobody has used yet.
            if sessions.exists(session_id) or not self.claim(session_id, owner):
                raise _forbidden()
            return session_id
        if recorded != owner:
            raise _forbidden()
        return session_id

    def resolve_conversation(
        self, caller: Caller, user_id: str | None, conversation_id: str, sessions: SessionStore
    ) -> str:
        """The session of the caller's own conversation `conversation_id` (a new one the first time). Blocking."""
        digest = conversation_digest(caller.owner(user_id), conversation_id)
        found = self.find(digest)
        if found is not None:
            resolved = self.resolve(caller, user_id, found, sessions)
            return resolved or found
        session_id = self.resolve(caller, user_id, None, sessions) or uuid.uuid4().hex
        self.remember(digest, session_id)
        return session_id


async def resolve_session(
    request_state: object, caller: Caller, user_id: str | None, session_id: str | None
) -> str | None:
    """`ConversationIndex.resolve` off the event loop, for the chat routes."""
    index: ConversationIndex = request_state.conversations  # type: ignore[attr-defined]
    sessions = request_state.runtime.sessions  # type: ignore[attr-defined]
    return await anyio.to_thread.run_sync(lambda: index.resolve(caller, user_id, session_id, sessions))
