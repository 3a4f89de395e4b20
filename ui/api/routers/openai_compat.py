"""OpenAI-compatible chat completions, so any OpenAI client or chat front end can talk to the assistant.

`POST /v1/chat/completions` takes the last user message as this turn (text parts, and an image part as a
`data:` URL); `user` is the user id; the conversation continues the session its history belongs to (see
`ui.api.conversations`), or the one named by an explicit `session_id` field. The reply carries the full chat
response under the extra key `commerce` (products, actions, moderation, ...). `stream: true` sends
`chat.completion.chunk` objects as `data:` lines, then `data: [DONE]`. `GET /v1/models` lists the one model.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ui.api.chat_request import checked_message, decode_image
from ui.api.conversations import history_digest
from ui.api.errors import ERROR_RESPONSES, ApiError, error_body
from ui.api.security import Caller, require_api_key

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["openai-compatible"], responses=ERROR_RESPONSES)

MODEL_NAME = "commerce-assistant"


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None
    image_url: dict[str, Any] | str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens, ...: accepted; the engine decides
    model: str | None = None
    messages: list[Message] = Field(..., min_length=1)
    stream: bool = False
    user: str | None = Field(None, max_length=256)
    session_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")


def _text(message: Message) -> str:
    if isinstance(message.content, str):
        return message.content
    return "\n".join(p.text or "" for p in message.content or [] if p.type == "text")


def _image_url(message: Message) -> str | None:
    for part in message.content if isinstance(message.content, list) else []:
        if part.type == "image_url" and part.image_url:
            url = part.image_url if isinstance(part.image_url, str) else part.image_url.get("url", "")
            if not url.startswith("data:"):
                raise ApiError(
                    422, "invalid_request", "images must be sent inline as data: URLs (the server is offline)"
                )
            return url
    return None


def _history(messages: list[Message]) -> list[tuple[str, str]]:
    return [(m.role, _text(m)) for m in messages if m.role in ("user", "assistant")]


class _Turn:
    """The request resolved into one engine turn."""

    def __init__(self, request: Request, body: CompletionRequest, caller: Caller) -> None:
        state = request.app.state
        caller.check_user(body.user)
        last = body.messages[-1]
        if last.role != "user":
            raise ApiError(422, "invalid_request", "the last message must be the user's")
        self.image = decode_image(_image_url(last), state.settings)
        self.message = checked_message(_text(last), state.settings, image=self.image)
        self.user = body.user
        self.key_id = caller.key_id
        history = _history(body.messages)
        self.index = state.conversations
        self.history = history
        self.session_id = body.session_id or self.index.find(history_digest(self.key_id, self.user, history[:-1]))

    def remember(self, session_id: str, reply: str) -> None:
        digest = history_digest(self.key_id, self.user, [*self.history, ("assistant", reply)])
        self.index.remember(digest, session_id)


def _completion(turn: _Turn, response: dict[str, Any], completion_id: str, created: int) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": MODEL_NAME,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": response["reply"]}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "commerce": response,
    }


def _chunk(
    turn: _Turn, completion_id: str, created: int, delta: dict[str, Any], finish: str | None = None, **extra: Any
) -> str:
    chunk = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL_NAME,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }
    return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"


@router.post(
    "/chat/completions",
    summary="OpenAI-compatible chat completions (streaming supported)",
    responses={
        200: {
            "content": {"application/json": {}, "text/event-stream": {}},
            "description": "a chat.completion, or with stream=true chat.completion.chunk events",
        }
    },
)
async def chat_completions(
    request: Request, body: CompletionRequest, caller: Annotated[Caller, Depends(require_api_key)]
) -> Any:
    state = request.app.state
    turn = _Turn(request, body, caller)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    def run() -> Any:
        return state.runtime.dialogue.stream(
            turn.message, session_id=turn.session_id, user_id=turn.user, image=turn.image
        )

    if not body.stream:
        try:
            result = await state.turn_pool.run(
                lambda: state.runtime.dialogue.chat(
                    turn.message, session_id=turn.session_id, user_id=turn.user, image=turn.image
                )
            )
        except ValueError as exc:
            raise ApiError(422, "invalid_request", str(exc)) from exc
        response = result.model_dump(mode="json")
        turn.remember(response["session_id"], response["reply"])
        return _completion(turn, response, completion_id, created)

    request_id = getattr(request.state, "request_id", None)

    async def chunks() -> AsyncIterator[str]:
        yield _chunk(turn, completion_id, created, {"role": "assistant", "content": ""})
        streamed: list[str] = []  # the client will send back what it received, not the final text
        try:
            async for event in state.turn_pool.iterate(run):
                if event.event == "token":
                    streamed.append(event.data["text"])
                    yield _chunk(turn, completion_id, created, {"content": event.data["text"]})
                elif event.event == "done":
                    turn.remember(event.data["session_id"], "".join(streamed))
                    yield _chunk(turn, completion_id, created, {}, "stop", commerce=event.data)
        except Exception as exc:
            if not isinstance(exc, ValueError):
                log.exception("completion stream failed (request %s)", request_id)
            code, message = (
                ("invalid_request", str(exc))
                if isinstance(exc, ValueError)
                else ("internal_error", "the turn could not be completed")
            )
            yield f"data: {json.dumps(error_body(code, message, request_id))}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@router.get("/models", summary="The model list OpenAI clients ask for")
async def models(request: Request, _: Annotated[Caller, Depends(require_api_key)]) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "created": 0, "owned_by": "local"}]}
