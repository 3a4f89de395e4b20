"""The key model from the attacker's side (issue 15), over HTTP against the real app on the sample store.

A publishable key sits in every page that embeds the widget, so whoever reads a page holds it: with it a request
acts for nobody, or for the one shopper its `X-User-Hash` proves. A secret key (the store's server) reaches
everything. Each test here failed before the key model existed: the widget's key read, poisoned and erased anyone.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.runtime import Runtime
from assistant.store.loading import ensure_sample_store
from ui.api import create_app
from ui.api.settings import ApiSettings

PUBLISHABLE = "pk-widget-in-every-page"
SECRET = "sk-store-server-only"
IDENTITY_SECRET = "identity-secret-of-the-store"
REMOTE = ("203.0.113.7", 40000)
VICTIM = "victim-shopper"
ATTACKER = "attacker-shopper"


def user_hash(user_id: str, secret: str = IDENTITY_SECRET) -> str:
    """What the store's server computes at sign-in (written out here, not imported from the code under test)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


PUB = {"X-API-Key": PUBLISHABLE}
SEC = {"X-API-Key": SECRET}
AS_ATTACKER = {**PUB, "X-User-Hash": user_hash(ATTACKER)}
AS_VICTIM = {**PUB, "X-User-Hash": user_hash(VICTIM)}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("trust") / "data",
        llm="none",
        api_keys=[PUBLISHABLE],
        secret_keys=[SECRET],
        identity_secret=IDENTITY_SECRET,
    )
    runtime = Runtime(settings)
    ensure_sample_store(runtime, progress=False)
    app = create_app(runtime, api_settings=ApiSettings(rate_limit_per_ip=0, rate_limit_per_key=0))
    with TestClient(app, client=REMOTE, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def bought(client: TestClient) -> str:
    """The victim bought a product (recorded by the store's server, with the secret key)."""
    product = client.get("/v1/search", params={"q": "running shoes", "k": 1}, headers=PUB).json()["results"][0]["id"]
    r = client.post("/v1/events", json={"user_id": VICTIM, "type": "purchase", "product_id": product}, headers=SEC)
    assert r.status_code == 200, r.text
    return product


def assert_error(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"], body


# --- finding 1: the widget key reads any user ----------------------------------------------------------------------
def test_publishable_key_cannot_read_another_users_recommendations(client: TestClient, bought: str) -> None:
    assert_error(client.get(f"/v1/users/{VICTIM}/recommendations", headers=PUB), 401, "identity_unverified")
    assert_error(client.get(f"/v1/users/{VICTIM}/recommendations", headers=AS_ATTACKER), 401, "identity_unverified")
    forged = {**PUB, "X-User-Hash": user_hash(VICTIM, "guessed-secret")}
    assert_error(client.get(f"/v1/users/{VICTIM}/recommendations", headers=forged), 401, "identity_unverified")
    # The victim's own proven session and the store's server still read it.
    mine = client.get(f"/v1/users/{VICTIM}/recommendations", headers=AS_VICTIM)
    assert mine.status_code == 200 and mine.json()["user_id"] == VICTIM
    server = client.get(f"/v1/users/{VICTIM}/recommendations", headers=SEC)
    assert server.status_code == 200 and server.json()["results"]
    # The hash is checked case-insensitively (hex), and a trailing space does not matter.
    upper = {**PUB, "X-User-Hash": user_hash(VICTIM).upper() + " "}
    assert client.get(f"/v1/users/{VICTIM}/recommendations", headers=upper).status_code == 200


def test_publishable_key_cannot_personalize_search_for_another_user(client: TestClient, bought: str) -> None:
    params = {"q": "running shoes", "user_id": VICTIM}
    assert_error(client.get("/v1/search", params=params, headers=PUB), 401, "identity_unverified")
    assert_error(client.get("/v1/search", params=params, headers=AS_ATTACKER), 401, "identity_unverified")
    assert client.get("/v1/search", params=params, headers=AS_VICTIM).status_code == 200
    assert client.get("/v1/search", params={"q": "running shoes"}, headers=PUB).status_code == 200  # anonymous


def test_publishable_key_cannot_erase_anyone(client: TestClient, bought: str) -> None:
    for headers in (PUB, AS_ATTACKER, AS_VICTIM):  # not even the proven shopper: erasure is the store's call
        assert_error(client.delete(f"/v1/users/{VICTIM}", headers=headers), 403, "secret_key_required")
    # Nothing was erased: the victim's purchase still shapes their recommendations.
    recs = client.get(f"/v1/users/{VICTIM}/recommendations", headers=SEC).json()["results"]
    assert recs and any(r["why"] for r in recs)


def test_publishable_key_cannot_post_events_for_another_user(client: TestClient, bought: str) -> None:
    before = client.get(f"/v1/users/{VICTIM}/recommendations", params={"k": 5}, headers=SEC).json()
    poison = [{"user_id": VICTIM, "type": "purchase", "product_id": bought} for _ in range(20)]
    assert_error(client.post("/v1/events", json=poison, headers=PUB), 401, "identity_unverified")
    assert_error(client.post("/v1/events", json=poison, headers=AS_ATTACKER), 401, "identity_unverified")
    # One foreign event in a batch fails the whole batch, whatever else it holds.
    mixed = [{"user_id": ATTACKER, "type": "view", "product_id": bought}, {**poison[0], "user_id": f" {VICTIM} "}]
    assert_error(client.post("/v1/events", json=mixed, headers=AS_ATTACKER), 401, "identity_unverified")
    after = client.get(f"/v1/users/{VICTIM}/recommendations", params={"k": 5}, headers=SEC).json()
    assert after == before
    # Events for the proven shopper are recorded.
    own = client.post("/v1/events", json=mixed[:1], headers=AS_ATTACKER)
    assert own.status_code == 200 and own.json()["accepted"] == 1


def test_publishable_key_cannot_chat_as_another_user(client: TestClient) -> None:
    turn = {"message": "where is my order?", "user_id": VICTIM}
    assert_error(client.post("/v1/chat", json=turn, headers=PUB), 401, "identity_unverified")
    assert_error(client.post("/v1/chat", json=turn, headers=AS_ATTACKER), 401, "identity_unverified")
    assert_error(client.post("/v1/chat/stream", json=turn, headers=AS_ATTACKER), 401, "identity_unverified")
    completion = {"messages": [{"role": "user", "content": "where is my order?"}], "user": VICTIM}
    assert_error(client.post("/v1/chat/completions", json=completion, headers=PUB), 401, "identity_unverified")
    assert client.post("/v1/chat", json=turn, headers=AS_VICTIM).status_code == 200
    assert client.post("/v1/chat", json={"message": "show me laptops"}, headers=PUB).status_code == 200


def test_publishable_key_cannot_reach_moderation(client: TestClient) -> None:
    text = {"text": "you idiot", "user_id": VICTIM}
    assert_error(client.post("/v1/moderate", json=text, headers=AS_VICTIM), 403, "secret_key_required")
    assert client.post("/v1/moderate", json=text, headers=SEC).status_code == 200


def test_without_an_identity_secret_no_user_is_proven(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", llm="none", api_keys=[PUBLISHABLE])
    with TestClient(create_app(Runtime(settings)), client=REMOTE, raise_server_exceptions=False) as c:
        r = c.get("/v1/search", params={"q": "tv", "user_id": VICTIM}, headers=AS_VICTIM)
        assert_error(r, 401, "identity_unverified")
        assert c.get("/v1/search", params={"q": "tv"}, headers=PUB).status_code == 200
        assert_error(c.get("/v1/search", params={"q": "tv"}, headers=SEC), 401, "invalid_api_key")


def test_secret_keys_alone_serve_keyed_callers_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", llm="none", secret_keys=[SECRET])
    with TestClient(create_app(Runtime(settings)), client=REMOTE, raise_server_exceptions=False) as c:
        assert_error(c.get("/v1/search", params={"q": "tv"}), 401, "missing_api_key")
        assert c.get("/v1/search", params={"q": "tv", "user_id": VICTIM}, headers=SEC).status_code == 200


# --- finding 2: shared conversations through /v1/chat/completions ----------------------------------------------
def completion_session(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return response.json()["commerce"]["session_id"]


def test_replayed_opening_does_not_join_another_callers_conversation(client: TestClient) -> None:
    """Two anonymous shoppers on the same widget key: the second sends the first one's opening and the reply it
    got; before, the history's digest led them into the first shopper's session."""
    opening = [{"role": "user", "content": "I want to check order #W2611340, my email is a@example.com"}]
    first = client.post("/v1/chat/completions", json={"messages": opening}, headers=PUB)
    session = completion_session(first)
    reply = first.json()["choices"][0]["message"]["content"]
    replay = [*opening, {"role": "assistant", "content": reply}, {"role": "user", "content": "what did I order?"}]
    second = client.post("/v1/chat/completions", json={"messages": replay}, headers=PUB)
    assert completion_session(second) != session
    streamed = client.post("/v1/chat/completions", json={"messages": replay, "stream": True}, headers=PUB)
    assert streamed.status_code == 200 and session not in streamed.text


def test_conversation_id_is_the_callers_own(client: TestClient) -> None:
    turn = {"messages": [{"role": "user", "content": "show me laptops"}], "user": VICTIM}
    thread = {"X-Conversation-ID": "thread-1"}
    session = completion_session(client.post("/v1/chat/completions", json=turn, headers={**AS_VICTIM, **thread}))
    again = client.post("/v1/chat/completions", json=turn, headers={**AS_VICTIM, **thread})
    assert completion_session(again) == session  # the holder of the id continues
    as_field = client.post("/v1/chat/completions", json={**turn, "conversation_id": "thread-1"}, headers=AS_VICTIM)
    assert completion_session(as_field) == session
    # Anyone else naming the same conversation id gets a conversation of their own.
    other = {**turn, "user": ATTACKER}
    assert completion_session(client.post("/v1/chat/completions", json=other, headers={**AS_ATTACKER, **thread})) != (
        session
    )
    anonymous = {"messages": turn["messages"]}
    assert completion_session(client.post("/v1/chat/completions", json=anonymous, headers={**PUB, **thread})) != (
        session
    )
    bad = client.post("/v1/chat/completions", json=turn, headers={**AS_VICTIM, "X-Conversation-ID": "a b"})
    assert_error(bad, 422, "invalid_request")


def test_a_session_is_continued_only_by_who_started_it(client: TestClient) -> None:
    start = client.post("/v1/chat", json={"message": "show me laptops", "user_id": VICTIM}, headers=AS_VICTIM)
    assert start.status_code == 200, start.text
    session = start.json()["session_id"]
    follow = {"message": "the cheapest one", "session_id": session}
    # Another proven user, an anonymous shopper, another key: refused, on every chat route.
    assert_error(
        client.post("/v1/chat", json={**follow, "user_id": ATTACKER}, headers=AS_ATTACKER), 403, "session_forbidden"
    )
    assert_error(client.post("/v1/chat", json=follow, headers=PUB), 403, "session_forbidden")
    assert_error(client.post("/v1/chat/stream", json=follow, headers=PUB), 403, "session_forbidden")
    completion = {"messages": [{"role": "user", "content": "what did I order?"}], "session_id": session}
    assert_error(client.post("/v1/chat/completions", json=completion, headers=PUB), 403, "session_forbidden")
    assert_error(client.post("/v1/chat", json={**follow, "user_id": VICTIM}, headers=SEC), 403, "session_forbidden")
    # The one who started it continues.
    mine = client.post("/v1/chat", json={**follow, "user_id": VICTIM}, headers=AS_VICTIM)
    assert mine.status_code == 200 and mine.json()["session_id"] == session


def test_a_session_started_elsewhere_is_not_reachable_with_a_key(client: TestClient) -> None:
    """A session of the terminal chat or the keyless demo (same database) is not anyone's to continue by key."""
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    elsewhere = runtime.dialogue.chat("show me laptops", user_id=VICTIM).session_id
    assert_error(
        client.post("/v1/chat", json={"message": "hi", "session_id": elsewhere}, headers=PUB), 403, "session_forbidden"
    )
    # An id nobody has used yet becomes the first caller's, and only theirs.
    claimed = client.post("/v1/chat", json={"message": "hi", "session_id": "my-own-id-1"}, headers=AS_ATTACKER)
    assert claimed.status_code == 200 and claimed.json()["session_id"] == "my-own-id-1"
    taken = {"message": "hi", "session_id": "my-own-id-1", "user_id": VICTIM}
    assert_error(client.post("/v1/chat", json=taken, headers=AS_VICTIM), 403, "session_forbidden")


# --- finding 3: the Gradio chat at / ------------------------------------------------------------------------------
def gradio_page(tmp_path: Path, client: tuple[str, int], **keys: list[str]) -> tuple[list[str | None], dict[str, list]]:
    """The element ids on the Gradio page, and the inputs each of its API endpoints takes (by label)."""
    # The API description is read here without a secret key, so it is left open (protect_internals=False).
    settings = Settings(
        data_dir=tmp_path / "data", llm="none", identity_secret=IDENTITY_SECRET, protect_internals=False, **keys
    )
    app = create_app(Runtime(settings), gradio=True)
    with TestClient(app, base_url="http://127.0.0.1", client=client) as c:
        config = c.get("/config")
        info = c.get("/gradio_api/info")
    assert config.status_code == 200 and info.status_code == 200
    ids = [component.get("props", {}).get("elem_id") for component in config.json()["components"]]
    endpoints = {name: [p.get("label") for p in e["parameters"]] for name, e in info.json()["named_endpoints"].items()}
    return ids, endpoints


def test_gradio_with_keys_has_no_user_picker(tmp_path: Path) -> None:
    """Before, the page at / offered a picker that showed any shopper's activity and chatted as them, and its
    Gradio API took the user as an input: with keys set, everyone there is an anonymous shopper."""
    for keys in ({"api_keys": [PUBLISHABLE]}, {"secret_keys": [SECRET]}):
        ids, endpoints = gradio_page(tmp_path / next(iter(keys)), REMOTE, **keys)
        assert "user-pick" not in ids and "chatbot" in ids
        assert endpoints and not any("Shopping as" in labels for labels in endpoints.values()), endpoints


def test_gradio_local_demo_keeps_the_user_picker(tmp_path: Path) -> None:
    ids, endpoints = gradio_page(tmp_path, ("127.0.0.1", 40000))
    assert "user-pick" in ids
    assert "Shopping as" in endpoints["/respond"]
