"""The API's front door with the real app: error shapes, API keys, loopback-only mode, CORS, rate limits, body
limits, request ids and metrics. An empty catalog is enough: these checks run before any component answers."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.runtime import Runtime
from ui.api import create_app
from ui.api.ratelimit import RateLimiter
from ui.api.settings import ApiSettings

LOOPBACK = ("127.0.0.1", 40000)
REMOTE = ("203.0.113.7", 40000)

MakeClient = Callable[..., TestClient]


@pytest.fixture()
def make_client(tmp_path: Path) -> Iterator[MakeClient]:
    clients: list[TestClient] = []

    def make(client: tuple[str, int] = LOOPBACK, api_keys: list[str] | None = None, **api: object) -> TestClient:
        settings = Settings(data_dir=tmp_path / "data", llm="none", api_keys=api_keys or [])
        app = create_app(Runtime(settings), api_settings=ApiSettings(**api))
        test_client = TestClient(app, base_url="http://127.0.0.1", client=client, raise_server_exceptions=False)
        clients.append(test_client)
        return test_client

    yield make
    for c in clients:
        c.close()


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    return body["error"]


def test_errors_have_one_shape(make_client: MakeClient) -> None:
    c = make_client()
    assert_error(c.get("/v1/no-such-thing"), 404, "not_found")
    assert_error(c.get("/no-such-page"), 404, "not_found")
    assert_error(c.delete("/healthz"), 405, "method_not_allowed")
    assert_error(c.post("/v1/search"), 405, "method_not_allowed")
    error = assert_error(c.get("/v1/search"), 422, "invalid_request")
    assert "q" in error["message"]
    assert_error(c.get("/v1/search", params={"q": "tv", "k": 0}), 422, "invalid_request")
    assert_error(c.get("/v1/search", params={"q": "tv", "min_price": 50, "max_price": 10}), 422, "invalid_request")


def test_request_id_is_echoed_or_made(make_client: MakeClient) -> None:
    c = make_client()
    assert c.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    made = c.get("/healthz", headers={"X-Request-ID": "bad id <script>"}).headers["x-request-id"]
    assert made != "bad id <script>" and len(made) == 32


def test_api_keys(make_client: MakeClient) -> None:
    c = make_client(client=REMOTE, api_keys=["k-one", "k-two"])
    assert_error(c.get("/v1/search", params={"q": "tv"}), 401, "missing_api_key")
    assert_error(c.get("/v1/search", params={"q": "tv"}, headers={"X-API-Key": "k-on"}), 401, "invalid_api_key")
    assert c.get("/v1/search", params={"q": "tv"}, headers={"X-API-Key": "k-two"}).status_code == 200
    ok = c.get("/v1/search", params={"q": "tv"}, headers={"Authorization": "Bearer k-one"})
    assert ok.status_code == 200 and ok.json() == {"query": "tv", "results": []}


def test_without_keys_only_loopback_is_served(make_client: MakeClient) -> None:
    assert make_client(client=LOOPBACK).get("/v1/search", params={"q": "tv"}).status_code == 200
    assert make_client(client=("::1", 1)).get("/v1/search", params={"q": "tv"}).status_code == 200
    assert_error(make_client(client=REMOTE).get("/v1/search", params={"q": "tv"}), 403, "loopback_only")
    # Health and the static front ends stay public.
    assert make_client(client=REMOTE).get("/healthz").status_code == 200


def test_cors_allow_list(make_client: MakeClient) -> None:
    c = make_client(cors_origins="https://shop.example")
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-api-key"}
    allowed = c.options("/v1/chat", headers={"Origin": "https://shop.example", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "x-api-key" in allowed.headers["access-control-allow-headers"].lower()
    denied = c.options("/v1/chat", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in denied.headers
    # Errors carry CORS headers too, so the widget on an allowed origin can read them.
    error = c.get("/v1/search", headers={"Origin": "https://shop.example"})
    assert error.status_code == 422
    assert error.headers["access-control-allow-origin"] == "https://shop.example"
    assert "x-request-id" in error.headers["access-control-expose-headers"].lower()


def test_rate_limit_per_ip(make_client: MakeClient) -> None:
    c = make_client(rate_limit_per_ip=3)
    for _ in range(3):
        assert c.get("/v1/search", params={"q": "tv"}).status_code == 200
    limited = c.get("/v1/search", params={"q": "tv"})
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) >= 1


def test_rate_limit_per_key(make_client: MakeClient) -> None:
    c = make_client(client=REMOTE, api_keys=["a", "b"], rate_limit_per_key=2, rate_limit_per_ip=0)
    for _ in range(2):
        assert c.get("/v1/search", params={"q": "tv"}, headers={"X-API-Key": "a"}).status_code == 200
    assert_error(c.get("/v1/search", params={"q": "tv"}, headers={"X-API-Key": "a"}), 429, "rate_limited")
    assert c.get("/v1/search", params={"q": "tv"}, headers={"X-API-Key": "b"}).status_code == 200


def test_rate_limiter_refills_over_a_minute() -> None:
    limiter = RateLimiter(per_minute=60)
    assert all(limiter.acquire("ip", now=0.0) == 0 for _ in range(60))
    assert limiter.acquire("ip", now=0.0) == pytest.approx(1.0)
    assert limiter.acquire("ip", now=1.0) == 0
    assert RateLimiter(per_minute=0).acquire("ip") == 0


def test_body_limit(make_client: MakeClient) -> None:
    c = make_client(max_body_bytes=1000)
    assert_error(
        c.post("/v1/chat", content=b"x" * 1001, headers={"Content-Type": "application/json"}), 413, "payload_too_large"
    )


def test_metrics_count_requests_by_route(make_client: MakeClient) -> None:
    c = make_client()
    c.get("/v1/search", params={"q": "tv"})
    c.get("/v1/search", params={"q": "radio"})
    text = c.get("/metrics").text
    assert 'commerce_http_requests_total{method="GET",route="/v1/search",status="200"} 2.0' in text
    assert "commerce_http_request_seconds_bucket" in text


def test_docs_work_offline(make_client: MakeClient) -> None:
    c = make_client(client=REMOTE)
    page = c.get("/docs")
    assert page.status_code == 200
    assets = [part.split('"')[0] for part in page.text.split('src="')[1:]] + [
        part.split('"')[0] for part in page.text.split('href="')[1:]
    ]
    assert assets and all(a.startswith("/docs-assets/") for a in assets), assets
    assert all(c.get(a).status_code == 200 for a in assets)
    paths = c.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/chat",
        "/v1/chat/stream",
        "/v1/chat/completions",
        "/v1/search",
        "/v1/events",
        "/v1/users/{user_id}/recommendations",
        "/v1/users/{user_id}",
        "/v1/moderate",
        "/v1/review/items",
        "/v1/review/items/{item_id}/decision",
        "/healthz",
        "/metrics",
    ):
        assert path in paths


def test_widget_script_is_small_and_self_contained(make_client: MakeClient) -> None:
    c = make_client(client=REMOTE)
    script = c.get("/widget.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert len(gzip.compress(script.content, 9)) <= 30 * 1024
    assert b"import " not in script.content and b"require(" not in script.content  # no dependencies
    demo = c.get("/widget/demo")
    assert demo.status_code == 200 and "/widget.js" in demo.text
