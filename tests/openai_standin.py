"""A tiny OpenAI-compatible chat server for tests, run on 127.0.0.1 in a background thread.

The requested model name picks the behaviour: `echo` repeats the last user message word by word, `slow` waits
between words, `garbage` sends a stream of non-JSON data, `broken` answers 500, `stall` sends nothing for long,
`script` streams `app.state.script` (set by the test) word by word. `tools` answers a request with tools by calling
the forced tool with `app.state.arguments` (a JSON text set by the test) and fails every other request (the engine
then phrases from templates); `notools` refuses tools with a 400, as a server without tool calling does, and
answers `response_format` requests with `app.state.arguments` as the message content.
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

MODELS = ("echo", "slow", "garbage", "broken", "stall", "script", "tools", "notools")


def _chunk(model: str, text: str | None, finish: str | None = None) -> str:
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n"


def _tool_call(body: dict[str, Any], arguments: str) -> dict[str, Any]:
    name = body["tool_choice"]["function"]["name"]
    return {"id": "call-1", "type": "function", "function": {"name": name, "arguments": arguments}}


def _completion(model: str, content: str | None, tool_call: dict[str, Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_call is not None:
        message["tool_calls"] = [tool_call]
    finish = "tool_calls" if tool_call is not None else "stop"
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    }


def make_app() -> FastAPI:
    app = FastAPI()
    app.state.requests = []
    app.state.script = ""
    app.state.arguments = "{}"

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "test"} for m in MODELS]}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(request: Request) -> Any:
        body = await request.json()
        app.state.requests.append(body)
        model = body["model"]
        if model == "tools" and body.get("tools"):
            return _completion(model, None, _tool_call(body, app.state.arguments))
        if model == "notools" and body.get("tools"):
            return JSONResponse({"error": {"message": "tools are not enabled", "type": "invalid_request"}}, 400)
        if model == "notools" and body.get("response_format"):
            return _completion(model, app.state.arguments)
        if model in ("broken", "tools", "notools"):
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
            return _completion(model, " ".join(out))
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
