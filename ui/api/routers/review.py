"""The review queue for moderators (reviewer token required): list, read, decide, and daily stats for the chart."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from moderation.review_queue import ReviewItemNotFound, ReviewStateError
from ui.api.errors import ERROR_RESPONSES, ApiError
from ui.api.security import require_reviewer

router = APIRouter(prefix="/v1/review", tags=["review"], responses=ERROR_RESPONSES)

Reviewer = Annotated[str, Depends(require_reviewer)]
ItemId = Annotated[int, Path(ge=1, le=2**63 - 1)]  # a database integer: larger ids are a 422, not an overflow
CHART_ITEMS = 2000  # the category lines of the chart are counted over the most recent items


class Decision(BaseModel):
    decision: Literal["approve", "reject"]
    note: str | None = Field(None, max_length=2000)


async def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
    except ReviewItemNotFound as exc:
        raise ApiError(404, "not_found", str(exc.args[0]) if exc.args else "no such review item") from exc
    except ReviewStateError as exc:
        raise ApiError(409, "already_decided", str(exc)) from exc


@router.get("/items", summary="Queue items, newest first")
async def list_items(
    request: Request,
    _: Reviewer,
    status: Literal["pending", "approved", "rejected", "all"] = "pending",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    category: Annotated[str | None, Query(max_length=64)] = None,
    source: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, list[dict[str, Any]]]:
    moderator = request.app.state.runtime.moderator
    items = await _call(moderator.list_items, None if status == "all" else status, limit, offset, category, source)
    return {"items": items}


@router.get("/items/{item_id}", summary="One item with its conversation context")
async def get_item(request: Request, item_id: ItemId, _: Reviewer) -> dict[str, Any]:
    return await _call(request.app.state.runtime.moderator.get_item, item_id)


@router.post("/items/{item_id}/decision", summary="Approve (a false alarm) or reject, with an optional note")
async def decide(request: Request, item_id: ItemId, body: Decision, reviewer: Reviewer) -> dict[str, Any]:
    moderator = request.app.state.runtime.moderator
    return await _call(moderator.decide, item_id, body.decision, reviewer, body.note)


@router.get("/stats", summary="Per day: items by status and flagged categories (for the console's chart)")
async def stats(request: Request, _: Reviewer, days: Annotated[int, Query(ge=1, le=365)] = 30) -> dict[str, Any]:
    moderator = request.app.state.runtime.moderator
    per_day = await _call(moderator.review_stats, days)
    recent = await _call(moderator.list_items, None, CHART_ITEMS, 0)
    since = (datetime.now(UTC) - timedelta(days=days)).date().isoformat()
    categories: dict[str, Counter[str]] = {}
    for item in recent:
        day = (item.get("created_at") or "")[:10]
        if day >= since:
            categories.setdefault(day, Counter()).update(item.get("categories") or [])
    days_out = {d["day"]: {**d, "date": d["day"], "categories": {}} for d in per_day}
    for day, counts in categories.items():
        days_out.setdefault(
            day, {"day": day, "date": day, "pending": 0, "approved": 0, "rejected": 0, "categories": {}}
        )["categories"] = dict(counts)
    return {"days": [days_out[d] for d in sorted(days_out)]}
