"""`commerce-assistant serve` as a user runs it: a real subprocess, the printed URLs, readiness, clean errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from live_server import free_port

ROOT = Path(__file__).resolve().parent.parent


def _serve(data_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "COMMERCE_ASSISTANT_LLM": "none"}
    command = [
        sys.executable,
        "-m",
        "assistant",
        "--data-dir",
        str(data_dir),
        "serve",
        "--port",
        str(port),
        "--no-gradio",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_serve_loads_the_sample_store_and_becomes_ready(tmp_path: Path) -> None:
    port = free_port()
    process = _serve(tmp_path / "data", port)
    try:
        deadline = time.monotonic() + 240
        health: dict = {}
        while time.monotonic() < deadline and not health.get("ready"):
            assert process.poll() is None, process.stderr.read()
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
            except httpx.HTTPError:
                time.sleep(0.5)
                continue
            assert health["status"] in ("starting", "ok"), health
            time.sleep(0.5)
        assert health.get("status") == "ok", health
        assert set(health["components"]) >= {"database", "catalog", "search", "moderation", "llm"}
        found = httpx.get(f"http://127.0.0.1:{port}/v1/search", params={"q": "headphones"}).json()["results"]
        assert found, "the sample store was not loaded"
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    for path in ("/widget/demo", "/review", "/docs", "/healthz", "/metrics"):
        assert f"http://127.0.0.1:{port}{path}" in err


def test_serve_on_a_busy_port_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        process = _serve(tmp_path / "data", busy.getsockname()[1])
        _, err = process.communicate(timeout=120)
    assert process.returncode == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith("error: cannot listen on 127.0.0.1:")
    assert "Traceback" not in err
