"""A tiny OpenAI-compatible chat server for tests, run on 127.0.0.1 in a background thread.

The requested model name picks the behaviour: `echo` repeats the last user message word by word, `slow` waits
between words, `garbage` sends a stream of non-JSON data, `broken` answers 500, `stall` sends nothing for long,
`script` streams `app.state.script` (set by the test) word by word.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

MODELS = ("echo", "slow", "garbage", "broken", "stall", "script")


def _chunk(model: str, text: str | None, finish: str | None = None) -> str:
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n"


def make_app() -> FastAPI:
    app = FastAPI()
    app.state.requests = []
    app.state.script = ""

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "test"} for m in MODELS]}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(request: Request) -> Any:
        body = await request.json()
        app.state.requests.append(body)
        model = body["model"]
        if model == "broken":
            return JSONResponse({"error": {"message": "boom", "type": "server_error"}}, status_code=500)
        if model == "stall":
            await asyncio.sleep(3)
        words = (app.state.script if model == "script" else body["messages"][-1]["content"]).split()
        stop = body.get("stop") or []
        out: list[str] = []
        for word in words[: body.get("max_tokens") or len(words)]:
            if word in stop:
                break
            out.append(word)

        def stream() -> Iterator[str]:
            if model == "garbage":
                yield "data: {this is not json\n\n"
                return
            for i, word in enumerate(out):
                if model == "slow":
                    time.sleep(0.4)
                yield _chunk(model, word if i == 0 else " " + word)
            yield _chunk(model, None, "stop")
            yield "data: [DONE]\n\n"

        if not body.get("stream"):
            if model == "garbage":
                return PlainTextResponse("<html>not json</html>")
            message = {"role": "assistant", "content": " ".join(out)}
            return {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            }
        return StreamingResponse(stream(), media_type="text/event-stream")

    return app


class StandInServer:
    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.app = make_app()
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> StandInServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("stand-in server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
