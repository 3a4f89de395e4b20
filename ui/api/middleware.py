"""Pure ASGI middleware (no buffering, so streamed responses stay streamed): request ids, body limits, metrics."""

from __future__ import annotations

import json
import random
import re
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    """Gives each request an id (the caller's `X-Request-ID` if sane), enforces the body size limit while the body
    streams in (a lying or absent Content-Length does not help), and records Prometheus metrics by route template."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

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
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
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
