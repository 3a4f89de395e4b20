"""The chat request as the widget and the API send it, and the checks done before a turn starts (so a bad request
is a clean 4xx, never a half-opened stream)."""

from __future__ import annotations

import base64
import binascii
import re

from pydantic import BaseModel, Field

from moderation.image_checks import sniff_format
from ui.api.errors import ApiError
from ui.api.identifiers import NO_CONTROL_CHARS, USER_ID_MAX_CHARS
from ui.api.settings import ApiSettings

_DATA_URL = re.compile(r"^data:[\w/+.-]+;base64,", re.IGNORECASE)


class ChatRequest(BaseModel):
    session_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    user_id: str | None = Field(None, min_length=1, max_length=USER_ID_MAX_CHARS, pattern=NO_CONTROL_CHARS)
    message: str = Field(..., description="What the user wrote (English or Chinese)")
    image_base64: str | None = Field(None, description="An image, base64 (a data: URL is accepted too)")


def decode_image(encoded: str | None, settings: ApiSettings) -> bytes | None:
    """The image's bytes; 400 when it is not base64, 413 when it is over the image size limit, 422 when it is not
    an image at all (a turn would otherwise go on as if nothing had been attached)."""
    if not encoded:
        return None
    payload = _DATA_URL.sub("", encoded.strip(), count=1)
    if len(payload) * 3 // 4 > settings.max_image_bytes + 3:
        raise ApiError(413, "image_too_large", f"the image is over the limit of {settings.max_image_bytes} bytes")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, "invalid_image", "image_base64 is not valid base64") from exc
    if len(data) > settings.max_image_bytes:
        raise ApiError(413, "image_too_large", f"the image is over the limit of {settings.max_image_bytes} bytes")
    if sniff_format(data) is None:
        raise ApiError(422, "invalid_image", "image_base64 is not a JPEG, PNG, GIF or WebP image")
    return data


def checked_message(message: str, settings: ApiSettings, *, image: bytes | None) -> str:
    text = message.strip()
    if not text and image is None:
        raise ApiError(422, "invalid_request", "message is empty")
    if "\x00" in text:  # PostgreSQL text cannot hold it, and no one types it
        raise ApiError(422, "invalid_request", "message contains a NUL character")
    if len(text) > settings.max_message_chars:
        raise ApiError(413, "message_too_long", f"message is over {settings.max_message_chars} characters")
    return text
