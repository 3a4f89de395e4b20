"""Behaviour events: validation, durable storage and the one ingestion path shared by the live API and bulk loads.

`EventIngestor.ingest(items)` validates each item (schema, timestamp, known product), stores the valid ones and
hands them to the sinks (the profile store) in the same transaction, so the next request sees them. A bad item is
reported with its index and the rest go in. Bulk loads call the same method with large batches.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
)

from moderation.pii import mask_pii
from retrieval.crypto import EncryptedText
from retrieval.privacy import Pseudonymizer
from retrieval.product_lookup import ProductLookup

EventType = Literal["view", "search", "add_to_cart", "purchase", "rate"]
PRODUCT_EVENTS = frozenset({"view", "add_to_cart", "purchase", "rate"})
MAX_FUTURE_S = 86_400  # clocks drift; a timestamp more than a day ahead is a bug in the sender

metadata = MetaData()

events_table = Table(
    "behaviour_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_key", String(64), nullable=False),  # pseudonym, never the caller's user id
    Column("type", String(16), nullable=False),
    Column("product_id", String(128)),
    Column("query", EncryptedText),  # encrypted at rest when a key is configured
    Column("quantity", Integer, nullable=False),
    Column("value", Float),
    Column("ts", Float, nullable=False),  # epoch seconds: portable and cheap to compare
    # The product's brand/category/price when the event happened, for analytics and co-occurrence by category.
    Column("brand", String(256), nullable=False, default=""),
    Column("category", String(256), nullable=False, default=""),
    Column("price", Float),
    Index("ix_behaviour_events_user_ts", "user_key", "ts"),
)


_INSERT_EVENTS = insert(events_table)  # built once: statement construction costs more than a row insert


def _parse_ts(value: object) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, bool):
        raise ValueError("ts must be ISO-8601 text or epoch seconds, not a boolean")
    elif isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"ts must be a finite number of epoch seconds, got {value}")
        parsed = datetime.fromtimestamp(float(value), UTC)
    elif isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromtimestamp(float(text), UTC)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"ts must be ISO-8601 or epoch seconds, got {value!r}") from None
        except OverflowError:
            raise ValueError(f"ts is out of range: {value!r}") from None
    else:
        raise ValueError(f"ts must be ISO-8601 or epoch seconds, got {type(value).__name__}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.timestamp() > time.time() + MAX_FUTURE_S:
        raise ValueError(f"ts {parsed.isoformat()} is in the future")
    return parsed


class Event(BaseModel):
    """One behaviour event, as the API and the JSONL bulk format carry it."""

    model_config = ConfigDict(extra="forbid")

    # As long as the user_id columns elsewhere (String(128)); no control characters (PostgreSQL holds no NUL).
    user_id: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
    type: EventType
    product_id: str | None = None
    query: str | None = Field(default=None, max_length=1000)
    quantity: int | None = Field(default=None, ge=1, le=10_000)
    value: float | None = None
    ts: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @field_validator("user_id", "product_id", "query", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value.strip() if isinstance(value, str) else value

    @field_validator("query", mode="after")
    @classmethod
    def _mask_query(cls, value: str | None) -> str | None:
        # A search box gets pasted card numbers and e-mails; personalisation never needs them, so neither the
        # event log nor the profile's recent queries keep them.
        return mask_pii(value)[0] if value else value

    @field_validator("ts", mode="before")
    @classmethod
    def _ts(cls, value: object) -> datetime:
        return _parse_ts(value)

    @model_validator(mode="after")
    def _fields_for_type(self) -> Event:
        if self.type in PRODUCT_EVENTS and not self.product_id:
            raise ValueError(f"a {self.type} event needs a product_id")
        if self.type == "search" and not self.query:
            raise ValueError("a search event needs a query")
        if self.type == "rate" and (self.value is None or not 1 <= self.value <= 5):
            raise ValueError("a rate event needs a value from 1 to 5")
        if self.value is not None and not math.isfinite(self.value):
            raise ValueError("value must be a finite number")
        return self


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A validated event as stored: pseudonymised user, epoch time, the product's facts at the time."""

    user_key: str
    type: str
    product_id: str | None
    query: str | None
    quantity: int
    value: float | None
    ts: float
    brand: str = ""
    category: str = ""
    price: float | None = None

    def row(self) -> dict[str, Any]:
        return {
            "user_key": self.user_key, "type": self.type, "product_id": self.product_id, "query": self.query,
            "quantity": self.quantity, "value": self.value, "ts": self.ts, "brand": self.brand,
            "category": self.category, "price": self.price,
        }


class RejectedEvent(BaseModel):
    index: int
    error: str


class IngestResult(BaseModel):
    accepted: int
    rejected: list[RejectedEvent] = Field(default_factory=list)


class EventSink(Protocol):
    """Something kept up to date from events (user profiles). `apply` runs inside the events' transaction."""

    def apply(self, events: Sequence[StoredEvent], conn: Connection) -> None: ...

    def committed(self, events: Sequence[StoredEvent]) -> None: ...

    def discard(self, events: Sequence[StoredEvent]) -> None:
        """The transaction failed: forget whatever `apply` staged or changed in memory."""


