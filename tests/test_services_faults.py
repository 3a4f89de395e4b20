"""PostgreSQL restarted under load: requests in flight get a 503 with Retry-After (never a 500), service resumes
by itself, and exactly the events answered 200 are stored."""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from service_engines import ROOT, Engines, Worker, base_env, cli
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.services

SAMPLE_STORE = ROOT / "assistant" / "sample_store"


def test_database_restart_under_load(engines: Engines, tmp_path: Path) -> None:
    loaded = cli("store", "import", str(SAMPLE_STORE), env=base_env(tmp_path / "loader", engines))
    assert loaded.returncode == 0, loaded.stderr
    worker = Worker(base_env(tmp_path / "w", engines), log_path=tmp_path / "w.log").start()
    statuses: Counter[int] = Counter()
    bodies: dict[int, str] = {}
    stored_ok = 0
    restarted = threading.Event()
    ok_after_restart = threading.Event()
    stop = threading.Event()

    def traffic() -> None:
        nonlocal stored_ok
        i = 0
        with httpx.Client(base_url=worker.url, timeout=60) as client:
            while not stop.is_set():
                i += 1
                event = {"user_id": f"load-{i % 13}", "type": "view", "product_id": "5942859575", "ts": 1.7e9 + i}
                try:
                    r = client.post("/v1/events", json=event)
                except httpx.TransportError:
                    statuses[-1] += 1
                    continue
                statuses[r.status_code] += 1
                if r.status_code not in (200, 503) and r.status_code not in bodies:
                    bodies[r.status_code] = r.text
                if r.status_code == 200:
                    stored_ok += 1
                    if restarted.is_set():
                        ok_after_restart.set()
                elif r.status_code == 503:
                    assert int(r.headers["Retry-After"]) > 0
                if i % 5 == 0:
                    statuses[client.get("/v1/search", params={"q": "headphones", "k": 3}).status_code] += 1

    thread = threading.Thread(target=traffic, daemon=True)
    try:
        thread.start()
        time.sleep(4)
        subprocess.run(["bash", str(ROOT / "scripts" / "services.sh"), "restart-db"], check=True, timeout=120)
        restarted.set()
        assert ok_after_restart.wait(60), f"no success after the restart: {statuses} {bodies}"
        time.sleep(2)
    finally:
        stop.set()
        thread.join(60)
        worker.kill()
    assert set(statuses) <= {200, 503}, (statuses, bodies)
    assert statuses[200] > 0
    db = create_engine(engines.database_url)
    with db.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM behaviour_events")).scalar_one()
    db.dispose()
    assert count == stored_ok, (count, stored_ok, statuses)
