"""Chat sessions persisted in SQL (SQLite by default): the conversation state and its messages survive a restart.

Messages are stored as the model and the logs see them (PII masked); the dialogue state keeps what the store tools
need between turns (the verified user, slots, the products shown, a pending proposal).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    update,
)

from retrieval.crypto import EncryptedText

metadata = MetaData()

sessions_table = Table(
    "chat_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(128), index=True),
    Column("state", EncryptedText, nullable=False),  # encrypted at rest when a key is configured
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

messages_table = Table(
    "chat_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(64), ForeignKey("chat_sessions.id", ondelete="CASCADE"), index=True, nullable=False),
    Column("role", String(16), nullable=False),
    Column("content", EncryptedText, nullable=False),
    Column("intent", String(32)),
    Column("prompt_version", String(64)),
    Column("model_id", String(128)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class ShownProduct(BaseModel):
    """A product card the user has seen, with what references ("the black one", "the cheaper one") resolve on."""

    id: str
    title: str
    price: float | None = None
    currency: str = "USD"
    in_stock: bool = True
    brand: str = ""
    text: str = ""  # lower-cased title + options/colour words, for matching descriptions


class PendingAction(BaseModel):
    """A store change proposed to the user and waiting for an explicit yes (re-checked by the store on yes)."""

    name: str
    arguments: dict[str, Any]
    summary: str
    intent: str


class QueuedErrand(BaseModel):
    """An errand the customer asked for in the same message as another, waiting its turn on the agenda."""

    errand: str  # an `Errand` of the typed commands ("cancel", "return", ...)
    order_id: str | None = None
    items: list[str] = Field(default_factory=list)  # the items as the customer described them
    text: str = ""  # the customer's words, read again for its details (a reason, a payment) when its turn comes


class OpenQuestion(BaseModel):
    """The question the conversation waits on: `key` names it (the same key is the same question), `brief` is its
    short form, repeated once after a digression."""

    key: str
    brief: str


class DialogueState(BaseModel):
    language: str = "en"
    verified_user_id: str | None = None
    slots: dict[str, Any] = Field(default_factory=dict)
    pending_intent: str | None = None
    pending_action: PendingAction | None = None
    shown: list[ShownProduct] = Field(default_factory=list)
    focus_id: str | None = None
    last_query: str | None = None
    last_filters: dict[str, Any] = Field(default_factory=dict)
    failed_identity: int = 0
    # Verified by an email alone (no signed-in caller): what that unlocks is the store's policy choice.
    email_only: bool = False
    # The conversation's PII placeholders ("[EMAIL_1]" -> the value), kept so each value keeps its placeholder from
    # turn to turn; part of the state, so encrypted at rest with it, and never logged.
    pii: dict[str, str] = Field(default_factory=dict, repr=False)
    # The dialogue manager's memory (defaults, so sessions saved before them load): errands still to do after the
    # current one, the open question, and how often each question was asked in this errand (never a third time in
    # the same words).
    agenda: list[QueuedErrand] = Field(default_factory=list)
    open_question: OpenQuestion | None = None
    asked: dict[str, int] = Field(default_factory=dict)
    # Digests of the last two replies' texts: a third identical reply in a row is never sent.
    recent_replies: list[str] = Field(default_factory=list)


class Message(BaseModel):
    role: str
    content: str


class ChatSession(BaseModel):
    id: str
    user_id: str | None = None
    state: DialogueState = Field(default_factory=DialogueState)


class SessionStore:
    """Loads and saves sessions; `history` returns the most recent messages that fit a character budget."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def load_or_create(self, session_id: str | None, user_id: str | None) -> ChatSession:
        if session_id:
            with self.engine.connect() as conn:
                row = conn.execute(select(sessions_table).where(sessions_table.c.id == session_id)).first()
            if row is not None:
                return ChatSession(id=row.id, user_id=row.user_id, state=DialogueState.model_validate_json(row.state))
        session = ChatSession(id=session_id or uuid.uuid4().hex, user_id=user_id)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                insert(sessions_table).values(
                    id=session.id,
                    user_id=user_id,
                    state=session.state.model_dump_json(),
                    created_at=now,
                    updated_at=now,
                )
            )
        return session

    def save_turn(self, session: ChatSession, messages: list[dict[str, Any]]) -> None:
        """Writes the new state and the turn's messages in one transaction."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                update(sessions_table)
                .where(sessions_table.c.id == session.id)
                .values(state=session.state.model_dump_json(), user_id=session.user_id, updated_at=now)
            )
            if messages:
                conn.execute(
                    insert(messages_table), [{**m, "session_id": session.id, "created_at": now} for m in messages]
                )

    def history(self, session_id: str, budget_chars: int = 1500, max_messages: int = 8) -> list[Message]:
        """The latest messages, newest last, that fit in `budget_chars` (the prompt stays short for a small model)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(messages_table.c.role, messages_table.c.content)
                .where(messages_table.c.session_id == session_id)
                .order_by(messages_table.c.id.desc())
                .limit(max_messages)
            ).all()
        kept: list[Message] = []
        used = 0
        for role, content in rows:
            if used + len(content) > budget_chars:
                break
            kept.append(Message(role=role, content=content))
            used += len(content)
        return kept[::-1]

    def exists(self, session_id: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(select(sessions_table.c.id).where(sessions_table.c.id == session_id)).first() is not None
            )

    def message_count(self, session_id: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(messages_table).where(messages_table.c.session_id == session_id)
            ).scalar_one()

    def erase_user(self, user_id: str) -> int:
        """Deletes every session (and its messages) of a user; returns how many sessions went."""
        with self.engine.begin() as conn:
            ids = [r[0] for r in conn.execute(select(sessions_table.c.id).where(sessions_table.c.user_id == user_id))]
            if ids:
                conn.execute(delete(messages_table).where(messages_table.c.session_id.in_(ids)))
                conn.execute(delete(sessions_table).where(sessions_table.c.id.in_(ids)))
        return len(ids)
