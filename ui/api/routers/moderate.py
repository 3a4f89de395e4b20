"""POST /v1/moderate: the moderation verdict of a text, an image, or both (the stricter decision wins). A secret key
only: a flagged text lands in the review queue and counts against `user_id`, which the widget's key must not reach."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from moderation.image_checks import ImageRejected
from moderation.verdict import Verdict, stricter
from ui.api.chat_request import decode_image
from ui.api.errors import ERROR_RESPONSES, ApiError
from ui.api.identifiers import NO_CONTROL_CHARS, USER_ID_MAX_CHARS
from ui.api.security import Caller, require_secret_key

router = APIRouter(prefix="/v1", tags=["moderation"], responses=ERROR_RESPONSES)


class ModerateRequest(BaseModel):
    text: str | None = Field(None, max_length=20_000, pattern=r"^[^\x00]*$")  # PostgreSQL holds no NUL
    image_base64: str | None = None
    user_id: str | None = Field(None, min_length=1, max_length=USER_ID_MAX_CHARS, pattern=NO_CONTROL_CHARS)


def _merge(text: Verdict, image: Verdict) -> Verdict:
    return Verdict(
        decision=stricter(text.decision, image.decision),
        categories={**text.categories, **image.categories},
        flags=[*text.flags, *(f for f in image.flags if f not in text.flags)],
        redacted_text=text.redacted_text,
        review_id=text.review_id if text.review_id is not None else image.review_id,
    )


@router.post("/moderate", response_model=Verdict, response_model_exclude_none=False, summary="Moderation verdict")
async def moderate(
    request: Request, body: ModerateRequest, _: Annotated[Caller, Depends(require_secret_key)]
) -> Verdict:
    state = request.app.state
    image = decode_image(body.image_base64, state.settings)
    if not (body.text and body.text.strip()) and image is None:
        raise ApiError(422, "invalid_request", "send text, image_base64, or both")
    moderator = state.runtime.moderator

    def check() -> Verdict:
        verdicts = []
        if body.text and body.text.strip():
            verdicts.append(moderator.check_text(body.text, user_id=body.user_id, source="api"))
        if image is not None:
            verdicts.append(moderator.check_image(image, user_id=body.user_id, source="api"))
        return verdicts[0] if len(verdicts) == 1 else _merge(*verdicts)

    try:
        verdict = await state.work_pool.run(check)
    except ImageRejected as exc:
        raise ApiError(422, "invalid_image", str(exc)) from exc
    state.metrics.moderation_decisions.labels(verdict.decision, "api").inc()
    return verdict
