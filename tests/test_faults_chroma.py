"""The Chroma server going away under a running app: a clear 503 with Retry-After (never a 500 or a hang), the
parts that do not need Chroma keep answering, and everything recovers once the server is back."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from service_engines import free_port

from assistant.config import Settings
from assistant.runtime import Runtime
from assistant.store.loading import ensure_sample_store
from retrieval.catalog_store import REVISION_TTL_S
from ui.api import create_app
from ui.api.settings import ApiSettings

CHROMA = shutil.which("chroma")
KEY = "fault-test-key"
pytestmark = pytest.mark.skipif(CHROMA is None, reason="the `chroma` server command is not installed")


class ChromaServer:
    """`chroma run` on a fixed loopback port and path, so it can be stopped and started again with its data."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert CHROMA is not None
        self.process = subprocess.Popen(
            [CHROMA, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("chroma server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


@pytest.fixture()
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    yield server
    server.stop()


def test_chroma_down_gives_503_and_recovers(chroma_server: ChromaServer, tmp_path: Path) -> None:
    runtime = Runtime(Settings(data_dir=tmp_path / "data", llm="none", chroma_url=chroma_server.url, secret_keys=[KEY]))
    ensure_sample_store(runtime, progress=False)
    app = create_app(runtime, api_settings=ApiSettings(rate_limit_per_ip=0))
    with TestClient(app, headers={"X-API-Key": KEY}) as client:
        assert client.get("/v1/search", params={"q": "headphones"}).status_code == 200
        event = {"user_id": "u1", "type": "view", "product_id": "5942859575"}
        assert client.post("/v1/events", json=event).status_code == 200

        chroma_server.stop()
        # Search reads the catalog revision at most once per REVISION_TTL_S; past that it must notice the outage.
        time.sleep(REVISION_TTL_S + 0.1)
        for method, path, body in (("GET", "/v1/search?q=headphones", None),):
            r = client.request(method, path, json=body)
            assert r.status_code == 503, (path, r.status_code, r.text)
            assert int(r.headers["Retry-After"]) > 0
            assert r.json()["error"]["code"] == "service_unavailable"
        # An event is either kept (its profile vector is written to Chroma later) or refused whole with a 503.
        during = client.post("/v1/events", json=event)
        assert during.status_code in (200, 503), during.text
        kept = 2 if during.status_code == 200 else 1
        chat = client.post("/v1/chat", json={"message": "show me headphones"})
        assert chat.status_code in (200, 503), chat.text
        # Moderation needs no vector store: it keeps answering.
        assert client.post("/v1/moderate", json={"text": "hello there"}).status_code == 200

        chroma_server.start()
        r = client.get("/v1/search", params={"q": "headphones"})
        assert r.status_code == 200 and r.json()["results"], r.text
        assert client.post("/v1/chat", json={"message": "show me headphones"}).json()["products"]
        # Nothing half-stored: exactly the events answered 200 are in the log.
        assert client.post("/v1/events", json=event).status_code == 200
        assert runtime.events.log.count() == kept + 1
        assert client.get("/v1/users/u1/recommendations").status_code == 200


def test_chroma_down_at_startup_is_503_not_422(tmp_path: Path) -> None:
    # Nothing listens on this port: the client cannot even be built.
    url = f"http://127.0.0.1:{free_port()}"
    runtime = Runtime(Settings(data_dir=tmp_path / "data", llm="none", chroma_url=url, secret_keys=[KEY]))
    app = create_app(runtime, api_settings=ApiSettings(rate_limit_per_ip=0))
    with TestClient(app, headers={"X-API-Key": KEY}) as client:
        for r in (client.get("/v1/search", params={"q": "tv"}), client.post("/v1/chat", json={"message": "tv"})):
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"]
