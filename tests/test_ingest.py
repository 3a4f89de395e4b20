"""Ingest into a real Chroma store with the real embedder: idempotence, updates, rejected rows, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from retrieval.catalog_store import CatalogStore
from retrieval.chroma import make_chroma_client
from retrieval.embeddings import get_embedder
from retrieval.ingest import ingest
from retrieval.readers import read_catalog

ROOT = Path(__file__).resolve().parent.parent
KINDS = ["usb cable", "wireless mouse", "bluetooth speaker", "laptop bag", "toner cartridge", "memory card"]


def write_catalog(path: Path, n: int, price_of: dict[int, float] | None = None) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            price = (price_of or {}).get(i, 5.0 + i % 50)
            fh.write(json.dumps({"id": f"p{i}", "title": f"Acme {KINDS[i % len(KINDS)]} model {i}", "brand": "Acme",
                                 "price": price, "description": f"A {KINDS[i % len(KINDS)]} number {i}."}) + "\n")
    return path


def open_store(data_dir: Path) -> CatalogStore:
    return CatalogStore(make_chroma_client(data_dir / "chroma"), get_embedder())


def test_reingest_is_idempotent_and_updates_in_place(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    catalog = write_catalog(tmp_path / "c.jsonl", 40)
    first = ingest(store, read_catalog(catalog), progress=False)
    assert (first.ingested, first.updated, first.unchanged, first.rejected) == (40, 0, 0, [])
    revision = store.revision()
    again = ingest(store, read_catalog(catalog), progress=False)
    assert (again.ingested, again.updated, again.unchanged) == (0, 0, 40)
    assert store.revision() == revision, "an unchanged re-ingest writes nothing"
    before = store.embeddings(["p3"])
    write_catalog(catalog, 41, price_of={3: 99.0})
    changed = ingest(store, read_catalog(catalog), progress=False)
    assert (changed.ingested, changed.updated, changed.unchanged) == (1, 1, 39)
    assert store.count() == 41
    product = store.get("p3")
    assert product is not None and product.price == 99.0
    assert store.embeddings(["p3"]).shape == before.shape
    assert [p.id for p in store.get_many(["p40", "nope", "p0"])] == ["p40", "p0"]


def test_products_round_trip_exactly(shared_data: Path, tmp_path: Path) -> None:
    store = open_store(tmp_path)
    products = [p for p in read_catalog(shared_data / "retail-store")][:5]
    products += [p for p in read_catalog(shared_data / "dummyjson" / "products.json")][:5]
    ingest(store, products, progress=False)
    for product in products:
        assert store.get(product.id) == product


def test_rejected_rows_keep_their_numbers_and_the_rest_goes_in(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,title,price\n1,Cable,3\n2,Mouse,cheap\n3,,4\n4,Speaker,20\n", encoding="utf-8")
    result = ingest(open_store(tmp_path), read_catalog(path), progress=False)
    assert result.ingested == 2
    assert [r.row for r in result.rejected] == [3, 4]


def test_cli_ingest_json_and_clean_errors(data_dir: Path, tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "c.jsonl", 12)
    env = {**os.environ}
    run = [sys.executable, "-m", "assistant", "ingest"]
    out = subprocess.run([*run, str(catalog)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"ingested": 12, "updated": 0, "unchanged": 0, "rejected": []}
    assert "ingest" in out.stderr  # progress bar
    bad = subprocess.run([*run, str(tmp_path / "missing.jsonl")], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=300)
    assert bad.returncode == 1 and bad.stderr.startswith("error:") and "Traceback" not in bad.stderr


def test_killed_ingest_resumes_without_duplicates(data_dir: Path, tmp_path: Path) -> None:
    n = 3000
    catalog = write_catalog(tmp_path / "big.jsonl", n)
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "ingest", str(catalog)], cwd=ROOT, env={**os.environ},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    seen = bytearray()

    def pump() -> None:
        assert proc.stderr is not None
        while chunk := proc.stderr.read1(256):  # type: ignore[attr-defined]
            seen.extend(chunk)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    deadline = time.monotonic() + 240
    while b"768/" not in seen and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.fail(f"ingest ended before it could be killed: {seen.decode(errors='replace')[-300:]}")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    reader.join(timeout=5)

    store = open_store(data_dir)
    partial = store.count()
    assert 0 < partial < n
    resumed = ingest(store, read_catalog(catalog), progress=False)
    assert resumed.unchanged == partial and resumed.ingested == n - partial and resumed.updated == 0
    assert store.count() == n and len(set(store.all_ids())) == n
