"""Live user profiles: interest vector, item history, brand/category affinities, price band, recent queries.

Every decayed quantity is kept in "growth form" relative to the profile's origin time t0:
`acc += weight * 2**((t - t0) / half_life)`; its value at time `now` is `acc * 2**(-(now - t0) / half_life)`.
An event therefore touches only what it changes (no pass over the whole profile to decay it), events may arrive
out of order, and the direction of the interest vector does not depend on `now`.

The SQL row is the profile of record (read-your-writes: the event's transaction updates it); the process keeps a
cache validated by the row's version, so other processes' writes are seen. The normalised interest vector is
mirrored into the `user_profiles` Chroma collection by `ProfileVectors`, batched (a Chroma write costs tens of
milliseconds, far over the per-event budget).
"""

from __future__ import annotations

import atexit
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import chromadb
import numpy as np
import orjson
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    insert,
    select,
    update,
)

from retrieval.crypto import EncryptedText
from retrieval.events import StoredEvent
from retrieval.product_lookup import ProductLookup

log = logging.getLogger(__name__)

DAY = 86_400.0
# How much each kind of engagement says about taste; a rating moves it up or down around a neutral 3 stars.
EVENT_WEIGHTS = {"view": 1.0, "add_to_cart": 3.0, "purchase": 5.0, "search": 0.0}
PROFILE_COLLECTION = "user_profiles"
FLUSH_CHUNK = 32  # profile vectors per Chroma upsert

metadata = MetaData()

