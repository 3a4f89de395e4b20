"""Store-wide behaviour signals learned from the event log: trending popularity, item-to-item co-occurrence,
how often each product is bought again, and popularity within each category.

They are aggregates over all users, derived in memory from `behaviour_events` (the source of truth) and caught up
incrementally by event id, so every process sees every other process's events on its next `refresh()`.

Building them from a large log takes a while (seconds per 100k events), so the model is also saved in the database
(`behaviour_stats`, zlib-compressed JSON tagged with the last event id it covers): a new process loads it and
catches up only on the events after it. Erasing a user bumps the row's epoch and drops the saved model; every
process sees the new epoch on its next `refresh()` and rebuilds, so nothing of the erased user survives in any of
them, and a process holding an older model can no longer save it.
"""

from __future__ import annotations

import math
import threading
import zlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Column, Connection, Integer, LargeBinary, MetaData, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from retrieval.events import EventLog, StoredEvent

DAY = 86_400.0
# Co-occurrence counts a purchase or cart add fully and a view a little: buying together says more.
COOCCURRENCE_WEIGHTS = {"view": 0.3, "add_to_cart": 0.7, "purchase": 1.0}


metadata = MetaData()

snapshots_table = Table(
    "behaviour_stats",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("epoch", Integer, nullable=False),  # bumped by every erasure: models of an older epoch are void
    Column("last_id", Integer, nullable=False),  # the saved model covers the events up to this id
    Column("data", LargeBinary),
)
SNAPSHOT = "store"


@dataclass(frozen=True)
class SignalConfig:
    trending_half_life_days: float = 7.0
    session_gap_s: float = 3600.0  # one user's engagements less than an hour apart form one basket/session
    max_session_items: int = 60
    save_every: int = 20_000  # a refresh that reads this many events saves the model (live ones stay cheap)


