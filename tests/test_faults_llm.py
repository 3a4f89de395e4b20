"""The LLM server down, stalled or answering garbage, under the whole app: every chat still gets a grounded
answer (from templates, marked by `model_id` "none"), within the configured timeout, and the model is used again
as soon as the server is back. Uses the OpenAI-compatible stand-in of tests/openai_standin.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from openai_standin import StandInServer

from assistant.config import Settings
from assistant.llm import make_llm
from assistant.llm.metered import MeteredLLM
from assistant.runtime import Runtime
from assistant.store.loading import ensure_sample_store
from ui.api import create_app
from ui.api.settings import ApiSettings

KEY = "llm-fault-key"
ASK = {"message": "Tell me about the Auralis Q7 headphones"}


@pytest.fixture(scope="module")
def app_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Runtime]]:
    """One app for the module (models load once); each test points `runtime.llm` at the backend it breaks."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("llm-faults") / "data", llm="none", llm_timeout_s=1.0)
    runtime = Runtime(settings.model_copy(update={"secret_keys": [KEY]}))  # /metrics needs a secret key
    ensure_sample_store(runtime, progress=False)
    app = create_app(runtime, api_settings=ApiSettings(rate_limit_per_ip=0))
    with TestClient(app, headers={"X-API-Key": KEY}) as client:
        yield client, runtime


def use_llm(runtime: Runtime, base_url: str, model: str) -> None:
    """What `Runtime.llm` builds for `--llm openai:URL#MODEL`: the backend, counted by the runtime's meter."""
    runtime.llm = MeteredLLM(make_llm(f"openai:{base_url}#{model}", runtime.settings), runtime.token_meter)


def grounded(body: dict) -> None:
    assert body["reply"].strip(), body
    assert any(p["id"] for p in body["products"]), body
    assert "Auralis" in body["reply"] or any("Auralis" in p["title"] for p in body["products"]), body


@pytest.fixture()
def standin() -> Iterator[StandInServer]:
    with StandInServer() as server:
        yield server


def test_model_used_when_healthy(app_runtime: tuple[TestClient, Runtime], standin: StandInServer) -> None:
    client, runtime = app_runtime
    use_llm(runtime, standin.base_url, "echo")
    body = client.post("/v1/chat", json=ASK).json()
    grounded(body)
    assert body["model_id"] != "none" and body["prompt_version"], body
    assert standin.app.state.requests, "the stand-in was never asked"


@pytest.mark.parametrize("model", ["garbage", "broken", "stall"])
def test_bad_model_answers_degrade_to_templates(
    app_runtime: tuple[TestClient, Runtime], standin: StandInServer, model: str
) -> None:
    client, runtime = app_runtime
    use_llm(runtime, standin.base_url, model)
    r = client.post("/v1/chat", json=ASK)
    assert r.status_code == 200, r.text
    grounded(r.json())
    assert r.json()["model_id"] == "none", r.json()
    with client.stream("POST", "/v1/chat/stream", json=ASK) as stream:
        raw = "".join(stream.iter_text())
    assert "event: done" in raw and "event: error" not in raw


def test_server_down_then_back(app_runtime: tuple[TestClient, Runtime]) -> None:
    client, runtime = app_runtime
    server = StandInServer()  # its port is chosen but nothing listens yet
    use_llm(runtime, server.base_url, "echo")
    down = client.post("/v1/chat", json=ASK)
    assert down.status_code == 200 and down.json()["model_id"] == "none", down.text
    grounded(down.json())
    with server:
        back = client.post("/v1/chat", json=ASK).json()
    grounded(back)
    assert back["model_id"] != "none", back


def _metric(client: TestClient, line_start: str) -> float:
    lines = [line for line in client.get("/metrics").text.splitlines() if line.startswith(line_start + " ")]
    assert lines, f"{line_start} not in /metrics"
    return float(lines[0].split()[-1])


def test_llm_requests_tokens_and_failures_are_counted(
    app_runtime: tuple[TestClient, Runtime], standin: StandInServer
) -> None:
    client, runtime = app_runtime
    names = (
        "commerce_llm_requests_total",
        "commerce_llm_tokens_total",
        'commerce_llm_failures_total{kind="error"}',
        'commerce_llm_failures_total{kind="timeout"}',
    )
    before = [_metric(client, n) for n in names]
    for model in ("echo", "broken", "stall"):
        use_llm(runtime, standin.base_url, model)
        assert client.post("/v1/chat", json=ASK).status_code == 200
    after = [_metric(client, n) for n in names]
    requests, tokens, errors, timeouts = (a - b for a, b in zip(after, before, strict=True))
    assert requests == 3 and tokens > 0 and errors >= 1 and timeouts == 1, (requests, tokens, errors, timeouts)
