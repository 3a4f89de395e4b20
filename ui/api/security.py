"""Who may call: API keys for the widget API, reviewer tokens for the review queue, loopback when no keys are set.

Keys and tokens are compared in constant time against every configured value, so timing reveals neither a key
nor which one matched. Only a short digest of a credential is ever kept (for rate-limit buckets and the audit
trail's reviewer name), never the credential itself.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ui.api.errors import ApiError
from ui.api.ratelimit import RateLimiter

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="A key from COMMERCE_ASSISTANT_API_KEYS")
_bearer = HTTPBearer(auto_error=False, description="An API key, or a reviewer token for /v1/review")


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one request: the key's digest (None on keyless loopback) and the client IP."""

    key_id: str | None
    ip: str


def credential_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def matches_any(candidate: str, secrets: list[str]) -> bool:
    found = False
    for secret in secrets:
        found |= hmac.compare_digest(candidate.encode(), secret.encode())
    return found


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _too_many(wait_s: float, what: str) -> ApiError:
    retry = max(1, math.ceil(wait_s))
    return ApiError(
        429,
        "rate_limited",
        f"too many requests for this {what}; retry in {retry} s",
        headers={"Retry-After": str(retry)},
    )


async def require_api_key(
    request: Request,
    header_key: str | None = Depends(_api_key_header),
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> Caller:
    """Admits the request by API key (or loopback when none are configured) and charges its rate limits.

    Async although it never awaits: FastAPI runs a plain `def` dependency in a worker thread, and under load that
    hop (a thread wake-up and the GIL handed over twice) cost more than the check itself."""
    state = request.app.state
    keys: list[str] = state.runtime.settings.api_keys
    ip = _client_ip(request)
    supplied = header_key or (bearer.credentials if bearer else None)
    if keys:
        if not supplied:
            raise ApiError(
                401,
                "missing_api_key",
                "send an API key as X-API-Key or Authorization: Bearer",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not matches_any(supplied, keys):
            raise ApiError(401, "invalid_api_key", "the API key is not valid", headers={"WWW-Authenticate": "Bearer"})
        caller = Caller(key_id=credential_id(supplied), ip=ip)
    elif is_loopback(ip):
        caller = Caller(key_id=None, ip=ip)
    else:
        raise ApiError(
            403,
            "loopback_only",
            "no API keys are configured, so the API serves this machine only (set COMMERCE_ASSISTANT_API_KEYS)",
        )
    ip_limiter: RateLimiter = state.ip_limiter
    key_limiter: RateLimiter = state.key_limiter
    wait = await ip_limiter.acquire_async(ip)
    if wait:
        raise _too_many(wait, "client address")
    if caller.key_id:
        wait = await key_limiter.acquire_async(caller.key_id)
        if wait:
            raise _too_many(wait, "API key")
    return caller


async def require_reviewer(request: Request, bearer: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> str:
    """Admits a reviewer by token; returns the reviewer's name for the audit trail. No tokens set: closed to all."""
    tokens: list[str] = request.app.state.runtime.settings.reviewer_tokens
    if not tokens:
        raise ApiError(
            401,
            "review_closed",
            "the review queue is closed: no reviewer tokens are configured",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if bearer is None or not matches_any(bearer.credentials, tokens):
        raise ApiError(
            401, "invalid_reviewer_token", "a valid reviewer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    wait = await request.app.state.ip_limiter.acquire_async(_client_ip(request))
    if wait:
        raise _too_many(wait, "client address")
    return f"reviewer-{credential_id(bearer.credentials)}"