class BehaviourStats:
    def __init__(self, log: EventLog, config: SignalConfig | None = None) -> None:
        self.log = log
        self.config = config or SignalConfig()
        self._lock = threading.RLock()
        metadata.create_all(log.engine)
        try:
            with log.engine.begin() as conn:
                _ensure_row(conn)
        except IntegrityError:  # another process created it at the same moment
            pass
        self.reset()

    def reset(self) -> None:
        """Forgets everything; the next `refresh` rebuilds from the log."""
        with self._lock:
            self.epoch = -1  # not yet read: the next refresh loads the saved model, if any
            self.last_id = self.saved_id = 0
            self.t0: float | None = None
            self.latest_ts = 0.0
            self.trending: dict[str, float] = defaultdict(float)  # growth form, trending half-life
            self.purchases: dict[str, int] = defaultdict(int)  # purchase events per product
            self.buyers: dict[str, set[str]] = defaultdict(set)
            self.engagement: dict[str, float] = defaultdict(float)  # weighted engagements per product
            self.cooccur: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
            self.category_of: dict[str, str] = {}
            self.category_total: dict[str, float] = defaultdict(float)
            self.category_items: dict[str, set[str]] = defaultdict(set)
            self._sessions: dict[str, tuple[float, list[str]]] = {}
            self._neighbours: dict[str, list[tuple[str, float]]] = {}
            self._ranked: list[tuple[str, float]] | None = None  # trending, best first
            self._category_top: dict[str, list[str]] = {}

    def refresh(self) -> int:
        """Catches up with events stored since the last refresh (by any process); returns how many."""
        with self._lock:
            cols = snapshots_table.c
            with self.log.engine.connect() as conn:
                epoch = conn.execute(select(cols.epoch).where(cols.name == SNAPSHOT)).scalar() or 0
                saved = None
                if epoch != self.epoch:  # first use, or a user was erased (by any process) since the model was built
                    saved = conn.execute(
                        select(cols.last_id, cols.data).where(cols.name == SNAPSHOT, cols.epoch == epoch)
                    ).first()
            if epoch != self.epoch:
                self.reset()
                self.epoch = epoch
                if saved is not None and saved.data is not None:
                    self._load(orjson.loads(zlib.decompress(saved.data)))
                    self.last_id = self.saved_id = saved.last_id
            seen = 0
            for event_id, event in self.log.since(self.last_id):
                self._add(event)
                self.last_id = event_id
                seen += 1
            if seen:
                self._neighbours.clear()
                self._ranked = None
                self._category_top.clear()
            if seen >= self.config.save_every:  # a long catch-up (a first start, a bulk load): spare the next one
                self.save()
            return seen

    def save(self) -> bool:
        """Stores the model for the next process, unless an erasure or a newer save came first."""
        with self._lock:
            if self.epoch < 0 or self.last_id <= self.saved_id:
                return False
            data = zlib.compress(orjson.dumps(self._dump()), 1)
            cols = snapshots_table.c
            with self.log.engine.begin() as conn:
                stored = conn.execute(
                    update(snapshots_table)
                    .where(cols.name == SNAPSHOT, cols.epoch == self.epoch, cols.last_id < self.last_id)
                    .values(last_id=self.last_id, data=data)
                ).rowcount
            self.saved_id = self.last_id
            return bool(stored)

    @staticmethod
    def invalidate(conn: Connection) -> None:
        """In the transaction that erases a user: voids every saved and in-memory model (all processes)."""
        conn.execute(
            update(snapshots_table)
            .where(snapshots_table.c.name == SNAPSHOT)
            .values(epoch=snapshots_table.c.epoch + 1, last_id=0, data=None)
        )

    def _dump(self) -> dict[str, Any]:
        return {
            "t0": self.t0, "latest_ts": self.latest_ts, "trending": self.trending, "purchases": self.purchases,
            "buyers": {pid: sorted(users) for pid, users in self.buyers.items()}, "engagement": self.engagement,
            "cooccur": self.cooccur, "category_of": self.category_of, "category_total": self.category_total,
            "category_items": {c: sorted(items) for c, items in self.category_items.items()},
            "sessions": self._sessions,
        }

    def _load(self, state: dict[str, Any]) -> None:
        self.t0, self.latest_ts = state["t0"], state["latest_ts"]
        self.trending.update(state["trending"])
        self.purchases.update(state["purchases"])
        self.buyers.update((pid, set(users)) for pid, users in state["buyers"].items())
        self.engagement.update(state["engagement"])
        for pid, row in state["cooccur"].items():
            self.cooccur[pid].update(row)
        self.category_of.update(state["category_of"])
        self.category_total.update(state["category_total"])
        self.category_items.update((c, set(items)) for c, items in state["category_items"].items())
        self._sessions = {user: (ts, items) for user, (ts, items) in state["sessions"].items()}

    def _add(self, event: StoredEvent) -> None:
        weight = COOCCURRENCE_WEIGHTS.get(event.type)
        if weight is None or not event.product_id:
            return
        pid = event.product_id
        if self.t0 is None:
            self.t0 = event.ts
        self.latest_ts = max(self.latest_ts, event.ts)
        growth = 2.0 ** ((event.ts - self.t0) / (self.config.trending_half_life_days * DAY))
        self.trending[pid] += weight * growth
        self.engagement[pid] += weight
        if event.type == "purchase":
            self.purchases[pid] += 1
            self.buyers[pid].add(event.user_key)
        if event.category:
            self.category_of[pid] = event.category
            self.category_total[event.category] += weight
            self.category_items[event.category].add(pid)
        last_ts, session = self._sessions.get(event.user_key, (event.ts, []))
        if abs(event.ts - last_ts) > self.config.session_gap_s:
            session = []
        if pid not in session:
            for other in session:
                self.cooccur[pid][other] += weight
                self.cooccur[other][pid] += weight
            session = [*session, pid][-self.config.max_session_items :]
        self._sessions[event.user_key] = (event.ts, session)

    # --- reading (call `refresh` first) ----------------------------------------------------------------------
    def trending_scores(self, limit: int) -> list[tuple[str, float]]:
        """The most popular products now, with scores relative to the top one."""
        ranked = self._trending_ranked()
        best = ranked[0][1] if ranked else 1.0
        return [(pid, score / best) for pid, score in ranked[:limit]]

    def trending_relative(self, pid: str) -> float:
        ranked = self._trending_ranked()
        return self.trending.get(pid, 0.0) / ranked[0][1] if ranked and ranked[0][1] > 0 else 0.0

    def _trending_ranked(self) -> list[tuple[str, float]]:
        with self._lock:
            if self._ranked is None:
                self._ranked = sorted(self.trending.items(), key=lambda kv: -kv[1])
            return self._ranked

    def repeat_rate(self, pid: str) -> float:
        """Purchases per buyer (1.0 = nobody bought it twice): how much buying it predicts buying it again."""
        buyers = len(self.buyers.get(pid, ()))
        return self.purchases[pid] / buyers if buyers else 1.0

    def purchase_count(self, pid: str) -> int:
        return self.purchases.get(pid, 0)

    def neighbours(self, pid: str, limit: int) -> list[tuple[str, float]]:
        """Products engaged with in the same sessions, by cosine-normalised co-occurrence."""
        cached = self._neighbours.get(pid)
        if cached is None or len(cached) < limit <= len(self.cooccur.get(pid, ())):
            row = self.cooccur.get(pid)
            if not row:
                return []
            own = self.engagement[pid]
            scored = [(other, w / math.sqrt(own * self.engagement[other])) for other, w in row.items()]
            cached = self._neighbours[pid] = sorted(scored, key=lambda kv: -kv[1])[:limit]
        return cached[:limit]

    def category_share(self, pid: str) -> float:
        """The product's share of its category's engagement (how much of a category's demand it takes)."""
        category = self.category_of.get(pid)
        total = self.category_total.get(category, 0.0) if category else 0.0
        return self.engagement.get(pid, 0.0) / total if total > 0 else 0.0

    def top_in_category(self, category: str, limit: int) -> list[str]:
        cached = self._category_top.get(category)
        if cached is None or len(cached) < limit <= len(self.category_items.get(category, ())):
            items = self.category_items.get(category, set())
            cached = self._category_top[category] = sorted(items, key=lambda pid: -self.engagement[pid])[:limit]
        return cached[:limit]


def _ensure_row(conn: Connection) -> None:
    if conn.execute(select(snapshots_table.c.name).where(snapshots_table.c.name == SNAPSHOT)).first() is None:
        conn.execute(insert(snapshots_table).values(name=SNAPSHOT, epoch=0, last_id=0, data=None))