profiles_table = Table(
    "user_profiles",
    metadata,
    Column("user_key", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_ts", Float, nullable=False),
    Column("state", EncryptedText, nullable=False),  # encrypted at rest when a key is configured
    Column("vector", LargeBinary),
)


def event_weight(event: StoredEvent) -> float:
    if event.type == "rate":
        return ((event.value or 3.0) - 3.0) * 2.0
    # Quantity is not counted: how often someone buys a thing says more than how many (10 gallons of fuel, once).
    return EVENT_WEIGHTS[event.type]


@dataclass(frozen=True)
class ProfileConfig:
    interest_half_life_days: float = 14.0  # interest vector and recent engagement: taste drifts
    history_half_life_days: float = 180.0  # purchase history and affinities: habits last (90–365 d score alike)
    max_items: int = 600
    recent_events: int = 50
    recent_queries: int = 10


@dataclass
class ItemStat:
    """One product's place in a user's history (decayed scores in growth form)."""

    history: float = 0.0
    interest: float = 0.0
    views: int = 0
    carts: int = 0
    purchases: int = 0
    last_ts: float = 0.0
    first_bought: float = 0.0  # first and last purchase: the user's buying cadence for this product
    last_bought: float = 0.0

    def to_list(self) -> list[float]:
        return [
            self.history, self.interest, self.views, self.carts, self.purchases, self.last_ts, self.first_bought,
            self.last_bought,
        ]

    @classmethod
    def from_list(cls, v: list[float]) -> ItemStat:
        # Profiles stored before the purchase times were kept have six fields.
        bought = (v[6], v[7]) if len(v) > 6 else (0.0, 0.0)
        return cls(v[0], v[1], int(v[2]), int(v[3]), int(v[4]), v[5], *bought)

    def purchase_interval_days(self) -> float | None:
        """The mean time between this product's purchases, or None before a second one."""
        if self.purchases < 2 or self.last_bought <= self.first_bought:
            return None
        return (self.last_bought - self.first_bought) / (self.purchases - 1) / DAY


@dataclass
class UserProfile:
    user_key: str
    t0: float
    version: int = 0
    updated_ts: float = 0.0
    vector: np.ndarray | None = None  # growth-form interest sum (unnormalised)
    items: dict[str, ItemStat] = field(default_factory=dict)
    brands: dict[str, float] = field(default_factory=dict)
    categories: dict[str, float] = field(default_factory=dict)
    price: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # growth sums of w, w*log p, w*log² p
    recent: list[tuple[float, str, str]] = field(default_factory=list)  # (ts, type, product_id), newest last
    queries: list[tuple[float, str]] = field(default_factory=list)

    # --- updating ------------------------------------------------------------------------------------------
    def apply(self, event: StoredEvent, vector: np.ndarray | None, config: ProfileConfig) -> None:
        self._rebase_if_needed(event.ts, config)
        self.version += 1
        self.updated_ts = max(self.updated_ts, event.ts)
        if event.type == "search":
            self.queries = sorted([*self.queries, (event.ts, event.query or "")])[-config.recent_queries :]
            return
        pid = event.product_id or ""
        weight = event_weight(event)
        g_interest = 2.0 ** ((event.ts - self.t0) / (config.interest_half_life_days * DAY))
        g_history = 2.0 ** ((event.ts - self.t0) / (config.history_half_life_days * DAY))
        stat = self.items.setdefault(pid, ItemStat())
        stat.history += weight * g_history
        stat.interest += weight * g_interest
        stat.views += event.type == "view"
        stat.carts += event.type == "add_to_cart"
        stat.purchases += event.type == "purchase"
        stat.last_ts = max(stat.last_ts, event.ts)
        if event.type == "purchase":
            stat.first_bought = min(stat.first_bought or event.ts, event.ts)
            stat.last_bought = max(stat.last_bought, event.ts)
        if vector is not None and weight:
            contribution = (weight * g_interest) * vector
            self.vector = contribution.astype(np.float32) if self.vector is None else self.vector + contribution
        if weight > 0:
            if event.brand:
                self.brands[event.brand] = self.brands.get(event.brand, 0.0) + weight * g_history
            if event.category:
                self.categories[event.category] = self.categories.get(event.category, 0.0) + weight * g_history
            if event.price and event.price > 0:
                lp = math.log(event.price)
                self.price = [
                    self.price[0] + weight * g_history,
                    self.price[1] + weight * g_history * lp,
                    self.price[2] + weight * g_history * lp * lp,
                ]
        self.recent = sorted([*self.recent, (event.ts, event.type, pid)])[-config.recent_events :]
        if len(self.items) > config.max_items * 1.2:
            keep = sorted(self.items.items(), key=lambda kv: kv[1].history, reverse=True)[: config.max_items]
            self.items = dict(keep)

    def _rebase_if_needed(self, ts: float, config: ProfileConfig) -> None:
        """Moves t0 forward before growth factors get near float range (after years of activity)."""
        shortest = min(config.interest_half_life_days, config.history_half_life_days) * DAY
        if (ts - self.t0) / shortest < 500:
            return
        fi = 2.0 ** (-(ts - self.t0) / (config.interest_half_life_days * DAY))
        fh = 2.0 ** (-(ts - self.t0) / (config.history_half_life_days * DAY))
        for stat in self.items.values():
            stat.history *= fh
            stat.interest *= fi
        self.brands = {k: v * fh for k, v in self.brands.items()}
        self.categories = {k: v * fh for k, v in self.categories.items()}
        self.price = [v * fh for v in self.price]
        if self.vector is not None:
            self.vector = self.vector * fi
        self.t0 = ts

    # --- reading -------------------------------------------------------------------------------------------
    def interest_vector(self) -> np.ndarray | None:
        """The L2-normalised interest direction, or None before any product engagement."""
        if self.vector is None:
            return None
        norm = float(np.linalg.norm(self.vector))
        return None if norm < 1e-9 else (self.vector / norm).astype(np.float32)

    def history_scores(self) -> dict[str, float]:
        """Each engaged product's decayed history score, relative to the user's strongest (1.0)."""
        return _relative({pid: s.history for pid, s in self.items.items()})

    def decayed(self, stat: ItemStat, now: float, config: ProfileConfig) -> tuple[float, float]:
        """(interest, history) of one item at `now`, in purchase units (one purchase today = 1.0)."""
        unit = EVENT_WEIGHTS["purchase"]
        interest = stat.interest * 2.0 ** (-(now - self.t0) / (config.interest_half_life_days * DAY))
        history = stat.history * 2.0 ** (-(now - self.t0) / (config.history_half_life_days * DAY))
        return interest / unit, history / unit

    def category_habit(self, category: str, now: float, config: ProfileConfig) -> float:
        """The user's decayed engagement with a category at `now`, in purchase units (history half-life)."""
        decay = 2.0 ** (-(now - self.t0) / (config.history_half_life_days * DAY))
        return self.categories.get(category, 0.0) * decay / EVENT_WEIGHTS["purchase"]

    def interest_scores(self) -> dict[str, float]:
        return _relative({pid: s.interest for pid, s in self.items.items()})

    def brand_affinity(self) -> dict[str, float]:
        return _relative(self.brands)

    def category_affinity(self) -> dict[str, float]:
        return _relative(self.categories)

    def price_band(self) -> tuple[float, float] | None:
        """The user's usual price range (geometric mean ± one standard deviation of prices engaged with)."""
        sw, swx, swx2 = self.price
        if sw <= 0:
            return None
        mean = swx / sw
        std = math.sqrt(max(swx2 / sw - mean * mean, 0.0))
        return math.exp(mean - std), math.exp(mean + std)

    def events_since(self, since_ts: float, kind: str, product_id: str) -> int:
        return sum(1 for ts, t, pid in self.recent if ts >= since_ts and t == kind and pid == product_id)

    def summary(self) -> dict[str, Any]:
        """What a profile panel shows (no user id: profiles only know the pseudonym)."""
        band = self.price_band()
        top = lambda d: [k for k, _ in sorted(d.items(), key=lambda kv: -kv[1])[:5]]  # noqa: E731
        return {
            "events": self.version,
            "top_brands": top(self.brands),
            "top_categories": top(self.categories),
            "price_band": [round(band[0], 2), round(band[1], 2)] if band else None,
            "recent_queries": [q for _, q in self.queries],
            "recent": [{"ts": ts, "type": t, "product_id": pid} for ts, t, pid in self.recent[-10:]],
        }

    # --- storage -------------------------------------------------------------------------------------------
    def state_json(self) -> str:
        # orjson: the whole state is written with every event, and the standard encoder costs ~1 ms for it.
        return orjson.dumps(
            {
                "t0": self.t0,
                "items": {pid: s.to_list() for pid, s in self.items.items()},
                "brands": self.brands,
                "categories": self.categories,
                "price": self.price,
                "recent": self.recent,
                "queries": self.queries,
            },
        ).decode()

    @classmethod
    def from_row(cls, row: Any) -> UserProfile:
        state = orjson.loads(row.state)
        return cls(
            user_key=row.user_key,
            t0=state["t0"],
            version=row.version,
            updated_ts=row.updated_ts,
            vector=np.frombuffer(row.vector, dtype=np.float32).copy() if row.vector else None,
            items={pid: ItemStat.from_list(v) for pid, v in state["items"].items()},
            brands=state["brands"],
            categories=state["categories"],
            price=state["price"],
            recent=[tuple(r) for r in state["recent"]],
            queries=[tuple(q) for q in state["queries"]],
        )


def _relative(scores: dict[str, float]) -> dict[str, float]:
    top = max(scores.values(), default=0.0)
    if top <= 0:
        return {}
    return {k: v / top for k, v in scores.items() if v > 0}


class ProfileVectors:
    """The `user_profiles` Chroma collection: one normalised interest vector per pseudonymous user.

    Writes are batched: `stage` records the newest vector, a background thread (and `flush`) upserts them every few
    seconds, so a user active all the while costs one upsert. Nothing on the request path reads this mirror (the SQL
    row holds the vector of record), so the delay costs no freshness.
    """

    def __init__(self, client: chromadb.ClientAPI, flush_interval_s: float = 5.0) -> None:
        self.collection = client.get_or_create_collection(
            PROFILE_COLLECTION, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        self._pending: dict[str, tuple[np.ndarray, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._interval = flush_interval_s
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def stage(self, user_key: str, vector: np.ndarray, meta: dict[str, Any]) -> None:
        with self._lock:
            self._pending[user_key] = (vector, meta)
            if self._thread is None and self._interval > 0:
                self._thread = threading.Thread(target=self._run, name="profile-vectors", daemon=True)
                self._thread.start()
                atexit.register(self.close)  # a server stopping writes what it staged

    def flush(self) -> int:
        """Writes every staged vector now; returns how many."""
        with self._flush_lock:
            with self._lock:
                pending, self._pending = self._pending, {}
            if not pending:
                return 0
            keys = list(pending)
            # Small chunks with a pause between them: a Chroma upsert holds the interpreter for its whole call (one
            # of 200 vectors stalled every other thread for up to a second on the loaded machine, one of 32 for
            # 0.2-0.4 s), so the writer leaves room for live requests in between.
            for start in range(0, len(keys), FLUSH_CHUNK):
                if start:
                    time.sleep(0.01)
                chunk = keys[start : start + FLUSH_CHUNK]
                self.collection.upsert(
                    ids=chunk,
                    embeddings=np.stack([pending[k][0] for k in chunk]),
                    metadatas=[pending[k][1] for k in chunk],
                )
            return len(keys)

    def delete(self, user_key: str) -> int:
        with self._flush_lock:
            with self._lock:
                self._pending.pop(user_key, None)
            found = self.collection.get(ids=[user_key], include=[])["ids"]
            if found:
                self.collection.delete(ids=[user_key])
            return len(found)

    def get(self, user_key: str) -> np.ndarray | None:
        got = self.collection.get(ids=[user_key], include=["embeddings"])
        return np.asarray(got["embeddings"][0], dtype=np.float32) if got["ids"] else None

    def close(self) -> None:
        """Stops the background writer and writes what is staged (idempotent)."""
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self._interval)
            if self._stopped.is_set():
                return
            try:
                self.flush()
            except Exception:  # keep the thread alive; the next flush retries with fresh vectors
                log.exception("writing profile vectors to Chroma failed")


class ProfileStore:
    """Profiles of record in SQL, kept current by `EventIngestor` (it is an `EventSink`)."""

    def __init__(
        self,
        engine: Engine,
        lookup: ProductLookup,
        vectors: ProfileVectors,
        config: ProfileConfig | None = None,
        cache_size: int = 20_000,
    ) -> None:
        self.engine = engine
        self.lookup = lookup
        self.vectors = vectors
        self.config = config or ProfileConfig()
        metadata.create_all(engine)
        self._cache: OrderedDict[str, UserProfile] = OrderedDict()
        self._pending: dict[str, UserProfile] = {}
        self._cache_size = cache_size
        self._lock = threading.RLock()

    # --- EventSink -----------------------------------------------------------------------------------------
    def apply(self, events: Sequence[StoredEvent], conn: Connection) -> None:
        by_user: dict[str, list[StoredEvent]] = {}
        for event in events:
            by_user.setdefault(event.user_key, []).append(event)
        vectors = self.lookup.vectors([e.product_id for e in events if e.product_id])
        if len(by_user) == 1 and self._apply_to_cached(*next(iter(by_user.items())), vectors, conn):
            return
        versions = dict(conn.execute(_SELECT_VERSIONS, {"keys": list(by_user)}).all())
        updates: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        with self._lock:
            current = self._current(conn, versions, copies=False)
            self._pending = {}
            for user_key, user_events in by_user.items():
                profile = current.get(user_key) or UserProfile(user_key=user_key, t0=min(e.ts for e in user_events))
                for event in user_events:
                    profile.apply(event, vectors.get(event.product_id or ""), self.config)
                row = _row(profile)
                if user_key in current:
                    updates.append({"key": user_key, **row})
                else:
                    inserts.append({"user_key": user_key, **row})
                self._pending[user_key] = profile
        if updates:
            conn.execute(_UPDATE, updates)
        if inserts:
            conn.execute(_INSERT, inserts)

    def _apply_to_cached(
        self, user_key: str, events: list[StoredEvent], vectors: dict[str, np.ndarray], conn: Connection
    ) -> bool:
        """The live path's shortcut: one user whose profile is cached is updated with one statement that succeeds
        only if the stored version is still the cached one. False (and the cached copy dropped) when another
        process wrote it first or nothing is cached: the caller then reads the row as usual."""
        with self._lock:
            profile = self._cache.get(user_key)
            if profile is None:
                return False
            expected = profile.version
            for event in events:
                profile.apply(event, vectors.get(event.product_id or ""), self.config)
            changed = conn.execute(
                _UPDATE_IF_VERSION, {"key": user_key, "expected": expected, **_row(profile)}
            ).rowcount
            if changed != 1:
                self._cache.pop(user_key, None)
                return False
            self._pending = {user_key: profile}
            return True

    def _current(self, conn: Connection, versions: dict[str, int], copies: bool = True) -> dict[str, UserProfile]:
        """The stored profiles at these versions: from the cache when it holds that version, else read in one
        query. Readers get copies; the writer updates the cached objects in place (under the lock) and
        `discard` drops them if its transaction fails."""
        current: dict[str, UserProfile] = {}
        stale: list[str] = []
        for user_key, version in versions.items():
            cached = self._cache.get(user_key)
            if cached is not None and cached.version == version:
                self._cache.move_to_end(user_key)
                current[user_key] = _copy(cached) if copies else cached
            else:
                stale.append(user_key)
        for start in range(0, len(stale), 500):
            for row in conn.execute(_SELECT_ROWS, {"keys": stale[start : start + 500]}):
                profile = UserProfile.from_row(row)
                self._remember(profile)
                current[row.user_key] = _copy(profile) if copies else profile
        return current

    def discard(self, events: Sequence[StoredEvent]) -> None:
        with self._lock:
            self._pending = {}
            for event in events:
                self._cache.pop(event.user_key, None)

    def committed(self, events: Sequence[StoredEvent]) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            for user_key, profile in pending.items():
                self._remember(profile)
                direction = profile.interest_vector()
                if direction is not None:
                    self.vectors.stage(
                        user_key, direction, {"version": profile.version, "updated_ts": profile.updated_ts}
                    )

    # --- reading -------------------------------------------------------------------------------------------
    def get(self, user_key: str) -> UserProfile | None:
        """The profile as of the last committed event (any process), or None for an unknown user."""
        with self.engine.connect() as conn:
            versions = dict(conn.execute(_SELECT_VERSIONS_READ, {"keys": [user_key]}).all())
            with self._lock:
                if not versions:
                    self._cache.pop(user_key, None)
                    return None
                return self._current(conn, versions).get(user_key)

    def _remember(self, profile: UserProfile) -> None:
        self._cache[profile.user_key] = profile
        self._cache.move_to_end(profile.user_key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    # --- erasing -------------------------------------------------------------------------------------------
    def delete(self, user_key: str, conn: Connection) -> int:
        with self._lock:
            self._cache.pop(user_key, None)
        return conn.execute(delete(profiles_table).where(profiles_table.c.user_key == user_key)).rowcount or 0


# Built once: constructing SQLAlchemy statements per event costs more than executing them.
_cols = profiles_table.c
_by_keys = _cols.user_key.in_(bindparam("keys", expanding=True))
_SELECT_VERSIONS_READ = select(_cols.user_key, _cols.version).where(_by_keys)
_SELECT_VERSIONS = _SELECT_VERSIONS_READ.with_for_update()  # PostgreSQL: concurrent writers of one profile queue up
_SELECT_ROWS = select(profiles_table).where(_by_keys)
_UPDATE = update(profiles_table).where(_cols.user_key == bindparam("key"))
_UPDATE_IF_VERSION = _UPDATE.where(_cols.version == bindparam("expected"))
_INSERT = insert(profiles_table)


def _row(profile: UserProfile) -> dict[str, Any]:
    return {
        "version": profile.version,
        "updated_ts": profile.updated_ts,
        "state": profile.state_json(),
        "vector": profile.vector.astype(np.float32).tobytes() if profile.vector is not None else None,
    }


def _copy(profile: UserProfile) -> UserProfile:
    return UserProfile(
        user_key=profile.user_key,
        t0=profile.t0,
        version=profile.version,
        updated_ts=profile.updated_ts,
        vector=None if profile.vector is None else profile.vector.copy(),
        items={pid: replace(stat) for pid, stat in profile.items.items()},
        brands=dict(profile.brands),
        categories=dict(profile.categories),
        price=list(profile.price),
        recent=list(profile.recent),
        queries=list(profile.queries),
    )
