"""Per-user endpoints: recommendations (a publishable key: the proven user only), and erasure of everything kept
about a user (a secret key only)."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from ui.api.errors import ERROR_RESPONSES
from ui.api.identifiers import NO_CONTROL_CHARS, USER_ID_MAX_CHARS
from ui.api.security import Caller, require_api_key, require_secret_key

router = APIRouter(prefix="/v1/users", tags=["personalization"], responses=ERROR_RESPONSES)

UserId = Annotated[str, Path(min_length=1, max_length=USER_ID_MAX_CHARS, pattern=NO_CONTROL_CHARS)]


class Recommended(BaseModel):
    id: str
    title: str
    price: float | None
    currency: str
    in_stock: bool
    score: float
    why: list[str]


class Recommendations(BaseModel):
    user_id: str
    results: list[Recommended]


class Erased(BaseModel):
    deleted: bool
    removed: dict[str, int]


@router.get("/{user_id}/recommendations", response_model=Recommendations, summary="Products for this user, with why")
async def recommendations(
    request: Request,
    user_id: UserId,
    caller: Annotated[Caller, Depends(require_api_key)],
    k: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Recommendations:
    """With a publishable key, only for the user its X-User-Hash proves."""
    caller.check_user(user_id)
    runtime = request.app.state.runtime
    recs = await request.app.state.work_pool.run(lambda: runtime.recommender.recommend(user_id, k))
    return Recommendations(
        user_id=user_id,
        results=[
            Recommended(
                id=r.product.id,
                title=r.product.title,
                price=r.product.price,
                currency=r.product.currency,
                in_stock=r.product.in_stock,
                score=round(r.score, 4),
                why=list(r.why),
            )
            for r in recs
        ],
    )


@router.delete("/{user_id}", response_model=Erased, summary="Erase the user's profile, events, sessions and vectors")
async def erase_user(request: Request, user_id: UserId, _: Annotated[Caller, Depends(require_secret_key)]) -> Erased:
    """Needs a secret key: erasure is the store's decision, never the widget's."""
    runtime = request.app.state.runtime
    removed = await anyio.to_thread.run_sync(runtime.user_erasure.erase, user_id)
    return Erased(deleted=True, removed=removed)
