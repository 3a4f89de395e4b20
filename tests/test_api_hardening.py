"""The HTTP front door from the attacker's side (issue 15, the smaller findings), against the real app: a real
uvicorn server configured as `serve` configures it where the finding is about the server, raw sockets where the
attack is below HTTP's reach."""

from __future__ import annotations

import base64
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.runtime import Runtime
from tests.live_server import serving
from ui.api import create_app
from ui.api.settings import ApiSettings

KEY = "pk-hardening"


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", llm="none", **overrides)


def raw_connection(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=5)


# --- X-Forwarded-For is believed from configured proxies only ------------------------------------------------------
def test_a_local_caller_cannot_dodge_the_per_ip_limit_with_x_forwarded_for(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api_keys=[KEY])
    app = create_app(Runtime(settings), api_settings=ApiSettings(rate_limit_per_ip=2, rate_limit_per_key=0))
    with serving(app, settings=settings) as url:
        statuses = [
            httpx.get(f"{url}/v1/models", headers={"X-API-Key": KEY, "X-Forwarded-For": f"198.51.100.{i}"}).status_code
            for i in range(4)
        ]
    assert statuses[:2] == [200, 200] and statuses[2:] == [429, 429], statuses


def test_x_forwarded_for_from_a_configured_proxy_is_believed(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, forwarded_allow_ips=["127.0.0.1"])
    with serving(create_app(Runtime(settings)), settings=settings) as url:
        # The proxy says the client is remote: the keyless demo refuses it.
        r = httpx.get(f"{url}/v1/models", headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "loopback_only", r.text


# --- header size and header time -----------------------------------------------------------------------------------
def test_oversized_headers_are_refused(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, max_header_bytes=8 * 1024)
    with serving(create_app(Runtime(settings)), settings=settings) as url:
        r = httpx.get(f"{url}/healthz", headers={"X-Padding": "a" * 20_000})
        assert r.status_code == 431 and r.json()["error"]["code"] == "headers_too_large", r.text
        with raw_connection(url) as sock:  # headers that never end: refused once over the limit, not buffered
            sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\n".encode())
            for _ in range(3):
                sock.sendall(f"X-Padding: {'a' * 4000}\r\n".encode())
            assert sock.recv(4096).startswith(b"HTTP/1.1 400")
        assert httpx.get(f"{url}/healthz", headers={"X-Padding": "a" * 4000}).status_code == 200


def test_slow_headers_are_cut_off(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, header_timeout_s=1.0)
    with serving(create_app(Runtime(settings)), settings=settings) as url, raw_connection(url) as sock:
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\n".encode())
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 4 and not closed:
            try:
                sock.sendall(b"X-Slow: still-coming\r\n")  # slowloris: a header line now and then, never the end
                sock.settimeout(0.3)
                closed = sock.recv(4096) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True
        assert closed, "the server kept a connection open whose headers never ended"
        assert time.monotonic() - started < 3


def test_a_slow_but_complete_request_is_served(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, header_timeout_s=2.0)
    with serving(create_app(Runtime(settings)), settings=settings) as url, raw_connection(url) as sock:
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\n".encode())
        time.sleep(0.5)
        sock.sendall(b"Connection: close\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # uvicorn reads FORWARDED_ALLOW_IPS from the environment when not told; the tests must not depend on it.
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)


# --- Host allow-list (DNS rebinding) -------------------------------------------------------------------------------
def test_keyless_demo_refuses_a_rebound_host_name(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with serving(create_app(Runtime(settings)), settings=settings) as url:
        # A page on attacker.example whose name now resolves to 127.0.0.1: the browser sends its own name as Host.
        port = urlsplit(url).port
        r = httpx.get(f"{url}/v1/models", headers={"Host": f"attacker.example:{port}"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_host", r.text
        assert httpx.get(f"{url}/", headers={"Host": "attacker.example"}).status_code == 400
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost"):
            assert httpx.get(f"{url}/v1/models", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_setting_is_the_list_served(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api_keys=[KEY], allowed_hosts=["shop.example", "*.cdn.example"])
    with serving(create_app(Runtime(settings)), settings=settings) as url:

        def status(host: str) -> int:
            return httpx.get(f"{url}/healthz", headers={"Host": host}).status_code

        assert status("shop.example") == 200 and status("eu.cdn.example:443") == 200
        assert status("evil.example") == 400 and status("127.0.0.1") == 400


# --- /metrics and the API description need a secret key once keys are configured ---------------------------------
SECRET = "sk-hardening"
INTERNALS = ("/metrics", "/docs", "/openapi.json", "/gradio_api/info")


def test_internals_need_a_secret_key_when_keys_are_configured(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api_keys=[KEY], secret_keys=[SECRET])
    app = create_app(Runtime(settings), gradio=True)
    with TestClient(app, client=("203.0.113.7", 40000), raise_server_exceptions=False) as c:
        for path in INTERNALS:
            assert c.get(path).status_code == 401, path
            r = c.get(path, headers={"X-API-Key": KEY})
            assert r.status_code == 403 and r.json()["error"]["code"] == "secret_key_required", (path, r.text)
            assert c.get(path, headers={"Authorization": f"Bearer {SECRET}"}).status_code == 200, path
        # What a shopper needs stays open: the chat page, the widget, health.
        for path in ("/", "/widget.js", "/widget/demo", "/healthz", "/gradio_api/info/../../healthz"):
            assert c.get(path).status_code == 200, path


def test_internals_stay_open_when_the_operator_says_so(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api_keys=[KEY], protect_internals=False)
    with TestClient(create_app(Runtime(settings)), client=("203.0.113.7", 40000)) as c:
        assert all(c.get(path).status_code == 200 for path in INTERNALS[:3])


# --- the HTML pages cannot be framed or sniffed --------------------------------------------------------------------
def test_html_pages_carry_a_frame_denying_content_security_policy(tmp_path: Path) -> None:
    with TestClient(create_app(Runtime(settings_for(tmp_path))), base_url="http://127.0.0.1") as c:
        for path in ("/review/", "/widget/demo", "/docs"):
            r = c.get(path)
            assert r.status_code == 200, path
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path
            assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff", path
        # The console that holds a reviewer's token runs no inline script, so an injected one would not run.
        assert "script-src 'self';" in c.get("/review/").headers["content-security-policy"]
        assert c.get("/widget.js").headers["x-content-type-options"] == "nosniff"


# --- an upload that is not an image ----------------------------------------------------------------------------------
def test_a_non_image_upload_is_refused_on_every_chat_path(tmp_path: Path) -> None:
    not_an_image = base64.b64encode(b"#!/bin/sh\necho this is a script, not a photo\n").decode()
    app = create_app(Runtime(settings_for(tmp_path)))
    with TestClient(app, base_url="http://127.0.0.1", client=("127.0.0.1", 40000)) as c:
        for path in ("/v1/chat", "/v1/chat/stream", "/v1/moderate"):
            r = c.post(path, json={"message": "what is this?", "text": "what is this?", "image_base64": not_an_image})
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_image", (path, r.text)
        content = [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{not_an_image}"}},
        ]
        r = c.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": content}]})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_image", r.text
