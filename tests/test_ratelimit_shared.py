"""Rate limits shared through the SQL database: several limiters on one database (as several `serve` workers would
be) admit together exactly what one bucket allows, lose no token to a worker's unspent batch, and fall back to
per-process buckets while the database cannot be reached. Real SQLite; the two-process version on PostgreSQL is
tests/test_services_ratelimit.py."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from sqlalchemy import Engine, create_engine

from ui.api.ratelimit import RateLimiter

T = 1_800_000_000.0  # a fixed wall-clock time: the tests move it by hand


def _engine(tmp_path: Path) -> Engine:
    return create_engine(f"sqlite:///{tmp_path / 'limits.db'}")


def _admitted(limiters: list[RateLimiter], attempts: int, now: float, key: str = "k") -> int:
    """Requests for KEY sent round-robin to the limiters at one instant; how many were admitted."""
    return sum(limiters[i % len(limiters)].acquire(key, now=now) == 0 for i in range(attempts))


def test_two_workers_admit_together_what_one_bucket_allows(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    workers = [RateLimiter(30, engine=engine, scope="key") for _ in range(2)]
    assert _admitted(workers, 100, T) == 30  # per-process buckets would have let 60 through
    # Ten seconds refill 30/60 × 10 = 5 tokens, for both workers together.
    assert _admitted(workers, 100, T + 10) == 5
    # Another key and the other scope have buckets of their own.
    assert _admitted(workers, 10, T + 10, key="other") == 10
    assert RateLimiter(30, engine=engine, scope="ip").acquire("k", now=T + 10) == 0


def test_the_event_loop_path_shares_the_same_bucket(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    workers = [RateLimiter(30, engine=engine, scope="key") for _ in range(2)]

    async def send(attempts: int) -> int:
        return sum([await workers[i % 2].acquire_async("k", now=T) == 0 for i in range(attempts)])

    assert anyio.run(send, 100) == 30


def test_a_refused_caller_is_told_when_to_retry(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    a, b = (RateLimiter(6, engine=engine, scope="key") for _ in range(2))
    assert _admitted([a, b], 6, T) == 6
    assert b.acquire("k", now=T) == pytest.approx(10.0)  # 6 a minute: the next token in 10 s
    assert a.acquire("k", now=T + 4) == pytest.approx(6.0)
    assert a.acquire("k", now=T + 10) == 0


def test_an_unspent_batch_goes_back_to_the_shared_bucket(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    a, b = (RateLimiter(60, engine=engine, scope="key", hold_s=1.0) for _ in range(2))
    assert a.acquire("k", now=T) == 0  # claims a batch of 6, spends one, holds five
    held_by_a = 5
    assert _admitted([b], 100, T) == 60 - 1 - held_by_a
    # Once its batch is older than hold_s, A returns it with its next claim: no token is lost to the hoard.
    later = T + 1.5  # 1.5 s refill 1.5 tokens at 60 a minute
    assert _admitted([a], 100, later) == held_by_a + 1


def test_database_down_falls_back_to_per_process_buckets(tmp_path: Path) -> None:
    unreachable = create_engine(f"sqlite:///{tmp_path / 'no such dir' / 'limits.db'}")
    limiter = RateLimiter(3, engine=unreachable, scope="ip")
    assert _admitted([limiter], 5, T) == 3
    assert limiter.acquire("k", now=T) > 0
