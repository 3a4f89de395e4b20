"""A real uvicorn server in a background thread on a free loopback port, for tests that need sockets (SSE over
the network, the `openai` client, a browser)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from assistant.config import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app: FastAPI, start_timeout_s: float = 60, settings: Settings | None = None) -> Iterator[str]:
    """`settings`: serve with `commerce-assistant serve`'s own uvicorn configuration (proxy headers, header limits)."""
    from ui.server import uvicorn_config

    port = free_port()
    config = (
        uvicorn_config(app, settings, "127.0.0.1", port)
        if settings
        else uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
