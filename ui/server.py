"""`serve`: one uvicorn server for the whole web app; models warm in the background while it already answers."""

from __future__ import annotations

import asyncio
import socket
import sys

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from assistant.config import Settings
from assistant.runtime import Runtime
from ui.api.app import create_app


def urls(host: str, port: int) -> dict[str, str]:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    return {
        "chat": f"{base}/",
        "widget demo": f"{base}/widget/demo",
        "widget script": f"{base}/widget.js",
        "review console": f"{base}/review",
        "API docs": f"{base}/docs",
        "health": f"{base}/healthz",
        "metrics": f"{base}/metrics",
    }


class _AnnouncingServer(uvicorn.Server):
    """Prints the URLs once the socket is bound (not before: a port in use must not look like success)."""

    async def startup(self, sockets: list | None = None) -> None:  # type: ignore[override]
        await super().startup(sockets)
        if self.started:
            width = max(map(len, urls(self.config.host, self.config.port)))
            lines = [f"  {name:<{width}}  {url}" for name, url in urls(self.config.host, self.config.port).items()]
            print(
                "commerce-assistant is serving (models warm in the background; /healthz says when ready):",
                *lines,
                sep="\n",
                file=sys.stderr,
                flush=True,
            )


def _listen(host: str, port: int) -> socket.socket:
    """Binds the port up front, so a port in use is one clear error rather than a server log line."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)
    return sock


class _HeaderDeadlineProtocol(H11Protocol):
    """h11 with a deadline on each request's line and headers: uvicorn only times out idle keep-alive connections,
    so a client trickling header bytes (slowloris) would hold a connection open for ever."""

    header_timeout_s: float = 10.0
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        self._arm_header_deadline()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the headers are in: the body and the app have their own limits
            self._disarm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        if self._header_deadline is None and self.conn.their_state is h11.IDLE:
            self._header_deadline = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def _h11_with_header_deadline(timeout_s: float) -> type[H11Protocol]:
    return type("HeaderDeadlineProtocol", (_HeaderDeadlineProtocol,), {"header_timeout_s": timeout_s})


def uvicorn_config(app: FastAPI, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """The server's limits: proxy headers from configured proxies only, header size and header time."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
        log_config=None,  # keep the process's logging (JSON lines, PII masked) for uvicorn's own messages too
        # uvicorn's default believes X-Forwarded-For from loopback: any local process could then pick its address.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips,
        http=_h11_with_header_deadline(settings.header_timeout_s),
        h11_max_incomplete_event_size=settings.max_header_bytes,
    )


def serve(runtime: Runtime, host: str = "127.0.0.1", port: int = 7860, *, gradio: bool = True) -> None:
    sock = _listen(host, port)
    app = create_app(runtime, warm=True, gradio=gradio)
    _AnnouncingServer(uvicorn_config(app, runtime.settings, host, port)).run(sockets=[sock])
