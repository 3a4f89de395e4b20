"""`serve`: one uvicorn server for the whole web app; models warm in the background while it already answers."""

from __future__ import annotations

import socket
import sys

import uvicorn

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


def serve(runtime: Runtime, host: str = "127.0.0.1", port: int = 7860, *, gradio: bool = True) -> None:
    sock = _listen(host, port)
    app = create_app(runtime, warm=True, gradio=gradio)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
        log_config=None,  # keep the process's logging (JSON lines, PII masked) for uvicorn's own messages too
    )
    _AnnouncingServer(config).run(sockets=[sock])
