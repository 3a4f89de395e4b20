"""Event throughput and profile freshness, against a bare SQL insert measured in the same run.

    python bench/events.py [--products 2000] [--users 500] [--bulk 20000] [--live 1000]

Measures, in a fresh temporary data dir (real SQLite, real Chroma):
- bulk: events/s through `EventIngestor.ingest` in batches (the `commerce-assistant events` path);
- live: events/s and per-event latency p50/p99 through the same method one event at a time (`POST /v1/events`);
  the latency covers validation, the event insert, the profile update and the commit;
- baseline: the same events inserted as bare rows into the same table (no validation, no profile);
- freshness: time from a new event to a recommendation list that reflects it (ingest + the next recommend);
- restart: how long a new process takes to have the store-wide behaviour model (co-occurrence, trending, repeat
  rates) loading the model saved in the database, against rebuilding it from the event log (a copy of the database
  without the saved model), and checks that both give the same model.
Products get random unit vectors (the bench measures event handling, not embedding). Targets: >= 5,000 ev/s bulk,
>= 1,000 ev/s live, profile update p99 <= 10 ms.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.db import make_engine  # noqa: E402
from retrieval.catalog_store import CatalogStore  # noqa: E402
from retrieval.chroma import make_chroma_client  # noqa: E402
from retrieval.events import EventLog, events_table  # noqa: E402
from retrieval.models import Product  # noqa: E402
from retrieval.personalization import Personalization  # noqa: E402
from retrieval.signals import BehaviourStats, snapshots_table  # noqa: E402


class _RandomEmbedder:
    name = "bench-random"
    dim = 384

    def encode(self, texts: list[str]) -> np.ndarray:
        rng = np.random.default_rng(len(texts))
        vectors = rng.normal(size=(len(texts), self.dim)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    encode_query = encode


def _events(n: int, users: int, products: int, rng: np.random.Generator, start_ts: float) -> list[dict]:
    types = rng.choice(["view", "view", "view", "add_to_cart", "purchase", "search"], size=n)
    out = []
    for i, kind in enumerate(types):
        event = {"user_id": f"user-{rng.integers(users)}", "type": str(kind), "ts": start_ts + i * 0.5}
        if kind == "search":
            event["query"] = f"query {rng.integers(100)}"
        else:
            event["product_id"] = f"p{int(rng.zipf(1.3)) % products}"
        out.append(event)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--bulk", type=int, default=20000)
    parser.add_argument("--live", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    work = Path(tempfile.mkdtemp(prefix="bench-events-"))
    print(f"work dir {work}", file=sys.stderr)

    client = make_chroma_client(work / "chroma")
    store = CatalogStore(client, _RandomEmbedder())
    catalog = [
        Product(id=f"p{i}", title=f"Product {i}", brand=f"brand {i % 40}", category=f"category {i % 25}",
                price=float(5 + i % 300))
        for i in range(args.products)
    ]
    for start in range(0, len(catalog), 2000):
        store.upsert(catalog[start : start + 2000])
    engine = make_engine(f"sqlite:///{work / 'commerce.db'}")
    p = Personalization(engine, client, store, work)
    p.lookup.products([c.id for c in catalog])  # warm cache, as a running server has
    p.lookup.vectors([c.id for c in catalog])
    now = time.time()

    # --- baseline: bare rows into the same table ----------------------------------------------------------------
    bulk = _events(args.bulk, args.users, args.products, rng, now - 30 * 86400)
    accepted, _ = p.events.validate(bulk)
    baseline_engine = make_engine(f"sqlite:///{work / 'baseline.db'}")
    events_table.metadata.create_all(baseline_engine)
    started = time.perf_counter()
    rows = [e.row() for e in accepted]
    for s in range(0, len(rows), args.batch):
        with baseline_engine.begin() as conn:
            conn.execute(insert(events_table), rows[s : s + args.batch])
    baseline_bulk = len(rows) / (time.perf_counter() - started)

    # --- bulk through the events path ---------------------------------------------------------------------------
    started = time.perf_counter()
    for s in range(0, len(bulk), args.batch):
        p.events.ingest(bulk[s : s + args.batch])
    bulk_rate = len(bulk) / (time.perf_counter() - started)
    flush_started = time.perf_counter()
    flushed = p.vectors.flush()
    flush_s = time.perf_counter() - flush_started

    # --- live: one event per call -------------------------------------------------------------------------------
    live = _events(args.live, args.users, args.products, rng, now - 3600)
    latencies = []
    started = time.perf_counter()
    for event in live:
        t = time.perf_counter()
        p.events.ingest([event])
        latencies.append(time.perf_counter() - t)
    live_rate = len(live) / (time.perf_counter() - started)
    single_rows = [e.row() for e in p.events.validate(live[:300])[0]]
    base_lat = []
    for row in single_rows:
        t = time.perf_counter()
        with baseline_engine.begin() as conn:
            conn.execute(insert(events_table), [row])
        base_lat.append(time.perf_counter() - t)

    # --- freshness: event -> changed recommendation -------------------------------------------------------------
    fresh = []
    for i in range(20):
        user = f"fresh-{i}"
        before = [r.product.id for r in p.recommender.recommend(user, 10)]
        target = next(c.id for c in catalog[::-1] if c.id not in before)
        t = time.perf_counter()
        p.events.ingest([{"user_id": user, "type": "view", "product_id": target}] * 2)
        after = [r.product.id for r in p.recommender.recommend(user, 10)]
        fresh.append(time.perf_counter() - t)
        assert target in after and after != before, "the event did not change the recommendation"
    p.close()  # saves the store-wide model, as a bulk load or a server stopping does

    # --- restart: load the saved model vs rebuild it from the log -----------------------------------------------
    source, copy = sqlite3.connect(work / "commerce.db"), sqlite3.connect(work / "rebuild.db")
    source.backup(copy)  # a file copy would miss what is still in the write-ahead log
    source.close()
    copy.close()
    rebuild_engine = make_engine(f"sqlite:///{work / 'rebuild.db'}")
    with rebuild_engine.begin() as conn:
        conn.execute(update(snapshots_table).values(data=None, last_id=0))
    started = time.perf_counter()
    loaded = BehaviourStats(EventLog(engine))
    loaded.refresh()
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    rebuilt = BehaviourStats(EventLog(rebuild_engine))
    rebuilt.refresh()
    rebuild_s = time.perf_counter() - started
    assert loaded.last_id == rebuilt.last_id and loaded.neighbours("p1", 20) == rebuilt.neighbours("p1", 20), (
        "the saved model differs from the rebuilt one"
    )

    ms = lambda xs, q: float(np.percentile(np.asarray(xs) * 1000, q))  # noqa: E731
    result = {
        "setup": {"products": args.products, "users": args.users, "bulk_events": args.bulk,
                  "live_events": args.live, "batch": args.batch},
        "bulk_events_per_s": round(bulk_rate),
        "bulk_baseline_bare_insert_per_s": round(baseline_bulk),
        "bulk_ratio_vs_bare_insert": round(bulk_rate / baseline_bulk, 3),
        "live_events_per_s": round(live_rate),
        "live_latency_ms_p50": round(ms(latencies, 50), 3),
        "live_latency_ms_p99": round(ms(latencies, 99), 3),
        "bare_insert_latency_ms_p50": round(ms(base_lat, 50), 3),
        "bare_insert_latency_ms_p99": round(ms(base_lat, 99), 3),
        "live_p50_ratio_vs_bare_insert": round(ms(latencies, 50) / ms(base_lat, 50), 2),
        "profile_vectors_flushed": flushed,
        "profile_vector_flush_s": round(flush_s, 3),
        "event_to_changed_recommendation_ms_p50": round(ms(fresh, 50), 2),
        "event_to_changed_recommendation_ms_max": round(max(fresh) * 1000, 2),
        "restart_events_in_log": loaded.last_id,
        "restart_load_saved_model_s": round(load_s, 3),
        "restart_rebuild_from_log_s": round(rebuild_s, 3),
        "restart_ratio_rebuild_vs_load": round(rebuild_s / load_s, 1),
        "targets": {
            "bulk >= 5000 ev/s": bulk_rate >= 5000,
            "live >= 1000 ev/s": live_rate >= 1000,
            "profile update p99 <= 10 ms": ms(latencies, 99) <= 10,
        },
        "note": "2 CPU cores shared with other jobs: absolute figures are inflated; ratios are in-run",
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
