"""Who may call: publishable and secret API keys, reviewer tokens for the review queue, loopback when no keys are
set.

A publishable key (`COMMERCE_ASSISTANT_API_KEYS`) sits in every page that embeds the widget, so it proves nothing
about who is calling: with it a request acts for nobody (an anonymous shopper), or for the one shopper whose id
comes with `X-User-Hash`, the HMAC-SHA256 of that id under `COMMERCE_ASSISTANT_IDENTITY_SECRET` (computed by the
store's server at sign-in). A secret key (`COMMERCE_ASSISTANT_SECRET_KEYS`) is the store's own server: every
endpoint, for any user. No key at all: the local demo, loopback only, everything open.

Keys and tokens are compared in constant time against every configured value, so timing reveals neither a key
nor which one matched. Only a short digest of a credential is ever kept (for rate-limit buckets and the audit
trail's reviewer name), never the credential itself.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from dataclasses import dataclass, field
from typing import Literal

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from ui.api.errors import ApiError, error_response
from ui.api.ratelimit import RateLimiter

_api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="A publishable key (COMMERCE_ASSISTANT_API_KEYS) or a secret key (COMMERCE_ASSISTANT_SECRET_KEYS)",
)
_bearer = HTTPBearer(auto_error=False, description="An API key, or a reviewer token for /v1/review")
USER_HASH_HEADER = "X-User-Hash"

KeyKind = Literal["publishable", "secret", "local"]


def user_hash(user_id: str, secret: str) -> str:
    """What the store's server computes at sign-in and the widget sends as X-User-Hash: lowercase hex HMAC-SHA256."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one request: the key's digest (None on keyless loopback), its kind, the client IP,
    and the X-User-Hash it sent (checked against a user id only where one is named)."""

    key_id: str | None
    ip: str
    kind: KeyKind = "local"
    user_hash: str | None = None
    identity_secret: str | None = field(default=None, repr=False)

    @property
    def trusted(self) -> bool:
        """A secret key or the local demo: may act for any user."""
        return self.kind != "publishable"

    def proves(self, user_id: str) -> bool:
        if self.trusted:
            return True
        if not self.user_hash or not self.identity_secret:
            return False
        return hmac.compare_digest(self.user_hash.encode(), user_hash(user_id, self.identity_secret).encode())

    def check_user(self, user_id: str | None) -> None:
        """Raises 401 `identity_unverified` unless this caller may act for `user_id` (None: an anonymous shopper)."""
        if user_id is None or self.proves(user_id):
            return
        raise ApiError(
            401,
            "identity_unverified",
            f"a publishable key acts for user_id only with a valid {USER_HASH_HEADER} (the HMAC-SHA256 of the "
            "user id under the identity secret, computed by the store's server); leave user_id out to shop "
            "anonymously",
        )

    def owner(self, user_id: str | None) -> str:
        """Who a chat session started by this request belongs to: the key and the user it acts for."""
        return hashlib.sha256(f"{self.kind}\x00{self.key_id or ''}\x00{user_id or ''}".encode()).hexdigest()


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


def too_many(wait_s: float, what: str) -> ApiError:
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
    settings = state.runtime.settings
    ip = _client_ip(request)
    supplied = header_key or (bearer.credentials if bearer else None)
    if settings.keys_configured:
        if not supplied:
            raise ApiError(
                401,
                "missing_api_key",
                "send an API key as X-API-Key or Authorization: Bearer",
                headers={"WWW-Authenticate": "Bearer"},
            )
        # Both lists are always compared, so timing does not tell a secret key from a publishable one.
        is_secret = matches_any(supplied, settings.secret_keys)
        is_publishable = matches_any(supplied, settings.api_keys)
        if not (is_secret or is_publishable):
            raise ApiError(401, "invalid_api_key", "the API key is not valid", headers={"WWW-Authenticate": "Bearer"})
        caller = Caller(
            key_id=credential_id(supplied),
            ip=ip,
            kind="secret" if is_secret else "publishable",
            user_hash=(request.headers.get(USER_HASH_HEADER) or "").strip().lower() or None,
            identity_secret=settings.identity_secret,
        )
    elif is_loopback(ip):
        caller = Caller(key_id=None, ip=ip)
    else:
        raise ApiError(
            403,
            "loopback_only",
            "no API keys are configured, so the API serves this machine only (set COMMERCE_ASSISTANT_API_KEYS or "
            "COMMERCE_ASSISTANT_SECRET_KEYS)",
        )
    ip_limiter: RateLimiter = state.ip_limiter
    key_limiter: RateLimiter = state.key_limiter
    wait = await ip_limiter.acquire_async(ip)
    if wait:
        raise too_many(wait, "client address")
    if caller.key_id:
        wait = await key_limiter.acquire_async(caller.key_id)
        if wait:
            raise too_many(wait, "API key")
    return caller


async def require_secret_key(caller: Caller = Depends(require_api_key)) -> Caller:
    """Admits a secret key (or the keyless local demo) only: per-user data of anyone, erasure, moderation."""
    if not caller.trusted:
        raise ApiError(
            403,
            "secret_key_required",
            "this endpoint needs a secret key (COMMERCE_ASSISTANT_SECRET_KEYS); a publishable key cannot reach it",
        )
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
        raise too_many(wait, "client address")
    return f"reviewer-{credential_id(bearer.credentials)}"


# What the operator may want kept from the world: traffic figures and the full map of the API (Gradio's included).
INTERNAL_PATHS = frozenset({"/metrics", "/docs", "/openapi.json", "/gradio_api/info"})


class InternalPathsGuard:
    """Pure ASGI: serves `INTERNAL_PATHS` only to a secret key (or the keyless local demo) when the settings say
    they are protected (by default whenever keys are configured). Middleware rather than a route dependency:
    Gradio's own routes, mounted as a sub-app, take no FastAPI dependencies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["path"].rstrip("/") or "/") in INTERNAL_PATHS:
            request = Request(scope)
            if request.app.state.runtime.settings.internals_protected:
                try:
                    await require_secret_key(await require_api_key(request, *await _credentials(request)))
                except ApiError as exc:
                    await error_response(request, exc.status, exc.code, exc.message, exc.headers)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


async def _credentials(request: Request) -> tuple[str | None, HTTPAuthorizationCredentials | None]:
    return await _api_key_header(request), await _bearer(request)
