"""Builds the configured LLM from a spec string: `auto[:SIZE] | llamacpp:PATH | transformers:DIR | openai:URL#MODEL |
none`."""

from __future__ import annotations

import logging
from pathlib import Path

from assistant.config import Settings
from assistant.llm.base import LLM, LLMError
from assistant.llm.bundled_model import BundledModelError, resolve_bundled_model

log = logging.getLogger(__name__)

SPEC_HELP = "auto[:0.5b] | llamacpp:PATH.gguf | transformers:MODEL_DIR | openai:BASE_URL#MODEL | none"


def make_llm(spec: str, settings: Settings) -> LLM | None:
    """The LLM for `spec`, or None for `none` (replies from templates).

    `auto` uses the bundled local model and degrades to None, with a warning, when it is not installed; an
    explicit spec that cannot be honoured raises `LLMError` instead. `auto:0.5b` asks for the smaller bundled
    model (about twice as fast on a CPU; the 1.5B is the default).
    """
    kind, _, rest = spec.strip().partition(":")
    kind = kind.lower()
    if kind == "none":
        return None
    if kind == "auto":
        try:
            path = resolve_bundled_model(settings.models_dir, rest or None)
            from assistant.llm.llamacpp import LlamaCppLLM

            return LlamaCppLLM(path)
        except (BundledModelError, LLMError) as exc:
            log.warning("no local LLM, replies come from templates: %s", exc)
            return None
        except ValueError as exc:
            raise LLMError(f"--llm {spec!r}: {exc}") from None
    if not rest:
        raise LLMError(f"--llm {spec!r} lacks its argument; expected {SPEC_HELP}")
    if kind == "llamacpp":
        from assistant.llm.llamacpp import LlamaCppLLM

        return LlamaCppLLM(Path(rest).expanduser())
    if kind == "transformers":
        from assistant.llm.transformers_backend import TransformersLLM

        return TransformersLLM(Path(rest).expanduser())
    if kind == "openai":
        from assistant.llm.openai_backend import OpenAICompatibleLLM

        base_url, _, model = rest.partition("#")
        if not base_url.startswith(("http://", "https://")):
            raise LLMError(f"--llm {spec!r}: the base URL must start with http:// or https://")
        return OpenAICompatibleLLM(base_url, model or None)
    raise LLMError(f"unknown --llm {spec!r}; expected {SPEC_HELP}")
