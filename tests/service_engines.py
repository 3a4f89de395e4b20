"""Helpers for the tests that run on the scale-out engines (PostgreSQL and a Chroma server, started by
`scripts/services.sh`) and for tests that run `serve` workers as separate processes.

Every test gets a PostgreSQL database and a Chroma database of its own (created on the servers and dropped after),
so service-backed tests never see each other's rows, even when two test runs share the servers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from retrieval.crypto import generate_key

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Engines:
    """The URLs one test uses: its own PostgreSQL database and the (emptied) Chroma server, and the encryption key
    every process on that database shares (a key generated into each data dir could not read another's rows)."""

    database_url: str
    chroma_url: str
    encryption_key: str = field(default_factory=generate_key)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server of SERVER_URL, dropped (with its connections) afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    # No pool: a test may restart the server, and the teardown must not reuse a dead connection.
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def fresh_chroma_database(server_url: str) -> Iterator[str]:
    """A URL naming a new database on the Chroma server (created on first use), deleted afterwards."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    name = f"t_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{server_url.rstrip('/')}/{name}"
    finally:
        parsed = urlparse(server_url)
        admin = chromadb.AdminClient(
            ChromaSettings(
                chroma_api_impl="chromadb.api.fastapi.FastAPI",
                chroma_server_host=parsed.hostname,
                chroma_server_http_port=parsed.port,
                anonymized_telemetry=False,
            )
        )
        with contextlib.suppress(Exception):  # never created (the test failed first) or the server is gone
            admin.delete_database(name)


def cli(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`commerce-assistant ARGS` in a child process with ENV."""
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def base_env(data_dir: Path, engines: Engines | None = None, **extra: str) -> dict[str, str]:
    """The environment of a child process: no LLM, no rate limits, this data dir and (optionally) these engines."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("COMMERCE_ASSISTANT_DATABASE_URL", "COMMERCE_ASSISTANT_CHROMA_URL")
    }
    env.update(
        COMMERCE_ASSISTANT_DATA_DIR=str(data_dir),
        COMMERCE_ASSISTANT_LLM="none",
        COMMERCE_ASSISTANT_RATE_LIMIT_PER_IP="0",
        COMMERCE_ASSISTANT_RATE_LIMIT_PER_KEY="0",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        PYTHONUNBUFFERED="1",
    )
    if engines is not None:
        env["COMMERCE_ASSISTANT_DATABASE_URL"] = engines.database_url
        env["COMMERCE_ASSISTANT_CHROMA_URL"] = engines.chroma_url
        env["COMMERCE_ASSISTANT_ENCRYPTION_KEYS"] = engines.encryption_key
    env.update(extra)
    return env


@dataclass
class Worker:
    """One `commerce-assistant serve --no-gradio` process on a loopback port."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 240) -> Worker:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115 (kept for the child)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--no-gradio", "--port", str(self.port)],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker on port {self.port} exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"worker on port {self.port} did not start in {timeout_s} s")

    def wait_ready(self, timeout_s: float = 300) -> dict:
        """Waits until /healthz says every component is warm; returns the last report."""
        deadline = time.monotonic() + timeout_s
        report: dict = {}
        while time.monotonic() < deadline:
            report = httpx.get(f"{self.url}/healthz", timeout=5).json()
            if report.get("ready"):
                return report
            time.sleep(0.5)
        raise RuntimeError(f"worker on port {self.port} not ready: {report}")

    def kill(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
