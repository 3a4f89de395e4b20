"""User-id pseudonymisation and erasure.

Personalization never stores the caller's user id: events, profiles and profile vectors are keyed by an HMAC of it
under a secret kept in the data dir, so the vector store and analytics see only pseudonyms. Erasing a user runs
every registered eraser; each component that keeps per-user data registers one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

KEY_FILE = "pseudonym.key"


def load_or_create_key(data_dir: Path) -> bytes:
    """The data dir's pseudonymisation secret, created (owner-readable only) on first use."""
    path = data_dir / KEY_FILE
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    # O_EXCL: two processes starting at once must not write two different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex())
    return key


class Pseudonymizer:
    """Maps a user id to a stable keyed hash (32 hex chars); without the key it cannot be reversed or recomputed."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("pseudonymisation key must be at least 16 bytes")
        self._key = key
        self.user_key = lru_cache(maxsize=65536)(self._digest)

    def _digest(self, user_id: str) -> str:
        return hmac.new(self._key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


Eraser = Callable[[str], int]
"""Deletes everything one component keeps about a user (given the raw user id); returns how many records it removed."""


class UserErasure:
    """The registry the `DELETE /v1/users/{id}` handler calls: personalization registers its own eraser, and the
    owners of other per-user data (chat sessions, ...) register theirs at composition time."""

    def __init__(self) -> None:
        self._erasers: dict[str, Eraser] = {}

    def register(self, name: str, eraser: Eraser) -> None:
        self._erasers[name] = eraser

    @property
    def names(self) -> list[str]:
        return list(self._erasers)

    def erase(self, user_id: str) -> dict[str, int]:
        """Runs every eraser; returns the number of records each removed."""
        return {name: eraser(user_id) for name, eraser in self._erasers.items()}
