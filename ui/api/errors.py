"""Every error leaves the API as `{"error": {"code", "message", "request_id"}}` with a 4xx status.

Validation errors, unknown routes, wrong methods and the components' own input errors are all mapped here, so no
client ever sees a framework-shaped error or a traceback. An unexpected exception is logged with its request id
and answered with a generic 500 body that reveals nothing.
"""

from __future__ import annotations

import contextlib
import logging
from http import HTTPStatus
from typing import Any

import httpx
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

# Seconds a client is told to wait when a backing service is down.
RETRY_AFTER_S = 5


class ApiError(Exception):
    """An error with a stable machine-readable code, raised by routes and dependencies."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class ErrorDetail(BaseModel):
    code: str
    message: str
    request_id: str | None = None


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


# Declared on every API router so the OpenAPI document shows the real error shape (FastAPI's default 422 schema
# describes a body this API never sends).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": HTTPStatus(status).phrase}
    for status in (400, 401, 403, 404, 409, 413, 422, 429)
}


def error_body(code: str, message: str, request_id: str | None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if request_id:
        error["request_id"] = request_id
    return {"error": error}


def error_response(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None)
    return JSONResponse(error_body(code, message, request_id), status_code=status, headers=headers)


_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "service_unavailable",
}


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _what_failed(exc: Exception) -> str:
    """Which service failed and how, without the error's message (it may carry SQL parameters): the class, the
    driver's class under a SQLAlchemy error, the host:port of an HTTP call."""
    parts = [type(exc).__name__]
    orig = getattr(exc, "orig", None)
    if orig is not None:
        parts.append(f"{type(orig).__module__}.{type(orig).__name__}")
    if isinstance(exc, httpx.RequestError):
        with contextlib.suppress(RuntimeError):  # raised without its request
            parts.append(f"{exc.request.url.host}:{exc.request.url.port}")
    return " ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        code = _CODES_BY_STATUS.get(status, "error")
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
        if status == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}"
        return error_response(request, status, code, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(request, 422, "invalid_request", _describe_validation(exc))

    @app.exception_handler(ConnectionError)
    @app.exception_handler(httpx.TransportError)
    @app.exception_handler(sqlalchemy.exc.OperationalError)
    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        # A backing service (Chroma server, database) is down or restarting: the client should retry shortly.
        log.warning(
            "backing service unavailable in %s %s (request %s): %s",
            request.method,
            request.url.path,
            getattr(request.state, "request_id", "-"),
            _what_failed(exc),
        )
        return error_response(
            request,
            503,
            "service_unavailable",
            "a backing service is unavailable; retry shortly",
            {"Retry-After": str(RETRY_AFTER_S)},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception(
            "unhandled error in %s %s (request %s)",
            request.method,
            request.url.path,
            getattr(request.state, "request_id", "-"),
        )
        return error_response(request, 500, "internal_error", "the server could not complete the request")
