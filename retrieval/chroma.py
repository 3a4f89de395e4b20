"""Chroma client: embedded (persistent, in the data dir) or a Chroma server by URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings


class ChromaUnavailable(ConnectionError):
    """The Chroma server cannot be reached now (the web app answers 503 with Retry-After)."""


def make_chroma_client(path: Path, url: str | None = None) -> chromadb.ClientAPI:
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        parsed = urlparse(url)
        try:
            return chromadb.HttpClient(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=settings,
            )
        except ValueError as exc:  # chromadb's way of saying the heartbeat failed
            raise ChromaUnavailable(f"the Chroma server at {url} cannot be reached") from exc
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)
