"""OpenAI-compatible chat completions, so any OpenAI client or chat front end can talk to the assistant.

`POST /v1/chat/completions` takes the last user message as this turn (text parts, and an image part as a
`data:` URL); `user` is the user id (with a publishable key, proven by X-User-Hash). A conversation continues only
by an id the caller holds: the `X-Conversation-ID` header or `conversation_id` field (the caller's own name for the
thread, kept per key and user), or the engine's `session_id`; never by matching the history, which is otherwise
ignored (see `ui.api.conversations`). The reply carries the full chat
response under the extra key `commerce` (products, actions, moderation, ...). `stream: true` sends
`chat.completion.chunk` objects as `data:` lines, then `data: [DONE]`. `GET /v1/models` lists the one model.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ui.api.chat_request import checked_message, decode_image
from ui.api.conversations import ConversationIndex
from ui.api.errors import ERROR_RESPONSES, ApiError, error_body
from ui.api.identifiers import NO_CONTROL_CHARS, USER_ID_MAX_CHARS
from ui.api.security import Caller, require_api_key

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["openai-compatible"], responses=ERROR_RESPONSES)

MODEL_NAME = "commerce-assistant"
CONVERSATION_ID = r"^[A-Za-z0-9._:-]+$"
CONVERSATION_HEADER = "X-Conversation-ID"


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
    user: str | None = Field(None, max_length=USER_ID_MAX_CHARS, pattern=NO_CONTROL_CHARS)
    session_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    conversation_id: str | None = Field(None, min_length=1, max_length=128, pattern=CONVERSATION_ID)


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


def _conversation_id(request: Request, body: CompletionRequest) -> str | None:
    header = request.headers.get(CONVERSATION_HEADER)
    if header is None:
        return body.conversation_id
    if not re.fullmatch(CONVERSATION_ID, header) or len(header) > 128:
        raise ApiError(422, "invalid_request", f"{CONVERSATION_HEADER}: up to 128 of A-Z a-z 0-9 . _ : -")
    if body.conversation_id is not None and body.conversation_id != header:
        raise ApiError(422, "invalid_request", f"{CONVERSATION_HEADER} and conversation_id differ")
    return header


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
        self.caller = caller
        self.conversation_id = _conversation_id(request, body)
        self.explicit_session = body.session_id
        self.session_id: str | None = None

    async def resolve(self, state: Any) -> None:
        """Finds (or starts) the caller's own session, off the event loop (SQL)."""
        index: ConversationIndex = state.conversations
        sessions = state.runtime.sessions

        def find() -> str | None:
            if self.explicit_session or not self.conversation_id:
                return index.resolve(self.caller, self.user, self.explicit_session, sessions)
            return index.resolve_conversation(self.caller, self.user, self.conversation_id, sessions)

        self.session_id = await anyio.to_thread.run_sync(find)


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
    await turn.resolve(state)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    def run() -> Any:
        return state.runtime.dialogue.stream(
            turn.message, session_id=turn.session_id, user_id=turn.user, image=turn.image, client=turn.caller.ip
        )

    if not body.stream:
        try:
            result = await state.turn_pool.run(
                lambda: state.runtime.dialogue.chat(
                    turn.message,
                    session_id=turn.session_id,
                    user_id=turn.user,
                    image=turn.image,
                    client=turn.caller.ip,
                )
            )
        except ValueError as exc:
            raise ApiError(422, "invalid_request", str(exc)) from exc
        response = result.model_dump(mode="json")
        return _completion(turn, response, completion_id, created)

    request_id = getattr(request.state, "request_id", None)

    async def chunks() -> AsyncIterator[str]:
        yield _chunk(turn, completion_id, created, {"role": "assistant", "content": ""})
        try:
            async for event in state.turn_pool.iterate(run):
                if event.event == "token":
                    yield _chunk(turn, completion_id, created, {"content": event.data["text"]})
                elif event.event == "done":
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