class EventLog:
    """The `behaviour_events` table: the source of truth every derived model is rebuilt from."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def append(self, events: Sequence[StoredEvent], conn: Connection) -> None:
        if events:
            conn.execute(_INSERT_EVENTS, [e.row() for e in events])

    def count(self, user_key: str | None = None) -> int:
        query = select(func.count()).select_from(events_table)
        if user_key is not None:
            query = query.where(events_table.c.user_key == user_key)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def last_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(events_table.c.id), 0))).scalar_one())

    def since(self, after_id: int, batch: int = 50_000) -> Iterator[tuple[int, StoredEvent]]:
        """Events with id > after_id, in id order (derived models catch up with this)."""
        cols = events_table.c
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(events_table).where(cols.id > after_id).order_by(cols.id).limit(batch)
                ).all()
            for row in rows:
                yield row.id, _stored(row)
            if len(rows) < batch:
                return
            after_id = rows[-1].id

    def for_user(self, user_key: str) -> list[StoredEvent]:
        cols = events_table.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events_table).where(cols.user_key == user_key).order_by(cols.ts, cols.id)
            ).all()
        return [_stored(r) for r in rows]

    def delete_user(self, user_key: str, conn: Connection) -> int:
        return conn.execute(delete(events_table).where(events_table.c.user_key == user_key)).rowcount or 0


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(
        user_key=row.user_key, type=row.type, product_id=row.product_id, query=row.query, quantity=row.quantity,
        value=row.value, ts=row.ts, brand=row.brand or "", category=row.category or "", price=row.price,
    )


def _error_text(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


class EventIngestor:
    """The one way events get in: validate, pseudonymise, store, update the sinks, all in one transaction."""

    def __init__(
        self, log: EventLog, lookup: ProductLookup, pseudonymizer: Pseudonymizer, sinks: Sequence[EventSink] = ()
    ) -> None:
        self.log = log
        self.lookup = lookup
        self.pseudonymizer = pseudonymizer
        self.sinks = list(sinks)
        # One writer per process: sinks stage their changes between `apply` and `committed`.
        self._write_lock = threading.Lock()

    def validate(self, items: Sequence[Mapping[str, Any] | Event], start_index: int = 0) -> tuple[
        list[StoredEvent], list[RejectedEvent]
    ]:
        parsed: list[tuple[int, Event]] = []
        rejected: list[RejectedEvent] = []
        for offset, item in enumerate(items):
            index = start_index + offset
            if isinstance(item, Event):
                parsed.append((index, item))
                continue
            if not isinstance(item, Mapping):
                error = f"an event must be an object, got {type(item).__name__}"
                rejected.append(RejectedEvent(index=index, error=error))
                continue
            try:
                parsed.append((index, Event.model_validate(item)))
            except ValidationError as exc:
                rejected.append(RejectedEvent(index=index, error=_error_text(exc)))
        products = self.lookup.products([e.product_id for _, e in parsed if e.product_id])
        accepted: list[StoredEvent] = []
        for index, event in parsed:
            product = products.get(event.product_id) if event.product_id else None
            if event.product_id and product is None:
                rejected.append(RejectedEvent(index=index, error=f"unknown product '{event.product_id}'"))
                continue
            accepted.append(
                StoredEvent(
                    user_key=self.pseudonymizer.user_key(event.user_id), type=event.type,
                    product_id=event.product_id, query=event.query, quantity=event.quantity or 1, value=event.value,
                    ts=event.ts.timestamp(), brand=product.brand if product else "",
                    category=product.category if product else "", price=product.price if product else None,
                )
            )
        rejected.sort(key=lambda r: r.index)
        return accepted, rejected

    def ingest(
        self,
        items: Sequence[Mapping[str, Any] | Event],
        start_index: int = 0,
        within: Callable[[Connection], None] | None = None,
    ) -> IngestResult:
        """`within(conn)`, if given, runs in the transaction that commits these events (a bulk load's progress)."""
        accepted, rejected = self.validate(items, start_index)
        if within is not None and not accepted:
            with self.log.engine.begin() as conn:
                within(conn)
        if accepted:
            with self._write_lock:
                try:
                    with self.log.engine.begin() as conn:
                        self.log.append(accepted, conn)
                        for sink in self.sinks:
                            sink.apply(accepted, conn)
                        if within is not None:
                            within(conn)
                except BaseException:
                    for sink in self.sinks:
                        sink.discard(accepted)
                    raise
                for sink in self.sinks:
                    sink.committed(accepted)
        return IngestResult(accepted=len(accepted), rejected=rejected)


def read_jsonl(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed JSON, parse error) for each non-blank line of a JSONL file."""
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line), None
            except json.JSONDecodeError as exc:
                yield line_no, None, f"invalid JSON: {exc.msg} at column {exc.colno}"
