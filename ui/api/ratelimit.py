"""Token buckets, one per API key and one per client IP, refilled continuously over a minute, shared by every
`serve` worker through the SQL database.

Sharing without a database round trip per request: a worker claims tokens from the shared bucket (a row of
`api_rate_buckets`) in small batches and spends them locally; it goes back to the database only when its batch is
spent or older than `hold_s`, and returns what is left of an old batch in that same claim. A batch is at most
`max_batch` tokens and at most a tenth of what the bucket holds, so near the limit claims shrink to one token.
Updates are compare-and-swap on a version column (portable SQL; no row locks, no read-to-write upgrade on SQLite).

The bound, for W workers sharing a bucket of C tokens a minute:
- never more admitted, all workers together, than one process alone would admit (C at once, then C/60 a second):
  a token is spent only after a worker's claim took it out of the shared row;
- a caller may be refused early while other workers hold unspent claimed tokens: at most
  W × min(max_batch, C/10) of them, returned with that worker's first claim for the key after `hold_s`;
- the refill uses the workers' wall clocks: a clock δ seconds ahead of the others adds at most δ·C/60 tokens.
The event loop never waits on the database: a claim runs in a worker thread (`acquire_async`).
A refused caller is refused locally until its next token is due, so a flood costs the database at most one
claim per token due.
While the database cannot be reached the limits fall back to buckets in this process (per worker), and the
shared ones are tried again `retry_s` later. Rows idle for ten minutes (full buckets again) are deleted; the key
is stored as a digest, never as the raw address or credential.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import anyio.to_thread
from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

log = logging.getLogger(__name__)

metadata = MetaData()
_buckets = Table(
    "api_rate_buckets",
    metadata,
    Column("scope", String(16), primary_key=True),
    Column("key_digest", String(32), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("updated_ts", Float, nullable=False, index=True),
    Column("version", Integer, nullable=False),
)

_SELECT_BUCKET = select(_buckets.c.tokens, _buckets.c.updated_ts, _buckets.c.version)
_IDLE_ROW_S = 600.0  # a row untouched this long is a full bucket again: deleting it changes nothing
_CLAIM_ATTEMPTS = 5  # compare-and-swap retries before a claim gives up and this process decides alone


@dataclass
class _Bucket:
    tokens: float
    updated: float


class _LocalBuckets:
    """Buckets in this process only: the whole limiter without a database, and its fallback while the database
    is down."""

    def __init__(self, per_minute: int, max_tracked: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._max_tracked = max_tracked
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def acquire(self, key: str, now: float) -> float:
        bucket = self._buckets.pop(key, None) or _Bucket(tokens=self.capacity, updated=now)
        bucket.tokens = min(self.capacity, bucket.tokens + max(0.0, now - bucket.updated) * self.rate)
        bucket.updated = max(bucket.updated, now)
        self._buckets[key] = bucket  # most recently used last, so the oldest is evicted first
        while len(self._buckets) > self._max_tracked:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


@dataclass
class _Claimed:
    """This worker's share of one shared bucket."""

    tokens: int = 0  # claimed from the shared row, not yet spent
    claimed_at: float = 0.0
    refused_until: float = 0.0  # the shared bucket had no token before this time


class _SharedBuckets:
    """The rows of `api_rate_buckets` for one scope ("ip" or "key")."""

    def __init__(self, engine: Engine, scope: str, per_minute: int, max_batch: int) -> None:
        self.engine = engine
        self.scope = scope
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_batch = max_batch
        self._created = False
        self._pruned_at = 0.0

    def claim(self, key: str, give_back: int, now: float) -> tuple[int, float]:
        """Returns `give_back` tokens to the bucket of KEY and takes a batch: (tokens taken, seconds until the
        next token when none was taken)."""
        if not self._created:  # on first use, not at app construction: the app must start while the database is down
            metadata.create_all(self.engine)
            self._created = True
        digest = hashlib.sha256(f"{self.scope}:{key}".encode()).hexdigest()[:32]
        where = and_(_buckets.c.scope == self.scope, _buckets.c.key_digest == digest)
        for _ in range(_CLAIM_ATTEMPTS):
            with self.engine.begin() as conn:
                row = conn.execute(_SELECT_BUCKET.where(where)).first()
            if row is None:
                tokens, updated, version = self.capacity, now, None
            else:
                tokens, updated, version = row
            tokens = min(self.capacity, tokens + give_back + max(0.0, now - updated) * self.rate)
            take = min(self.max_batch, max(1, int(tokens / 10))) if tokens >= 1.0 else 0
            values = {"tokens": tokens - take, "updated_ts": max(updated, now)}
            try:
                with self.engine.begin() as conn:
                    if version is None:
                        conn.execute(insert(_buckets).values(scope=self.scope, key_digest=digest, version=0, **values))
                    else:
                        swapped = conn.execute(
                            update(_buckets)
                            .where(where, _buckets.c.version == version)
                            .values(version=version + 1, **values)
                        ).rowcount
                        if swapped != 1:
                            continue  # another worker claimed in between: read again
            except IntegrityError:
                continue  # another worker created the row first
            self._prune(now)
            return take, 0.0 if take else (1.0 - values["tokens"]) / self.rate
        raise _Contended

    def _prune(self, now: float) -> None:
        if now - self._pruned_at >= _IDLE_ROW_S / 2:
            self._pruned_at = now
            with self.engine.begin() as conn:
                conn.execute(delete(_buckets).where(_buckets.c.updated_ts < now - _IDLE_ROW_S))


