"""Behaviour events: validation with clear errors, durable pseudonymous storage, the CLI bulk path, erasure."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from retrieval.events import Event
from retrieval.profiles import PROFILE_COLLECTION

ROOT = Path(__file__).resolve().parent.parent


def _db_dump(data_dir: Path) -> str:
    conn = sqlite3.connect(data_dir / "commerce.db")
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def test_timestamps_in_every_accepted_form() -> None:
    iso = Event(user_id="u", type="view", product_id="p", ts="2024-03-01T10:00:00Z")
    naive = Event(user_id="u", type="view", product_id="p", ts="2024-03-01T10:00:00")
    epoch = Event(user_id="u", type="view", product_id="p", ts=1709287200)
    epoch_text = Event(user_id="u", type="view", product_id="p", ts="1709287200.0")
    assert iso.ts == naive.ts == epoch.ts == epoch_text.ts == datetime(2024, 3, 1, 10, tzinfo=UTC)
    default = Event(user_id="u", type="search", query="camera")
    assert abs(default.ts.timestamp() - time.time()) < 5


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"user_id": "u", "type": "click", "product_id": "p"}, "type: Input should be 'view'"),
        ({"user_id": "u", "type": "view", "product_id": "p", "ts": "last tuesday"}, "ts must be ISO-8601"),
        ({"user_id": "u", "type": "view", "product_id": "p", "ts": time.time() + 10 * 86400}, "in the future"),
        ({"user_id": "u", "type": "view"}, "a view event needs a product_id"),
        ({"user_id": "u", "type": "search"}, "a search event needs a query"),
        ({"user_id": "u", "type": "rate", "product_id": "p", "value": 9}, "value from 1 to 5"),
        ({"user_id": "", "type": "view", "product_id": "p"}, "user_id"),
        ({"user_id": "u", "type": "view", "product_id": "p", "colour": "red"}, "colour: Extra inputs"),
    ],
)
def test_bad_event_rejected_with_clear_error(personal_runtime, event: dict, message: str) -> None:  # type: ignore[no-untyped-def]
    events = personal_runtime.personalization.events
    good = {"user_id": "alice", "type": "view", "product_id": "cam-sony"}
    result = events.ingest([good, event, good])
    assert result.accepted == 2
    assert [r.index for r in result.rejected] == [1]
    assert message in result.rejected[0].error
    assert personal_runtime.personalization.log.count() == 2


def test_unknown_product_rejected_and_the_rest_stored(personal_runtime) -> None:  # type: ignore[no-untyped-def]
    p = personal_runtime.personalization
    result = p.events.ingest(
        [
            {"user_id": "alice", "type": "view", "product_id": "cam-canon"},
            {"user_id": "alice", "type": "purchase", "product_id": "no-such-thing", "quantity": 2},
            "not an event",
            {"user_id": "alice", "type": "search", "query": "mirrorless camera"},
            {"user_id": "alice", "type": "rate", "product_id": "cam-canon", "value": 5},
        ],
        start_index=10,
    )
    assert result.accepted == 3
    assert [(r.index, r.error) for r in result.rejected] == [
        (11, "unknown product 'no-such-thing'"),
        (12, "an event must be an object, got str"),
    ]
    key = p.user_key("alice")
    stored = p.log.for_user(key)
    assert [e.type for e in stored] == ["view", "search", "rate"]
    assert stored[0].brand == "Canon" and stored[0].category == "cameras" and stored[0].price == 1499.0


def test_user_ids_are_pseudonymised_in_storage(personal_runtime, catalog_data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    p = personal_runtime.personalization
    p.events.ingest([{"user_id": "alice@example.com", "type": "purchase", "product_id": "coffee"}])
    p.close()
    key = p.user_key("alice@example.com")
    assert key != "alice@example.com" and len(key) == 32
    dump = _db_dump(catalog_data_dir)
    assert key in dump and "alice@example.com" not in dump
    assert personal_runtime.chroma.get_collection(PROFILE_COLLECTION).get(ids=[key])["ids"] == [key]


def test_erasure_leaves_no_trace(personal_runtime, catalog_data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    p = personal_runtime.personalization
    p.events.ingest(
        [
            {"user_id": "alice", "type": "view", "product_id": "cam-sony"},
            {"user_id": "alice", "type": "purchase", "product_id": "lens-sony"},
            {"user_id": "alice", "type": "search", "query": "tripod"},
            {"user_id": "bob", "type": "purchase", "product_id": "lens-sony"},
        ]
    )
    session = personal_runtime.sessions.load_or_create(None, "alice")
    personal_runtime.sessions.save_turn(session, [{"role": "user", "content": "hello"}])
    p.close()
    p.recommender.recommend("bob")  # the store-wide model has seen alice's events
    key = p.user_key("alice")
    assert key in _db_dump(catalog_data_dir)

    removed = personal_runtime.user_erasure.erase("alice")
    assert removed["personalization"] == 5  # 3 events, the profile row, the profile vector
    assert removed["sessions"] >= 1
    dump = _db_dump(catalog_data_dir)
    assert key not in dump and "alice" not in dump
    assert personal_runtime.chroma.get_collection(PROFILE_COLLECTION).get(ids=[key])["ids"] == []
    assert p.profiles.get(key) is None
    # The co-occurrence model no longer links lens buyers to alice's camera view.
    p.stats.refresh()
    assert "cam-sony" not in dict(p.stats.neighbours("lens-sony", 10))
    assert p.profiles.get(p.user_key("bob")) is not None


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COMMERCE_ASSISTANT_DATA_DIR": str(data_dir), "COMMERCE_ASSISTANT_LLM": "none"}
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_cli_bulk_load_reports_bad_lines_and_loads_the_rest(catalog_data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [
        json.dumps({"user_id": "u1", "type": "view", "product_id": "hp-sony", "ts": "2026-01-05T10:00:00Z"}),
        "{not json",
        "",
        json.dumps({"user_id": "u1", "type": "purchase", "product_id": "ghost"}),
        json.dumps({"user_id": "u2", "type": "add_to_cart", "product_id": "hp-bose", "ts": 1767607200}),
    ]
    path.write_text("\n".join(lines) + "\n")
    done = _cli(catalog_data_dir, "events", str(path))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["accepted"] == 2
    assert [r["line"] for r in out["rejected"]] == [2, 4]
    assert out["rejected"][0]["error"].startswith("invalid JSON")
    assert out["rejected"][1]["error"] == "unknown product 'ghost'"

    missing = _cli(catalog_data_dir, "events", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 1 and "no such file" in missing.stderr and "Traceback" not in missing.stderr

    recs = _cli(catalog_data_dir, "recommend", "--user", "u1", "--k", "3", "--json")
    assert recs.returncode == 0, recs.stderr
    body = json.loads(recs.stdout.strip().splitlines()[-1])
    assert body["user_id"] == "u1" and len(body["results"]) == 3
    assert set(body["results"][0]) == {"id", "title", "score", "why"}
