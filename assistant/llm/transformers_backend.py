"""transformers backend for GPU hosts: a local model folder placed on the available devices by accelerate."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.llm.base import LLMError, Messages, StreamingLLM, cut_at_stop, stream_with_deadline


class TransformersLLM(StreamingLLM):
    """A causal LM from a local folder (config, weights, tokenizer with a chat template). `device_map="auto"`
    lets accelerate spread it over the GPUs (or the CPU when there are none)."""

    name = "transformers"

    def __init__(self, model_dir: Path, *, device_map: str = "auto") -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise LLMError("transformers is not installed (pip install 'commerce-assistant[gpu]')") from exc
        if not model_dir.is_dir():
            raise LLMError(f"model folder not found: {model_dir}")
        self.model_id = model_dir.name
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
            self._model = AutoModelForCausalLM.from_pretrained(
                model_dir,
                local_files_only=True,
                device_map=device_map,
                dtype=torch.bfloat16 if torch.cuda.is_available() else torch.float32,
            )
        except (OSError, ValueError, ImportError) as exc:
            raise LLMError(f"cannot load {model_dir}: {exc}") from exc
        self._model.eval()
        self._lock = threading.Lock()

    def stream(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: list[str] | None = None,
        timeout_s: float,
    ) -> Iterator[str]:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        class _Cancelled(StoppingCriteria):
            def __init__(self, cancel: threading.Event) -> None:
                self.cancel = cancel

            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return self.cancel.is_set()

        def produce(cancel: threading.Event) -> Iterator[str]:
            with self._lock:
                inputs = self._tokenizer.apply_chat_template(
                    messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
                ).to(self._model.device)
                streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
                sampling: dict[str, Any] = (
                    {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
                )
                kwargs = {
                    **inputs,
                    **sampling,
                    "max_new_tokens": max_tokens,
                    "streamer": streamer,
                    "stopping_criteria": StoppingCriteriaList([_Cancelled(cancel)]),
                    "pad_token_id": self._tokenizer.pad_token_id or self._tokenizer.eos_token_id,
                }
                failure: list[BaseException] = []

                def generate() -> None:
                    try:
                        self._model.generate(**kwargs)
                    except Exception as exc:
                        failure.append(exc)
                        streamer.end()

                worker = threading.Thread(target=generate, daemon=True)
                worker.start()
                yield from cut_at_stop((text for text in streamer if text), stop)
                cancel.set()
                worker.join()
                if failure:
                    raise LLMError(f"transformers {self.model_id}: {failure[0]}") from failure[0]

        return stream_with_deadline(produce, timeout_s, f"transformers {self.model_id}")
