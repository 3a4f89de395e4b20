"""Configuration from `COMMERCE_ASSISTANT_*` environment variables, a `.env` file and CLI flags."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Everything the program is configured by. Everything it writes lives under `data_dir`."""

    # Secrets may also come from files (Docker/Kubernetes secrets): a file per setting, named like its variable
    # (`commerce_assistant_api_keys`), in the folder COMMERCE_ASSISTANT_SECRETS_DIR names.
    model_config = SettingsConfigDict(
        env_prefix="COMMERCE_ASSISTANT_",
        env_file=".env",
        extra="ignore",
        secrets_dir=os.environ.get("COMMERCE_ASSISTANT_SECRETS_DIR") or None,
    )

    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("commerce-assistant")))
    llm: str = "auto"
    embedding_model: str = "auto"
    # Secrets: kept out of repr() so a logged Settings never shows them.
    # Publishable keys (safe in a web page: the widget's data-api-key): they act for nobody or for one shopper
    # proven by X-User-Hash, the HMAC-SHA256 of the user id under `identity_secret`.
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list, repr=False)
    # Secret keys, for the store's own servers: every endpoint, for any user.
    secret_keys: Annotated[list[str], NoDecode] = Field(default_factory=list, repr=False)
    identity_secret: str | None = Field(None, repr=False)
    reviewer_tokens: Annotated[list[str], NoDecode] = Field(default_factory=list, repr=False)
    chroma_url: str | None = None
    database_url: str | None = None
    llm_timeout_s: float = 30.0
    # Who reads each message into commands: `rules` only; `model` (the LLM under a JSON schema) always; `auto` the
    # rules, and the model where they are not sure. Without a model (or when it fails) the rules' reading stands.
    # `rules` by default: the bundled 0.5B/1.5B read worse than the rules and take seconds (docs/understanding.md);
    # `auto` is for a capable model on a server.
    understanding: Literal["auto", "rules", "model"] = "rules"
    # Logs as JSON lines (with request ids) instead of plain text; to this file instead of stderr.
    log_json: bool = False
    log_file: Path | None = None
    # Fernet keys encrypting conversations, events and profiles at rest, newest first (`keys rotate` re-encrypts
    # older rows under the first); or one per line in a file (a mounted secret).
    encryption_keys: Annotated[list[str], NoDecode] = Field(default_factory=list, repr=False)
    encryption_key_file: Path | None = None
    # Identity checks in chat: failed attempts (a wrong email, or name and zip code) allowed within the cool-down,
    # per conversation, per client IP and per account; past that, that subject is locked until the cool-down passes.
    identity_max_failures_per_session: int = Field(5, ge=0)
    identity_max_failures_per_client: int = Field(20, ge=0)
    identity_max_failures_per_account: int = Field(10, ge=0)
    identity_cooldown_s: float = Field(900.0, gt=0)
    # Whether an email alone (it is no secret) lets an anonymous shopper change orders and the address, or only
    # read them (then changes need the name and zip code too). Unset: only in the keyless local demo.
    identity_email_allows_changes: bool | None = None
    # Reverse proxies (IPs or networks, `*` for any) whose X-Forwarded-For/-Proto are believed; empty: none, so a
    # caller cannot pick its own client address (per-IP limits, loopback-only mode).
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Host headers served (`*.shop.example` matches subdomains); empty: any with keys configured, loopback names
    # only on the keyless demo, so a DNS-rebinding page cannot reach it.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Request line plus headers: their size, and how long they may take to arrive (slow-header connections).
    max_header_bytes: int = Field(16 * 1024, gt=0)
    header_timeout_s: float = Field(10.0, gt=0)
    # `/metrics`, `/docs`, `/openapi.json` and Gradio's API description need a secret key; unset: they do whenever
    # keys are configured.
    protect_internals: bool | None = None

    _split = field_validator(
        "api_keys",
        "secret_keys",
        "reviewer_tokens",
        "encryption_keys",
        "forwarded_allow_ips",
        "allowed_hosts",
        mode="before",
    )(_split_csv)

    @field_validator("identity_secret", mode="before")
    @classmethod
    def _strip_secret(cls, value: object) -> object:
        # A mounted secret file ends with a newline; an empty value means unset.
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("data_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def keys_configured(self) -> bool:
        """Any publishable or secret key set: the API is served to keyed callers, not to loopback by default."""
        return bool(self.api_keys or self.secret_keys)

    @property
    def email_allows_changes(self) -> bool:
        if self.identity_email_allows_changes is not None:
            return self.identity_email_allows_changes
        return not self.keys_configured

    @property
    def internals_protected(self) -> bool:
        return self.keys_configured if self.protect_internals is None else self.protect_internals

    @cached_property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @cached_property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @cached_property
    def generated_key_file(self) -> Path:
        """Where the encryption key lives when none is configured (generated on first start, mode 0600)."""
        return self.data_dir / "encryption.key"

    @cached_property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, unless `database_url` names another database."""
        return None if self.database_url else self.data_dir / "commerce.db"

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    def ensure_dirs(self) -> Settings:
        """Creates the data folders for the process's user alone (0700): they hold personal data."""
        for path in (self.data_dir, self.chroma_path, self.models_dir):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        for path in (self.chroma_path, self.models_dir):
            path.chmod(0o700)  # ours alone, whatever an older version created
        return self
