"""`create_app(runtime)`: the FastAPI app serving the HTTP API, the widget, the review console and (optionally)
the Gradio chat at `/`, all on one port.

Middleware order, outermost first: CORS (so preflights and error responses carry CORS headers), then the request
context (request id, Host allow-list, header and body limits, metrics), then the guard of `/metrics` and the API
description (a secret key when configured so). Authentication and rate limits are router
dependencies, which also puts them in the OpenAPI document at `/docs`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from starlette.routing import Match

from assistant.runtime import Runtime
from ui.api.conversations import ConversationIndex
from ui.api.errors import ApiError, install_error_handlers
from ui.api.metrics import ApiMetrics
from ui.api.middleware import RequestContextMiddleware, served_hosts
from ui.api.ratelimit import RateLimiter
from ui.api.readiness import Readiness
from ui.api.routers import chat, docs, events, health, moderate, openai_compat, pages, review, search, users
from ui.api.security import InternalPathsGuard
from ui.api.settings import ApiSettings
from ui.api.threads import WorkerPool
from ui.api.warmup import warmup_stages


def _api_fallback() -> APIRouter:
    """Unknown paths under /v1 answer with the API's error shape, even when Gradio is mounted at `/`."""
    router = APIRouter(include_in_schema=False)

    @router.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def _unknown(rest: str, request: Request) -> None:
        # A known path with another method reaches here too (this route fully matches); answer it as Starlette would.
        if any(
            r is not request.scope.get("route") and r.matches(request.scope)[0] == Match.PARTIAL
            for r in request.app.router.routes
        ):
            raise ApiError(405, "method_not_allowed", f"{request.method} is not allowed on /v1/{rest}")
        raise ApiError(404, "not_found", f"no such endpoint: /v1/{rest}")

    return router


def create_app(
    runtime: Runtime,
    *,
    api_settings: ApiSettings | None = None,
    warm: bool = False,
    gradio: bool = False,
) -> FastAPI:
    """Builds the app around one `Runtime`. `warm=True` warms the models in the background on startup;
    `gradio=True` mounts the Gradio chat at `/` (kept optional: importing Gradio costs seconds in API tests)."""
    settings = api_settings or ApiSettings()
    readiness = Readiness(warmup_stages(runtime))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if warm:
            readiness.start()
        yield

    app = FastAPI(
        title="commerce-assistant",
        version="0.1.0",
        description="Conversational commerce assistant: chat (plain, SSE, OpenAI-compatible), search, events, "
        "recommendations, moderation and its review queue.",
        lifespan=lifespan,
        docs_url=None,  # served by ui.api.routers.docs from local assets
        redoc_url=None,
    )
    metrics = ApiMetrics()
    metrics.watch_llm(runtime.token_meter)
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.readiness = readiness
    # Shared by every worker on this database (ui/api/ratelimit.py says how exactly).
    app.state.key_limiter = RateLimiter(settings.rate_limit_per_key, engine=runtime.db, scope="key")
    app.state.ip_limiter = RateLimiter(settings.rate_limit_per_ip, engine=runtime.db, scope="ip")
    app.state.turn_pool = WorkerPool(settings.max_concurrent_turns, metrics.slot_wait.labels("turn"))
    app.state.work_pool = WorkerPool(settings.max_concurrent_work, metrics.slot_wait.labels("work"))
    app.state.conversations = ConversationIndex(runtime.db)

    install_error_handlers(app)
    app.add_middleware(InternalPathsGuard)
    app.include_router(health.router)
    app.include_router(pages.router)
    app.include_router(docs.router)
    app.mount(docs.ASSETS, docs.assets, name="docs-assets")
    app.include_router(chat.router)
    app.include_router(openai_compat.router)
    app.include_router(search.router)
    app.include_router(events.router)
    app.include_router(users.router)
    app.include_router(moderate.router)
    app.include_router(review.router)
    app.include_router(_api_fallback())

    app.add_middleware(
        RequestContextMiddleware,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=runtime.settings.max_header_bytes,
        allowed_hosts=served_hosts(runtime.settings),
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=[
            "Content-Type",
            "X-API-Key",
            "Authorization",
            "X-Request-ID",
            "X-User-Hash",
            "X-Conversation-ID",
        ],
        expose_headers=["X-Request-ID", "Retry-After"],
        max_age=600,
    )
    if gradio:
        from ui.gradio_app import mount_gradio

        mount_gradio(app, runtime)
    return app
