"""POST /v1/chat (the whole response) and POST /v1/chat/stream (server-sent events), over the dialogue engine.

A session is continued only by the key and user that started it (`ui.api.conversations`).
Turns run in worker threads (the engine blocks on the model and the database); the event loop only relays.
Stream frames: `event: token` {"text"}, `event: products` {"products"}, `event: action` (one action),
`event: done` (the full chat response); `event: error` {"error": {...}} if a turn fails after the stream began.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sse_starlette import EventSourceResponse

from assistant.dialogue.response import ChatResponse
from ui.api.chat_request import ChatRequest, checked_message, decode_image
from ui.api.conversations import resolve_session
from ui.api.errors import ERROR_RESPONSES, ApiError, error_body
from ui.api.security import Caller, require_api_key

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["chat"], responses=ERROR_RESPONSES)


def _turn_error(exc: Exception) -> ApiError:
    """Input the engine refuses (an unreadable image, ...) is the caller's to fix: a 4xx with its message."""
    return ApiError(422, "invalid_request", str(exc) or type(exc).__name__)


@router.post("/chat", response_model=ChatResponse, summary="One chat turn; the whole response at once")
async def chat(
    request: Request, body: ChatRequest, caller: Annotated[Caller, Depends(require_api_key)]
) -> ChatResponse:
    state = request.app.state
    caller.check_user(body.user_id)
    image = decode_image(body.image_base64, state.settings)
    message = checked_message(body.message, state.settings, image=image)
    session_id = await resolve_session(state, caller, body.user_id, body.session_id)
    state.metrics.turns_in_flight.inc()
    try:
        response: ChatResponse = await state.turn_pool.run(
            lambda: state.runtime.dialogue.chat(
                message, session_id=session_id, user_id=body.user_id, image=image, client=caller.ip
            )
        )
        state.metrics.observe_turn(response.timings_ms, response.moderation)
        return response
    except ValueError as exc:
        raise _turn_error(exc) from exc
    finally:
        state.metrics.turns_in_flight.dec()


@router.post(
    "/chat/stream",
    summary="One chat turn as server-sent events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "token*, products?, action*, done"}},
)
async def chat_stream(
    request: Request, body: ChatRequest, caller: Annotated[Caller, Depends(require_api_key)]
) -> EventSourceResponse:
    state = request.app.state
    caller.check_user(body.user_id)
    image = decode_image(body.image_base64, state.settings)
    message = checked_message(body.message, state.settings, image=image)
    session_id = await resolve_session(state, caller, body.user_id, body.session_id)
    request_id = getattr(request.state, "request_id", None)

    async def frames() -> AsyncIterator[dict[str, str]]:
        began = time.perf_counter()
        first_token = True
        state.metrics.turns_in_flight.inc()
        try:
            events = state.turn_pool.iterate(
                lambda: state.runtime.dialogue.stream(
                    message, session_id=session_id, user_id=body.user_id, image=image, client=caller.ip
                )
            )
            async for event in events:
                if event.event == "token" and first_token:
                    state.metrics.first_token.observe(time.perf_counter() - began)
                    first_token = False
                if event.event == "done":
                    state.metrics.observe_turn(event.data.get("timings_ms", {}), event.data.get("moderation"))
                yield {"event": event.event, "data": json.dumps(event.data, ensure_ascii=False)}
        except ValueError as exc:
            error = _turn_error(exc)
            yield {"event": "error", "data": json.dumps(error_body(error.code, error.message, request_id))}
        except Exception:
            log.exception("chat stream failed (request %s)", request_id)
            body_ = error_body("internal_error", "the turn could not be completed", request_id)
            yield {"event": "error", "data": json.dumps(body_)}
        finally:
            state.metrics.turns_in_flight.dec()

    return EventSourceResponse(frames(), ping=15, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
