"""SIGKILL in the middle of a bulk event load: what was committed stays, nothing is half-written, and running
the same load again resumes after the last committed line, so in the end every event is stored exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from assistant.config import Settings
from assistant.runtime import Runtime
from assistant.store.loading import SAMPLE_STORE_DIR, ensure_sample_store

EVENTS = 60_000  # a load of several seconds: the kill must land while batches are still coming


def _count(data_dir: Path) -> int:
    runtime = Runtime(Settings(data_dir=data_dir, llm="none"))
    try:
        return runtime.events.log.count()
    finally:
        runtime.personalization.close()
        runtime.db.dispose()


def _load(data_dir: Path, path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "assistant", "--data-dir", str(data_dir), "events", str(path), "--batch", "200", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killed_event_load_resumes_exactly_once(data_dir: Path, tmp_path: Path) -> None:
    ensure_sample_store(Runtime(Settings(data_dir=data_dir, llm="none")), progress=False)
    products = list(json.loads((SAMPLE_STORE_DIR / "products.json").read_text(encoding="utf-8")))
    path = tmp_path / "events.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i in range(EVENTS):
            kind = ("view", "add_to_cart", "purchase")[i % 3]
            out.write(
                json.dumps(
                    {
                        "user_id": f"u{i % 97}",
                        "type": kind,
                        "product_id": products[i % len(products)],
                        "ts": 1_700_000_000 + i,
                    }
                )
                + "\n"
            )
        out.write("{not json\n")  # one bad line: reported, never stored, never blocks the resume

    first = _load(data_dir, path)
    deadline = time.monotonic() + 300
    while _count(data_dir) < 400:  # a few batches committed, more to come
        assert first.poll() is None, f"the load finished before it could be killed: {first.stderr.read()[-500:]}"
        assert time.monotonic() < deadline, "no batch committed in time"
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    committed = _count(data_dir)
    assert 0 < committed < EVENTS and committed % 200 == 0, committed  # whole batches only

    second = _load(data_dir, path)
    out, err = second.communicate(timeout=600)
    assert second.returncode == 0, err[-2000:]
    result = json.loads(out)
    assert result["already_loaded"] >= committed
    assert result["accepted"] == EVENTS - committed
    assert [r["line"] for r in result["rejected"]] == [EVENTS + 1]
    assert _count(data_dir) == EVENTS

    third = _load(data_dir, path)
    out, err = third.communicate(timeout=600)
    assert third.returncode == 0, err[-2000:]
    assert json.loads(out)["accepted"] == 0 and _count(data_dir) == EVENTS
