"""The chat, search, events and user endpoints against the real engine on the sample store (`--llm none`), over
a real uvicorn server on loopback: SSE framing, the official `openai` client, image limits, erasure."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_server import serving
from openai import OpenAI

from assistant.config import Settings
from assistant.runtime import Runtime
from assistant.store.loading import ensure_sample_store
from ui.api import create_app
from ui.api.settings import ApiSettings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    runtime = Runtime(Settings(data_dir=tmp_path_factory.mktemp("api") / "data", llm="none"))
    ensure_sample_store(runtime, progress=False)
    app = create_app(runtime, api_settings=ApiSettings(max_image_bytes=200_000, rate_limit_per_ip=0))
    with serving(app) as url:
        yield url


@pytest.fixture()
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=60) as c:
        yield c


def sse_frames(raw: str) -> list[tuple[str, dict]]:
    """Parses a text/event-stream body strictly: frames end at a blank line; comments (pings) are skipped."""
    frames = []
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        fields = dict(line.split(": ", 1) for line in lines)
        assert set(fields) == {"event", "data"}, block
        frames.append((fields["event"], json.loads(fields["data"])))
    return frames


def test_chat_returns_the_interface_object(client: httpx.Client) -> None:
    r = client.post("/v1/chat", json={"message": "wireless headphones under $150", "user_id": "shopper-1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"session_id", "reply", "products", "actions", "moderation", "handoff", "latency_ms"} <= set(body)
    assert body["products"], body
    for p in body["products"]:
        assert {"id", "title", "price", "currency", "in_stock", "why"} <= set(p)
        assert p["price"] <= 150
    follow = client.post("/v1/chat", json={"message": "which one is the cheapest?", "session_id": body["session_id"]})
    assert follow.status_code == 200
    assert follow.json()["session_id"] == body["session_id"]


def test_stream_framing(client: httpx.Client) -> None:
    with client.stream("POST", "/v1/chat/stream", json={"message": "show me coffee makers"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = "".join(r.iter_text())
    frames = sse_frames(raw)
    names = [name for name, _ in frames]
    assert names[-1] == "done" and names.count("done") == 1
    assert "token" in names and "products" in names
    assert names.index("products") < names.index("done")
    tokens = "".join(data["text"] for name, data in frames if name == "token")
    done = frames[-1][1]
    assert done["reply"] == tokens
    assert done["products"] == next(data for name, data in frames if name == "products")["products"]


def test_stream_rejects_bad_input_before_streaming(client: httpx.Client) -> None:
    r = client.post("/v1/chat/stream", json={"message": "   "})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    r = client.post("/v1/chat/stream", json={"message": "hi", "session_id": "../../etc"})
    assert r.status_code == 422


def test_image_limits(client: httpx.Client) -> None:
    r = client.post("/v1/chat", json={"message": "is this ok?", "image_base64": "not base64 at all!"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_image"
    big = base64.b64encode(b"\xff" * 300_000).decode()
    r = client.post("/v1/chat", json={"message": "look", "image_base64": big})
    assert r.status_code == 413 and r.json()["error"]["code"] == "image_too_large"


def test_image_is_accepted(client: httpx.Client, shared_data: Path) -> None:
    data = (shared_data / "images" / "rocket.jpg").read_bytes()
    encoded = "data:image/jpeg;base64," + base64.b64encode(data).decode()
    r = client.post("/v1/chat", json={"message": "do you sell this?", "image_base64": encoded})
    assert r.status_code == 200, r.text
    assert r.json()["reply"]


def test_openai_client_plain_and_streaming(server: str) -> None:
    ai = OpenAI(base_url=f"{server}/v1", api_key="unused-on-loopback", max_retries=0)
    assert [m.id for m in ai.models.list().data] == ["commerce-assistant"]
    history = [{"role": "user", "content": "I want a laptop"}]
    thread = {"X-Conversation-ID": "oa-thread-1"}  # the client's own name for the conversation
    first = ai.chat.completions.create(
        model="commerce-assistant", messages=history, user="oa-user", extra_headers=thread
    )
    reply = first.choices[0].message.content
    assert reply and first.choices[0].finish_reason == "stop"
    session = first.model_extra["commerce"]["session_id"]

    history += [{"role": "assistant", "content": reply}, {"role": "user", "content": "the cheapest one please"}]
    stream = ai.chat.completions.create(
        model="commerce-assistant", messages=history, user="oa-user", stream=True, extra_headers=thread
    )
    pieces, finish, extra = [], None, None
    for chunk in stream:
        delta = chunk.choices[0].delta
        pieces.append(delta.content or "")
        finish = chunk.choices[0].finish_reason or finish
        extra = (chunk.model_extra or {}).get("commerce") or extra
    assert "".join(pieces).strip() and finish == "stop"
    assert extra["session_id"] == session  # the conversation id continued the same conversation
    # The same id as a body field; and without one, a resent history is a new conversation (never matched).
    again = ai.chat.completions.create(
        model="commerce-assistant", messages=history, user="oa-user", extra_body={"conversation_id": "oa-thread-1"}
    )
    assert again.model_extra["commerce"]["session_id"] == session
    fresh = ai.chat.completions.create(model="commerce-assistant", messages=history, user="oa-user")
    assert fresh.model_extra["commerce"]["session_id"] != session


def test_openai_errors_keep_our_shape(client: httpx.Client) -> None:
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "hi"}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    r = client.post("/v1/chat/completions", json={"messages": []})
    assert r.status_code == 422


def test_events_change_recommendations_and_erasure_removes_them(client: httpx.Client) -> None:
    product = client.get("/v1/search", params={"q": "running shoes", "k": 1}).json()["results"][0]["id"]
    events = [{"user_id": "erase-me", "type": "view", "product_id": product} for _ in range(3)]
    events.append({"user_id": "erase-me", "type": "view", "product_id": "no-such-product"})
    r = client.post("/v1/events", json=events)
    assert r.status_code == 200
    assert r.json()["accepted"] == 3 and r.json()["rejected"][0]["index"] == 3
    recs = client.get("/v1/users/erase-me/recommendations", params={"k": 5}).json()
    assert recs["user_id"] == "erase-me" and recs["results"]
    assert any(r["why"] for r in recs["results"])
    gone = client.delete("/v1/users/erase-me")
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    assert gone.json()["removed"]["personalization"] >= 3
    bad = client.post("/v1/events", json={"user_id": "x", "type": "teleport"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_event"


def test_body_limit_holds_without_content_length(server: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"message": "'
        for _ in range(10_000):
            yield b"y" * 1000
        yield b'"}'

    with httpx.Client(base_url=server, timeout=30) as c:
        r = c.post("/v1/chat", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


def test_metrics_place_a_turn_in_its_pool_and_stages(client: httpx.Client) -> None:
    """The server's own view that `bench/load.py` reads: time waited for a worker slot, per pool, and per stage."""
    assert client.post("/v1/chat", json={"message": "show me laptops", "user_id": "metrics-1"}).status_code == 200
    assert client.get("/v1/search", params={"q": "laptop"}).status_code == 200
    text = client.get("/metrics").text
    counts = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line.startswith(("commerce_worker_slot_wait_seconds_count", "commerce_turn_stage_seconds_count"))
    }
    assert counts['commerce_worker_slot_wait_seconds_count{pool="turn"}'] >= 1
    assert counts['commerce_worker_slot_wait_seconds_count{pool="work"}'] >= 1
    assert counts['commerce_turn_stage_seconds_count{stage="moderation"}'] >= 1


def test_warm_up_loads_the_chinese_segmenter(tmp_path: Path) -> None:
    """Its first use costs seconds holding the GIL: the warm-up pays it, not the first Chinese shopper (and every
    request in flight with them). A fresh process, so nothing else has loaded it."""
    script = (
        "import sys, jieba\n"
        "from assistant.config import Settings\n"
        "from assistant.runtime import Runtime\n"
        "from ui.api.warmup import warmup_stages\n"
        "stages = warmup_stages(Runtime(Settings(data_dir=sys.argv[1], llm='none')))\n"
        "stages[1]['catalog']()\n"
        "assert not jieba.dt.initialized\n"
        "stages[2]['search']()\n"
        "print(jieba.dt.initialized)\n"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "data")], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True"
