"""The Gradio chat at `/` from the attacker's side (issue 15): it was not rate limited, so one address could chat
(and reach the model) without bound while the API beside it answered 429. It now shares the API's per-IP bucket."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.runtime import Runtime
from ui.api import create_app
from ui.api.settings import ApiSettings

PUBLISHABLE = "pk-widget-in-every-page"
REMOTE = ("203.0.113.7", 40000)
OTHER = ("203.0.113.8", 40000)


def test_gradio_shares_the_per_ip_limit_of_the_api(tmp_path: Path) -> None:
    # Internals open, so Gradio's API description answers without a secret key: the limit is what is tested here.
    settings = Settings(data_dir=tmp_path / "data", llm="none", api_keys=[PUBLISHABLE], protect_internals=False)
    runtime = Runtime(settings)
    app = create_app(runtime, api_settings=ApiSettings(rate_limit_per_ip=3, rate_limit_per_key=0), gradio=True)
    with TestClient(app, client=REMOTE, raise_server_exceptions=False) as c:
        assert c.get("/config").status_code == 200
        assert c.get("/gradio_api/info").status_code == 200
        # The API and the page draw from one bucket: its last token goes to /v1, then the page is refused too.
        assert c.get("/v1/search", params={"q": "tv"}, headers={"X-API-Key": PUBLISHABLE}).status_code == 200
        for path in ("/gradio_api/info", "/config", "/"):
            limited = c.get(path)
            assert limited.status_code == 429, (path, limited.text)
            assert limited.json()["error"]["code"] == "rate_limited" and int(limited.headers["retry-after"]) >= 1
        refused_turn = c.post("/gradio_api/queue/join", json={"data": ["hi"], "fn_index": 0, "session_hash": "x"})
        assert refused_turn.status_code == 429
    with TestClient(app, client=OTHER, raise_server_exceptions=False) as other:
        assert other.get("/config").status_code == 200  # another address has its own bucket
