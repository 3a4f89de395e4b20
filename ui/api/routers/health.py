"""Liveness/readiness and Prometheus metrics."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness and readiness: `status` is `ok` once every model is warm")
async def healthz(request: Request) -> dict[str, object]:
    # Async: reading the readiness flags never blocks, and a worker-thread hop would make the liveness probe (and
    # the load bench's baseline) wait behind the CPU-bound turns for the GIL.
    report = request.app.state.readiness.report()
    request.app.state.metrics.ready.set(1 if report["ready"] else 0)
    return report


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}}},
)
def metrics(request: Request) -> Response:
    queue = request.app.state.runtime.moderator.queue
    if queue is not None:
        # The metrics must still be served while the database is down: the gauge then keeps its last value.
        with contextlib.suppress(SQLAlchemyError):
            request.app.state.metrics.review_pending.set(queue.pending_count())
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
