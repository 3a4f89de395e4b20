"""GET /v1/search: hybrid product search, re-ranked for the user (with the reasons in `why`) when `user_id` is
given (with a publishable key, only for the user its X-User-Hash proves)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from retrieval.search import SearchFilters, SearchHit
from ui.api.errors import ERROR_RESPONSES, ApiError
from ui.api.identifiers import NO_CONTROL_CHARS, USER_ID_MAX_CHARS
from ui.api.security import Caller, require_api_key

router = APIRouter(prefix="/v1", tags=["search"], responses=ERROR_RESPONSES)


class SearchResult(BaseModel):
    id: str
    title: str
    price: float | None
    currency: str
    in_stock: bool
    brand: str
    category: str
    score: float
    why: list[str]


class SearchResponse(BaseModel):
    query: str
    results: list[SearchResult]


def result_of(hit: SearchHit) -> SearchResult:
    p = hit.product
    return SearchResult(
        id=p.id,
        title=p.title,
        price=p.price,
        currency=p.currency,
        in_stock=p.in_stock,
        brand=p.brand,
        category=p.category,
        score=hit.score,
        why=list(hit.why),
    )


@router.get("/search", response_model=SearchResponse, summary="Ranked products for a query")
async def search(
    request: Request,
    caller: Annotated[Caller, Depends(require_api_key)],
    q: Annotated[str, Query(min_length=1, max_length=500, description="What the shopper typed")],
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    user_id: Annotated[str | None, Query(max_length=USER_ID_MAX_CHARS, pattern=NO_CONTROL_CHARS)] = None,
    min_price: Annotated[float | None, Query(ge=0)] = None,
    max_price: Annotated[float | None, Query(ge=0)] = None,
    brand: Annotated[str | None, Query(max_length=200)] = None,
    category: Annotated[str | None, Query(max_length=200)] = None,
    in_stock: bool | None = None,
) -> SearchResponse:
    if min_price is not None and max_price is not None and min_price > max_price:
        raise ApiError(422, "invalid_request", "min_price is above max_price")
    caller.check_user(user_id)
    filters = SearchFilters(min_price=min_price, max_price=max_price, brand=brand, category=category, in_stock=in_stock)
    runtime = request.app.state.runtime
    hits = await request.app.state.work_pool.run(
        lambda: runtime.personalized_searcher.search(q, k, filters, user_id=user_id)
    )
    return SearchResponse(query=q, results=[result_of(h) for h in hits])
