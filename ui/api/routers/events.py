"""POST /v1/events: behaviour events, one or a list; each updates the user's profile before the response."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel

from ui.api.errors import ERROR_RESPONSES, ApiError
from ui.api.security import Caller, require_api_key

router = APIRouter(prefix="/v1", tags=["personalization"], responses=ERROR_RESPONSES)

MAX_EVENTS_PER_REQUEST = 1000


class RejectedEvent(BaseModel):
    index: int
    error: str


class EventsAccepted(BaseModel):
    accepted: int
    rejected: list[RejectedEvent] = []


@router.post("/events", response_model=EventsAccepted, summary="Record behaviour events (one or a list)")
async def post_events(
    request: Request,
    caller: Annotated[Caller, Depends(require_api_key)],
    body: Annotated[
        dict[str, Any] | list[dict[str, Any]],
        Body(
            examples=[
                {"user_id": "u1", "type": "view", "product_id": "7"},
                [{"user_id": "u1", "type": "search", "query": "headphones"}],
            ]
        ),
    ],
) -> EventsAccepted:
    """Each event: `{"user_id", "type": "view|search|add_to_cart|purchase|rate", "product_id"?, "query"?,
    "quantity"?, "value"?, "ts"?}`. A bad event is reported by its index and the others are kept; when none is
    valid the request fails with 422. With a publishable key every `user_id` must be the one its X-User-Hash
    proves (401 `identity_unverified` otherwise)."""
    items = body if isinstance(body, list) else [body]
    if not items:
        raise ApiError(422, "invalid_request", "no events in the request")
    if len(items) > MAX_EVENTS_PER_REQUEST:
        raise ApiError(413, "too_many_events", f"at most {MAX_EVENTS_PER_REQUEST} events per request")
    if not caller.trusted:
        # A publishable key records events only for the user its X-User-Hash proves, and the whole request fails
        # if one event names anyone else (the ingestor reads ints as their digits and trims text: so does this).
        for item in items:
            user_id = item.get("user_id") if isinstance(item, dict) else None
            if isinstance(user_id, int) and not isinstance(user_id, bool):
                user_id = str(user_id)
            if user_id is not None:
                caller.check_user(user_id.strip() if isinstance(user_id, str) else repr(user_id))
    runtime = request.app.state.runtime
    result = await anyio.to_thread.run_sync(runtime.events.ingest, items)
    rejected = [RejectedEvent(index=r.index, error=r.error) for r in result.rejected]
    if not result.accepted:
        detail = "; ".join(f"event {r.index}: {r.error}" for r in rejected[:5])
        raise ApiError(422, "invalid_event", f"no event accepted: {detail}")
    return EventsAccepted(accepted=result.accepted, rejected=rejected)