class _Contended(Exception):
    """Every compare-and-swap attempt lost to another worker."""


class RateLimiter:
    """`per_minute` requests a minute per key with bursts up to the same number; 0 means unlimited.

    With `engine`, the bucket of a key is shared by every process using that database (see the module's note
    for how exact that is); without, it is this process's own."""

    def __init__(
        self,
        per_minute: int,
        *,
        engine: Engine | None = None,
        scope: str = "ip",
        max_batch: int = 16,
        hold_s: float = 2.0,
        retry_s: float = 5.0,
        max_tracked: int = 50_000,
    ) -> None:
        self.per_minute = per_minute
        self.hold_s = hold_s
        self.retry_s = retry_s
        self._max_tracked = max_tracked
        self._local = _LocalBuckets(per_minute, max_tracked)
        self._shared = _SharedBuckets(engine, scope, per_minute, max_batch) if engine is not None else None
        self._claimed: OrderedDict[str, _Claimed] = OrderedDict()
        self._shared_down_until = 0.0
        self._lock = threading.Lock()

    def acquire(self, key: str, now: float | None = None) -> float:
        """Takes one token for `key`; returns 0 when allowed, else the seconds until a token is available.
        `now` is wall-clock seconds (the workers' common clock). May wait on the database: from async code, use
        `acquire_async`."""
        now = time.time() if now is None else now
        decided, give_back = self._decide_here(key, now)
        return decided if decided is not None else self._claim(key, give_back, now)

    async def acquire_async(self, key: str, now: float | None = None) -> float:
        """`acquire` for the event loop: decided in place when this process can (most requests); the claim from
        the shared bucket, a database round trip, runs in a worker thread."""
        now = time.time() if now is None else now
        decided, give_back = self._decide_here(key, now)
        if decided is not None:
            return decided
        return await anyio.to_thread.run_sync(self._claim, key, give_back, now)

    def _decide_here(self, key: str, now: float) -> tuple[float | None, int]:
        """(the answer, when this process can give it without the database; else None and the unspent tokens of
        an old batch, to return with the claim)."""
        if self.per_minute <= 0:
            return 0.0, 0
        with self._lock:
            if self._shared is None or now < self._shared_down_until:
                return self._local.acquire(key, now), 0
            claimed = self._claimed_for(key)
            if now < claimed.refused_until:
                return claimed.refused_until - now, 0
            if claimed.tokens and now - claimed.claimed_at <= self.hold_s:
                claimed.tokens -= 1
                return 0.0, 0
            give_back, claimed.tokens = claimed.tokens, 0
            return None, give_back

    def _claim(self, key: str, give_back: int, now: float) -> float:
        assert self._shared is not None
        try:
            taken, wait = self._shared.claim(key, give_back, now)
        except (SQLAlchemyError, _Contended) as exc:
            with self._lock:
                if isinstance(exc, SQLAlchemyError):
                    self._shared_down_until = now + self.retry_s
                    log.warning("shared rate limits unavailable (%s); per-process limits for now", type(exc).__name__)
                return self._local.acquire(key, now)
        with self._lock:
            claimed = self._claimed_for(key)
            if taken:
                claimed.tokens += taken - 1
                claimed.claimed_at = now
                return 0.0
            claimed.refused_until = now + wait
            return wait

    def _claimed_for(self, key: str) -> _Claimed:
        claimed = self._claimed.pop(key, None) or _Claimed()
        self._claimed[key] = claimed
        while len(self._claimed) > self._max_tracked:
            self._claimed.popitem(last=False)  # its unspent tokens return to the shared bucket by refilling
        return claimed
