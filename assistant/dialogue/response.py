"""The chat response object, exactly as the public interface defines it, plus version ids for traceability."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

ActionStatus = Literal["proposed", "confirmed", "done", "refused"]


class ProductCard(BaseModel):
    """A product shown to the user; every field is copied from the catalog, never from the model."""

    id: str
    title: str
    price: float | None = None
    currency: str = "USD"
    in_stock: bool = True
    why: list[str] = Field(default_factory=list)


class Action(BaseModel):
    """A store tool call: proposed with its details, done only after an explicit yes, or refused with a reason."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    status: ActionStatus
    result: Any = None


class ChatResponse(BaseModel):
    session_id: str
    reply: str
    products: list[ProductCard] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    moderation: dict[str, Any] | None = None
    handoff: bool = False
    latency_ms: float = 0.0
    # Extensions beyond the interface: which intent, prompt and model produced the reply, and the latency split.
    intent: str = ""
    language: str = "en"
    prompt_version: str | None = None
    model_id: str = "none"
    timings_ms: dict[str, float] = Field(default_factory=dict)
