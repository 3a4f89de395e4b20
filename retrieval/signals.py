"""Store-wide behaviour signals learned from the event log: trending popularity, item-to-item co-occurrence,
how often each product is bought again, and popularity within each category.

They are aggregates over all users, derived in memory from `behaviour_events` (the source of truth) and caught up
incrementally by event id, so every process sees every other process's events on its next `refresh()`. After a
user is erased the model is rebuilt, so nothing of theirs survives in it.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from dataclasses import dataclass

from retrieval.events import EventLog, StoredEvent

DAY = 86_400.0
# Co-occurrence counts a purchase or cart add fully and a view a little: buying together says more.
COOCCURRENCE_WEIGHTS = {"view": 0.3, "add_to_cart": 0.7, "purchase": 1.0}


@dataclass(frozen=True)
class SignalConfig:
    trending_half_life_days: float = 7.0
    session_gap_s: float = 3600.0  # one user's engagements less than an hour apart form one basket/session
    max_session_items: int = 60


class BehaviourStats:
    def __init__(self, log: EventLog, config: SignalConfig | None = None) -> None:
        self.log = log
        self.config = config or SignalConfig()
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forgets everything; the next `refresh` rebuilds from the log."""
        with self._lock:
            self.last_id = 0
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
            seen = 0
            for event_id, event in self.log.since(self.last_id):
                self._add(event)
                self.last_id = event_id
                seen += 1
            if seen:
                self._neighbours.clear()
                self._ranked = None
                self._category_top.clear()
            return seen

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
