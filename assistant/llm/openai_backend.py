"""OpenAI-compatible chat server backend (vLLM, llama.cpp server, Ollama, OpenAI itself) through the `openai` client."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator

import httpx
import openai

from assistant.llm.base import LLMError, LLMTimeout, Messages, StreamingLLM

log = logging.getLogger(__name__)
_TOOL = "understand"  # the one function a constrained answer is the arguments of


class OpenAICompatibleLLM(StreamingLLM):
    """Streams chat completions from `base_url` (e.g. `http://gpu-host:8000/v1`). The API key comes from
    `OPENAI_API_KEY` when the server needs one. Without a model name, the server's first listed model is used."""

    name = "openai"

    def __init__(self, base_url: str, model: str | None = None, *, api_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "not-needed",
            max_retries=0,
        )
        self.model_id = model or self._first_model()

    def _first_model(self) -> str:
        try:
            models = self._client.with_options(timeout=10.0).models.list()
            return next(iter(models)).id
        except (openai.OpenAIError, httpx.HTTPError, StopIteration, AttributeError) as exc:
            raise LLMError(f"cannot list the models of {self.base_url}; give one as openai:URL#MODEL ({exc})") from exc

    def stream(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: list[str] | None = None,
        timeout_s: float,
    ) -> Iterator[str]:
        deadline = time.monotonic() + timeout_s
        what = f"openai {self.base_url} {self.model_id}"
        try:
            # The client's timeout bounds each connect and read; the deadline bounds the whole reply.
            response = self._client.with_options(timeout=timeout_s).chat.completions.create(
                model=self.model_id,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=temperature,
                stop=stop or None,
                stream=True,
            )
            with response:
                for chunk in response:
                    if time.monotonic() > deadline:
                        raise LLMTimeout(f"{what}: no complete answer within {timeout_s:g} s")
                    choices = getattr(chunk, "choices", None)
                    if choices is None:
                        raise LLMError(f"{what}: malformed stream chunk {chunk!r:.200}")
                    # Servers may end with a usage-only chunk that has no choices.
                    if choices and choices[0].delta is not None and choices[0].delta.content:
                        yield choices[0].delta.content
        except openai.APITimeoutError as exc:
            raise LLMTimeout(f"{what}: no answer within {timeout_s:g} s") from exc
        except LLMError:
            raise
        except (openai.OpenAIError, httpx.HTTPError, ValueError, TypeError, AttributeError) as exc:
            raise LLMError(f"{what}: {type(exc).__name__}: {exc}") from exc

    def complete_json(
        self,
        messages: Messages,
        schema: dict[str, object],
        *,
        max_tokens: int,
        timeout_s: float,
    ) -> str | None:
        """The arguments of a forced tool call whose parameters are `schema` (vLLM with tool calling enabled,
        OpenAI); a server that refuses tools is asked for JSON-schema output instead (vLLM's guided decoding)."""
        what = f"openai {self.base_url} {self.model_id}"
        client = self._client.with_options(timeout=timeout_s)
        try:
            try:
                response = client.chat.completions.create(
                    model=self.model_id,
                    messages=messages,  # type: ignore[arg-type]
                    max_tokens=max_tokens,
                    temperature=0.0,
                    tools=[{"type": "function", "function": {"name": _TOOL, "parameters": schema}}],
                    tool_choice={"type": "function", "function": {"name": _TOOL}},
                )
                calls = response.choices[0].message.tool_calls or []
                if calls and calls[0].type == "function":
                    return calls[0].function.arguments
            except openai.BadRequestError as exc:  # no tool calling on this server: try JSON-schema output
                log.info("%s: no tool calls (%s); asking for JSON-schema output", what, exc)
            response = client.chat.completions.create(
                model=self.model_id,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=0.0,
                response_format={"type": "json_schema", "json_schema": {"name": _TOOL, "schema": schema}},
            )
            return response.choices[0].message.content
        except openai.APITimeoutError as exc:
            raise LLMTimeout(f"{what}: no answer within {timeout_s:g} s") from exc
        except (openai.OpenAIError, httpx.HTTPError, ValueError, TypeError, AttributeError, IndexError) as exc:
            raise LLMError(f"{what}: {type(exc).__name__}: {exc}") from exc
