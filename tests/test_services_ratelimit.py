"""Two `serve` workers on one PostgreSQL database share the rate limits: one API key sending to both is limited
to the key's rate in total, not once per worker."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from service_engines import Engines, Worker, base_env

pytestmark = pytest.mark.services

PER_MINUTE = 30


def test_one_key_on_two_workers_is_limited_in_total(engines: Engines, tmp_path: Path) -> None:
    limits = {"COMMERCE_ASSISTANT_API_KEYS": "shared-key", "COMMERCE_ASSISTANT_RATE_LIMIT_PER_KEY": str(PER_MINUTE)}
    workers: list[Worker] = []
    try:
        for name in ("a", "b"):
            workers.append(
                Worker(base_env(tmp_path / name, engines, **limits), log_path=tmp_path / f"{name}.log").start()
            )
        statuses: dict[str, Counter[int]] = {w.url: Counter() for w in workers}
        clients = [httpx.Client(base_url=w.url, timeout=60, headers={"X-API-Key": "shared-key"}) for w in workers]
        began = time.monotonic()
        for i in range(4 * PER_MINUTE):
            client = clients[i % 2]
            statuses[str(client.base_url).rstrip("/")][client.get("/v1/models").status_code] += 1
        elapsed = time.monotonic() - began
    finally:
        for worker in workers:
            worker.kill()
    admitted = sum(c[200] for c in statuses.values())
    assert all(set(c) <= {200, 429} for c in statuses.values()), statuses
    # The bucket: PER_MINUTE at once, then PER_MINUTE/60 a second. Per-worker buckets would admit 2 × PER_MINUTE.
    assert PER_MINUTE <= admitted <= PER_MINUTE + elapsed * PER_MINUTE / 60 + 1, (admitted, elapsed, statuses)
    assert all(c[200] and c[429] for c in statuses.values()), statuses  # both workers admit and refuse
