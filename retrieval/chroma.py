"""Chroma client: embedded (persistent, in the data dir) or a Chroma server by URL."""

from __future__ import annotations

import contextlib
from pathlib import Path
from urllib.parse import urlparse

import chromadb
import chromadb.errors
import httpx
from chromadb.config import Settings as ChromaSettings


class ChromaUnavailable(ConnectionError):
    """The Chroma server cannot be reached now (the web app answers 503 with Retry-After)."""


def make_chroma_client(path: Path, url: str | None = None) -> chromadb.ClientAPI:
    """`url` may name a database on the server as its path (`http://host:8000/shop_a`), created if absent, so
    several stores (or test runs) share one Chroma server without seeing each other's collections."""
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        parsed = urlparse(url)
        host = parsed.hostname or "127.0.0.1"
        port = parsed.port or (443 if parsed.scheme == "https" else 8000)
        ssl = parsed.scheme == "https"
        database = parsed.path.strip("/") or chromadb.DEFAULT_DATABASE
        try:
            if database != chromadb.DEFAULT_DATABASE:
                _ensure_database(host, port, ssl, database)
            return chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings, database=database)
        except (ValueError, httpx.TransportError) as exc:  # chromadb's way of saying the heartbeat failed
            raise ChromaUnavailable(f"the Chroma server at {url} cannot be reached") from exc
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


def _ensure_database(host: str, port: int, ssl: bool, database: str) -> None:
    admin = chromadb.AdminClient(
        ChromaSettings(
            chroma_api_impl="chromadb.api.fastapi.FastAPI",
            chroma_server_host=host,
            chroma_server_http_port=port,
            chroma_server_ssl_enabled=ssl,
            anonymized_telemetry=False,
        )
    )
    try:
        admin.get_database(database)
    except chromadb.errors.NotFoundError:
        with contextlib.suppress(chromadb.errors.UniqueConstraintError):  # another process created it first
            admin.create_database(database)
