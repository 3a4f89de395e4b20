"""Settings of the web layer (`COMMERCE_ASSISTANT_*`): CORS allow list, rate limits, size limits, turn concurrency.

API keys and reviewer tokens live in the core `Settings` (they are part of the public configuration surface);
these are the knobs only the HTTP front door needs.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMMERCE_ASSISTANT_", env_file=".env", extra="ignore")

    # Origins allowed to call the API from a browser (the stores embedding the widget); empty: same origin only.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Token buckets refilled over a minute; 0 disables a limit (load tests on loopback).
    rate_limit_per_key: int = Field(600, ge=0)
    rate_limit_per_ip: int = Field(120, ge=0)
    max_body_bytes: int = Field(8 * 1024 * 1024, gt=0)
    max_image_bytes: int = Field(5 * 1024 * 1024, gt=0)
    max_message_chars: int = Field(4000, gt=0)
    # Chat turns, and separately the short calls (search, moderation, recommendations), run in worker threads;
    # these bound how many of each run at once (the rest wait in FIFO order): the work is CPU-bound, and more of
    # it at once than cores only adds switching and BLAS oversubscription. Two pools, so a search never waits
    # behind a slow turn.
    max_concurrent_turns: int = Field(4, gt=0)
    max_concurrent_work: int = Field(4, gt=0)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
