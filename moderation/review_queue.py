"""The durable review queue: items (masked content, verdict, context, source), an append-only audit trail, the
allow list fed by approved false alarms, and per-user strikes fed by rejected items.

Portable SQLAlchemy Core tables: SQLite by default, PostgreSQL by URL.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    update,
)

from retrieval.crypto import EncryptedText

metadata = MetaData()

review_items = Table(
    "moderation_review_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # text | image
    # Masked text, or an image description (never raw PII): still what a customer wrote, so encrypted at rest.
    Column("content", EncryptedText, nullable=False),
    Column("content_hash", String(64), nullable=False, index=True),
    Column("verdict", JSON, nullable=False),
    Column("context", JSON, nullable=True),
    Column("source", String(32), nullable=False, index=True),
    Column("user_id", String(128), nullable=True, index=True),
    Column("categories", String(256), nullable=False, default=""),  # flags, comma-joined, for filtering
    Column("status", String(16), nullable=False, index=True, default="pending"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("reviewer", String(128), nullable=True),
    Column("note", Text, nullable=True),
)

review_audit = Table(
    "moderation_review_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("moderation_review_items.id"), nullable=False, index=True),
    Column("action", String(32), nullable=False),  # created | approved | rejected | allow_listed | strike
    Column("actor", String(128), nullable=False),
    Column("note", Text, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
)

allow_list = Table(
    "moderation_allow_list",
    metadata,
    Column("content_hash", String(64), primary_key=True),
    Column("content", EncryptedText, nullable=False),
    Column("item_id", Integer, nullable=True),
    Column("added_by", String(128), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
)

user_strikes = Table(
    "moderation_user_strikes",
    metadata,
    Column("user_id", String(128), primary_key=True),
    Column("strikes", Integer, nullable=False, default=0),
    Column("last_strike_at", DateTime(timezone=True), nullable=True),
)

Status = Literal["pending", "approved", "rejected"]
ReviewDecision = Literal["approve", "reject"]


class ReviewItemNotFound(KeyError):
    pass


class ReviewStateError(ValueError):
    """A decision that the item's state does not allow (e.g. deciding it twice)."""


def content_hash(text: str) -> str:
    """Hash of the normalised masked text: what the allow list matches on."""
    normal = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes; everything stored is UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _item_dict(row: Any) -> dict[str, Any]:
    item = dict(row._mapping)
    item.pop("content_hash", None)
    item["categories"] = [c for c in (item.get("categories") or "").split(",") if c]
    for key in ("created_at", "decided_at"):
        value = _aware(item.get(key))
        item[key] = value.isoformat() if value else None
    return item


