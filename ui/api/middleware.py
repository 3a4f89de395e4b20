"""Pure ASGI middleware (no buffering, so streamed responses stay streamed): request ids, the Host allow-list,
header and body limits, metrics."""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.config import Settings
from assistant.observability import request_id_var
from ui.api.errors import error_body
from ui.api.metrics import ApiMetrics
from ui.api.ratelimit import RateLimiter
from ui.api.security import too_many


class BodyTooLarge(HTTPException):
    """Raised from `receive` as an HTTPException so FastAPI's body parsing passes it on unchanged (as a 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over the limit of {limit} bytes")


_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# A request id must be unique, not secret. `uuid4` reads os.urandom, a system call that lets go of the GIL on the
# event loop's thread: under load the loop then waits a whole switch interval behind the turns to get it back.
_ids = random.Random()


def _new_request_id() -> str:
    return f"{_ids.getrandbits(128):032x}"


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def served_hosts(settings: Settings) -> list[str] | None:
    """The Host names served (None: any). The keyless demo answers loopback names only: a page on another site
    whose name the attacker re-points at 127.0.0.1 (DNS rebinding) still sends its own name as Host."""
    if settings.allowed_hosts:
        return [host.lower() for host in settings.allowed_hosts]
    return None if settings.keys_configured else list(LOOPBACK_HOSTS)


def host_name(host_header: str) -> str:
    """The Host header without its port: `[::1]:7860` is `[::1]`, `shop.example:443` is `shop.example`."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.split(":", 1)[0]


def host_allowed(name: str, allowed: Sequence[str]) -> bool:
    return any(
        pattern == "*" or name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:]))
        for pattern in allowed
    )


def header_bytes(scope: Scope) -> int:
    """The size of the request line's target and the headers, roughly as sent."""
    target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    return target + sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))


# The HTML pages' policy: everything from this origin only, never framed (clickjacking). Scripts as each page needs
# them: Gradio's page runs inline scripts and evaluates strings (its HTML component), the widget demo and Swagger UI
# inline scripts; the review console, which holds a reviewer's token, runs its own file only.
_POLICY = (
    "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; media-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'; object-src 'none'"
)
_CONSOLE_POLICY = _POLICY.format(scripts="'self'").encode()
_WIDGET_POLICY = _POLICY.format(scripts="'self' 'unsafe-inline'").encode()
_GRADIO_POLICY = _POLICY.format(scripts="'self' 'unsafe-inline' 'unsafe-eval'").encode()


def page_policy(path: str) -> bytes:
    if path.startswith("/review"):
        return _CONSOLE_POLICY
    if path.startswith(("/widget", "/docs")):
        return _WIDGET_POLICY
    return _GRADIO_POLICY


def security_headers(path: str, content_type: bytes) -> list[tuple[bytes, bytes]]:
    """Headers for a response: nosniff on everything; on HTML, a Content-Security-Policy and X-Frame-Options."""
    headers = [(b"x-content-type-options", b"nosniff")]
    if content_type.startswith(b"text/html"):
        headers += [(b"content-security-policy", page_policy(path)), (b"x-frame-options", b"DENY")]
    return headers


async def _send_error(
    send: Send, status: int, code: str, message: str, request_id: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps(error_body(code, message, request_id)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
                (b"connection", b"close"),
                *((name.lower().encode(), value.encode()) for name, value in (headers or {}).items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Gives each request an id (the caller's `X-Request-ID` if sane), refuses unknown Host names and oversized
    headers, enforces the body size limit while the body streams in (a lying or absent Content-Length does not
    help), and records Prometheus metrics by route template."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: ApiMetrics,
        max_body_bytes: int,
        max_header_bytes: int,
        allowed_hosts: list[str] | None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.allowed_hosts = allowed_hosts

    def _header_rejection(self, scope: Scope, host: str) -> tuple[int, str, str] | None:
        """(status, code, message) when the headers alone rule the request out."""
        # uvicorn's h11 limit only catches headers still incomplete; a whole oversized block in one read passes it.
        if header_bytes(scope) > self.max_header_bytes:
            return 431, "headers_too_large", f"request headers over the limit of {self.max_header_bytes} bytes"
        if self.allowed_hosts is not None and not host_allowed(host_name(host), self.allowed_hosts):
            return 400, "invalid_host", "this server does not answer for that Host (COMMERCE_ASSISTANT_ALLOWED_HOSTS)"
        return None

    async def _reject_too_large(self, send: Send, request_id: str) -> None:
        self.metrics.rejected.labels("body_too_large").inc()
        message = f"request body over the limit of {self.max_body_bytes} bytes"
        await _send_error(send, 413, "payload_too_large", message, request_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        supplied = headers.get("x-request-id", "")
        request_id = supplied if _SAFE_ID.match(supplied) else _new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        rejection = self._header_rejection(scope, headers.get("host", ""))
        if rejection:
            status, code, message = rejection
            self.metrics.rejected.labels(code).inc()
            await _send_error(send, status, code, message, request_id)
            return
        method = scope["method"]
        started = time.perf_counter()
        status_holder: dict[str, Any] = {"status": 500, "started": False}

        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._reject_too_large(send, request_id)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                headers_out = message.get("headers", [])
                content_type = next((v for k, v in headers_out if k.lower() == b"content-type"), b"")
                message["headers"] = [
                    *headers_out,
                    (b"x-request-id", request_id.encode()),
                    *security_headers(scope["path"], content_type),
                ]
            await send(message)

        request_id_token = request_id_var.set(request_id)  # for the JSON logs of this request
        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if status_holder["started"]:
                self.metrics.rejected.labels("body_too_large").inc()
            else:
                status_holder["status"] = 413
                await self._reject_too_large(send, request_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or ("unmatched" if status_holder["status"] == 404 else "other")
            elapsed = time.perf_counter() - started
            self.metrics.requests.labels(method, template, str(status_holder["status"])).inc()
            self.metrics.latency.labels(method, template).observe(elapsed)
            request_id_var.reset(request_id_token)


# Gradio's bundled scripts, styles and fonts: a page load fetches dozens of them, and they cost nothing to serve.
_STATIC_PREFIXES = ("/assets/", "/static/", "/favicon.ico")


class PerIpRateLimit:
    """Charges every request to the app it wraps (the Gradio chat at `/`) to the API's per-IP bucket, so a
    chat turn through the page is limited like one through /v1/chat. Static files are not charged."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not _is_static(scope):
            client = scope.get("client")
            wait = await self.limiter.acquire_async(client[0] if client else "unknown")
            if wait:
                error = too_many(wait, "client address")
                request_id = scope.get("state", {}).get("request_id") or _new_request_id()
                await _send_error(send, error.status, error.code, error.message, request_id, error.headers)
                return
        await self.app(scope, receive, send)


def _is_static(scope: Scope) -> bool:
    return scope["method"] in ("GET", "HEAD") and scope["path"].startswith(_STATIC_PREFIXES)
