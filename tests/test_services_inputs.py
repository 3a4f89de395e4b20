"""User ids and text at the edges of what is accepted, on PostgreSQL (issue 15): a user id as long as the API
accepts fits every column that stores it, and a longer one or a NUL character is a 422, never a database error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_engines import Engines

from assistant.config import Settings
from assistant.runtime import Runtime
from ui.api import create_app
from ui.api.settings import ApiSettings

pytestmark = pytest.mark.services

LONGEST = "u" * 128
REVIEWER = "rev-inputs"


@pytest.fixture()
def client(engines: Engines, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        llm="none",
        database_url=engines.database_url,
        chroma_url=engines.chroma_url,
        reviewer_tokens=[REVIEWER],
    )
    app = create_app(Runtime(settings), api_settings=ApiSettings(rate_limit_per_ip=0, rate_limit_per_key=0))
    with TestClient(app, base_url="http://127.0.0.1", client=("127.0.0.1", 40000), raise_server_exceptions=False) as c:
        yield c


def test_the_longest_accepted_user_id_is_stored_everywhere(client: TestClient) -> None:
    r = client.post("/v1/chat", json={"user_id": LONGEST, "message": "you worthless idiot, any running shoes?"})
    assert r.status_code == 200, r.text
    assert r.json()["moderation"]["review_id"] is not None  # queued with its user id
    r = client.post("/v1/events", json={"user_id": LONGEST, "type": "search", "query": "running shoes"})
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    assert client.get(f"/v1/users/{LONGEST}/recommendations").status_code == 200
    assert client.delete(f"/v1/users/{LONGEST}").status_code == 200


@pytest.mark.parametrize("user_id", ["u" * 129, "u" * 256, "nul\x00user", "line\nbreak"])
def test_a_user_id_no_column_can_hold_is_a_422(client: TestClient, user_id: str) -> None:
    calls = [
        client.post("/v1/chat", json={"user_id": user_id, "message": "hello"}),
        client.post("/v1/moderate", json={"user_id": user_id, "text": "you worthless idiot"}),
        client.post("/v1/events", json={"user_id": user_id, "type": "search", "query": "shoes"}),
        client.get("/v1/search", params={"q": "shoes", "user_id": user_id}),
        client.post("/v1/chat/completions", json={"user": user_id, "messages": [{"role": "user", "content": "hi"}]}),
    ]
    for r in calls:
        assert r.status_code == 422, (r.request.url, r.text)
        assert r.json()["error"]["code"] in ("invalid_request", "invalid_event"), r.text


def test_a_nul_character_in_text_is_a_422(client: TestClient) -> None:
    for path, body in (
        ("/v1/chat", {"message": "hello\x00there"}),
        ("/v1/chat/stream", {"message": "hello\x00there"}),
        ("/v1/moderate", {"text": "you worthless\x00 idiot"}),
    ):
        r = client.post(path, json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request", (path, r.text)