class ReviewQueue:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    # --- items -----------------------------------------------------------------------------------------------
    def add(
        self,
        *,
        kind: str,
        content: str,
        verdict: dict[str, Any],
        source: str,
        user_id: str | None = None,
        context: list[Any] | None = None,
    ) -> int:
        now = _now()
        with self.engine.begin() as conn:
            item_id = conn.execute(
                insert(review_items).values(
                    kind=kind,
                    content=content,
                    content_hash=content_hash(content),
                    verdict=json.loads(json.dumps(verdict, default=str)),
                    context=context,
                    source=source,
                    user_id=user_id,
                    categories=",".join(verdict.get("flags", [])),
                    status="pending",
                    created_at=now,
                )
            ).inserted_primary_key[0]
            conn.execute(insert(review_audit).values(item_id=item_id, action="created", actor="system", at=now))
        return int(item_id)

    def pending_count(self) -> int:
        """Items waiting for a reviewer (the queue depth metric)."""
        with self.engine.connect() as conn:
            query = select(func.count()).select_from(review_items).where(review_items.c.status == "pending")
            return int(conn.execute(query).scalar_one())

    def get_item(self, item_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(review_items).where(review_items.c.id == item_id)).first()
        if row is None:
            raise ReviewItemNotFound(f"review item {item_id} not found")
        return _item_dict(row)

    def list_items(
        self,
        status: Status | None = "pending",
        limit: int = 50,
        offset: int = 0,
        category: str | None = None,
        source: str | None = None,
    ) -> list[dict[str, Any]]:
        if limit < 1 or offset < 0:
            raise ValueError("limit must be >= 1 and offset >= 0")
        query = select(review_items).order_by(review_items.c.id.desc()).limit(min(limit, 500)).offset(offset)
        if status is not None:
            query = query.where(review_items.c.status == status)
        if source is not None:
            query = query.where(review_items.c.source == source)
        if category is not None:
            # Comma-joined flags: match the whole name, portable across SQLite and PostgreSQL.
            query = query.where(("," + review_items.c.categories + ",").like(f"%,{category},%"))
        with self.engine.connect() as conn:
            return [_item_dict(r) for r in conn.execute(query)]

    def decide(
        self,
        item_id: int,
        decision: ReviewDecision,
        reviewer: str,
        note: str | None = None,
        *,
        add_to_allow_list: bool = True,
    ) -> dict[str, Any]:
        """Approve (a false alarm: the content was fine) or reject (it was bad). Approved items join the allow
        list; a rejected item is a strike for its user. Each step is written to the audit trail."""
        if decision not in ("approve", "reject"):
            raise ValueError(f"decision must be 'approve' or 'reject', not {decision!r}")
        if not reviewer:
            raise ValueError("a reviewer name is required")
        status: Status = "approved" if decision == "approve" else "rejected"
        now = _now()
        with self.engine.begin() as conn:
            row = conn.execute(select(review_items).where(review_items.c.id == item_id)).first()
            if row is None:
                raise ReviewItemNotFound(f"review item {item_id} not found")
            if row.status != "pending":
                raise ReviewStateError(f"review item {item_id} was already {row.status}")
            conn.execute(
                update(review_items)
                .where(review_items.c.id == item_id)
                .values(status=status, decided_at=now, reviewer=reviewer, note=note)
            )
            conn.execute(insert(review_audit).values(item_id=item_id, action=status, actor=reviewer, note=note, at=now))
            if decision == "approve" and add_to_allow_list and row.kind == "text":
                self._allow(conn, row, reviewer, now)
            if decision == "reject" and row.user_id:
                self._strike(conn, row.user_id, now)
                conn.execute(
                    insert(review_audit).values(
                        item_id=item_id, action="strike", actor=reviewer, note=row.user_id, at=now
                    )
                )
        return self.get_item(item_id)

    # --- audit and stats -------------------------------------------------------------------------------------
    def audit_trail(self, item_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
        query = select(review_audit).order_by(review_audit.c.id).limit(limit)
        if item_id is not None:
            query = query.where(review_audit.c.item_id == item_id)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        for row in rows:
            row["at"] = _aware(row["at"]).isoformat()
        return rows

    def stats(self, days: int = 30) -> list[dict[str, Any]]:
        """Per day: items created and how they were decided, for a chart."""
        since = _now() - timedelta(days=days)
        day = func.date(review_items.c.created_at)
        query = (
            select(day.label("day"), review_items.c.status, func.count().label("n"))
            .where(review_items.c.created_at >= since)
            .group_by(day, review_items.c.status)
            .order_by(day)
        )
        by_day: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                entry = by_day.setdefault(
                    str(row.day), {"day": str(row.day), "pending": 0, "approved": 0, "rejected": 0}
                )
                entry[row.status] = int(row.n)
        return list(by_day.values())

    # --- allow list and strikes ------------------------------------------------------------------------------
    @staticmethod
    def _allow(conn: Any, row: Any, actor: str, now: datetime) -> None:
        exists = conn.execute(select(allow_list.c.content_hash).where(allow_list.c.content_hash == row.content_hash))
        if exists.first() is None:
            conn.execute(
                insert(allow_list).values(
                    content_hash=row.content_hash, content=row.content, item_id=row.id, added_by=actor, added_at=now
                )
            )
            conn.execute(insert(review_audit).values(item_id=row.id, action="allow_listed", actor=actor, at=now))

    def is_allowed(self, masked_text: str) -> bool:
        with self.engine.connect() as conn:
            query = select(allow_list.c.content_hash).where(allow_list.c.content_hash == content_hash(masked_text))
            return conn.execute(query).first() is not None

    @staticmethod
    def _strike(conn: Any, user_id: str, now: datetime) -> None:
        current = conn.execute(select(user_strikes.c.strikes).where(user_strikes.c.user_id == user_id)).first()
        if current is None:
            conn.execute(insert(user_strikes).values(user_id=user_id, strikes=1, last_strike_at=now))
        else:
            conn.execute(
                update(user_strikes)
                .where(user_strikes.c.user_id == user_id)
                .values(strikes=current.strikes + 1, last_strike_at=now)
            )

    def strikes(self, user_id: str) -> tuple[int, datetime | None]:
        with self.engine.connect() as conn:
            row = conn.execute(select(user_strikes).where(user_strikes.c.user_id == user_id)).first()
        return (0, None) if row is None else (int(row.strikes), _aware(row.last_strike_at))
