"""Identity attempts in chat from the attacker's side (issue 15): a zip code cannot be guessed for free, and an email
alone (no secret) reads orders but changes nothing unless the store's policy says so. Real store, real engine; the
cool-down runs on an injected clock instead of sleeps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.runtime import Runtime
from assistant.store.identity import IdentityGuard, IdentityPolicy
from ui.api import create_app
from ui.api.settings import ApiSettings

NOAH = "Noah Brown, 80279"  # the right name and zip code of a customer with a delivered order #W7678072
COOLDOWN_S = 900.0
PUBLISHABLE = "pk-widget-in-every-page"
REMOTE = ("203.0.113.7", 40000)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def wrong_zip(n: int) -> str:
    return f"Noah Brown, {10000 + n}"


def runtime_with_clock(data_dir: Path, clock: Clock, **settings: object) -> Runtime:
    runtime = Runtime(Settings(data_dir=data_dir, llm="none", **settings))  # type: ignore[arg-type]
    policy = IdentityPolicy(email_allows_changes=runtime.settings.email_allows_changes, cooldown_s=COOLDOWN_S)
    runtime.identity_guard = IdentityGuard(runtime.store.db, policy, clock=clock)
    return runtime


def verified(response) -> bool:  # type: ignore[no-untyped-def]
    return any(a.name == "get_order_details" and a.status == "done" for a in response.actions)


def refused_identity(response) -> bool:  # type: ignore[no-untyped-def]
    """The same refusal as for an unknown account; the third identical one in a row offers a person instead (the
    dialogue never sends one reply three times), which reveals nothing either."""
    return "couldn't find" in response.reply or "going in circles" in response.reply


def ask_status(runtime: Runtime, identity: str, client: str = "198.51.100.1", session_id: str | None = None):  # type: ignore[no-untyped-def]
    first = runtime.dialogue.chat("What's the status of my order?", session_id=session_id, client=client)
    return runtime.dialogue.chat(identity, session_id=first.session_id, client=client)


def test_wrong_zip_codes_lock_the_conversation_until_the_cool_down(retail_data_dir: Path) -> None:
    clock = Clock()
    runtime = runtime_with_clock(retail_data_dir, clock)
    first = runtime.dialogue.chat("What's the status of my order?", client="198.51.100.1")
    session = first.session_id
    for n in range(5):
        refused = runtime.dialogue.chat(wrong_zip(n), session_id=session, client="198.51.100.1")
        assert not verified(refused) and refused_identity(refused)
    locked = runtime.dialogue.chat(NOAH, session_id=session, client="198.51.100.1")
    assert not verified(locked) and "Too many" in locked.reply and "Noah" not in locked.reply
    clock.now += COOLDOWN_S - 1
    assert "Too many" in runtime.dialogue.chat(NOAH, session_id=session, client="198.51.100.1").reply
    clock.now += 2
    assert verified(runtime.dialogue.chat(NOAH, session_id=session, client="198.51.100.1"))


def test_an_account_locks_across_sessions_and_clients_and_it_is_audited(retail_data_dir: Path) -> None:
    clock = Clock()
    runtime = runtime_with_clock(retail_data_dir, clock)
    for n in range(10):  # ten guesses, each in a new conversation from a new address: no session or client limit
        assert not verified(ask_status(runtime, wrong_zip(n), client=f"198.51.100.{n}"))
    locked = ask_status(runtime, NOAH, client="192.0.2.50")
    assert not verified(locked) and "Too many" in locked.reply

    [noah] = runtime.store.db.user_ids_by_name("Noah", "Brown")
    outcomes = [
        e.arguments["outcome"] for e in runtime.store.db.audit_log(target=noah) if e.action == "verify_identity"
    ]
    assert outcomes.count("failed") == 10 and outcomes[0] == "locked"
    entry = runtime.store.db.audit_log(target=noah)[0]
    assert entry.arguments["method"] == "name_zip" and "192.0.2.50" not in str(entry.arguments)  # a digest only

    clock.now += COOLDOWN_S + 1
    assert verified(ask_status(runtime, NOAH, client="192.0.2.50"))
    assert runtime.store.db.audit_log(target=noah)[0].arguments["outcome"] == "verified"


def test_one_client_cannot_spray_guesses_over_many_accounts(retail_data_dir: Path) -> None:
    clock = Clock()
    runtime = runtime_with_clock(retail_data_dir, clock)
    strangers = [
        "Ann",
        "Ben",
        "Cal",
        "Dora",
        "Eli",
        "Fay",
        "Gus",
        "Hal",
        "Ida",
        "Jon",
        "Kim",
        "Lou",
        "Max",
        "Ned",
        "Oli",
        "Pat",
        "Quin",
        "Rex",
        "Sam",
        "Tom",
    ]
    for first in strangers:  # a different (unknown) name each time: no account is charged, only the client
        refused = ask_status(runtime, f"{first} Nobody, 12345", client="198.51.100.66")
        assert not verified(refused) and refused_identity(refused)
    assert "Too many" in ask_status(runtime, NOAH, client="198.51.100.66").reply
    assert verified(ask_status(runtime, NOAH, client="198.51.100.67"))  # another client is not locked out


def test_an_email_alone_reads_but_changes_need_the_name_and_zip_code(retail_data_dir: Path) -> None:
    runtime = runtime_with_clock(retail_data_dir, Clock(), api_keys=[PUBLISHABLE])
    chat = runtime.dialogue.chat
    first = chat("I want to cancel order #W6460787", client="198.51.100.1")
    by_email = chat("emma.brown5032@example.com", session_id=first.session_id, client="198.51.100.1")
    assert not by_email.actions and "zip code" in by_email.reply
    reason = chat("I ordered it by mistake", session_id=first.session_id, client="198.51.100.1")
    assert all(a.status != "proposed" for a in reason.actions) and "zip code" in reason.reply
    wrong = chat("Emma Brown, 99999", session_id=first.session_id, client="198.51.100.1")
    assert all(a.status != "proposed" for a in wrong.actions) and "don't match" in wrong.reply

    user = runtime.store.db.user(runtime.store.db.user_id_by_email("emma.brown5032@example.com") or "")
    assert user is not None
    right = chat(f"Emma Brown, {user.address.zip}", session_id=first.session_id, client="198.51.100.1")
    [proposed] = right.actions
    assert proposed.name == "cancel_pending_order" and proposed.status == "proposed"
    done = chat("yes", session_id=first.session_id, client="198.51.100.1")
    assert [(a.name, a.status) for a in done.actions] == [("cancel_pending_order", "done")]


def test_the_email_policy_is_the_operators_choice(retail_data_dir: Path) -> None:
    assert Settings(data_dir=retail_data_dir).email_allows_changes  # the keyless local demo
    assert not Settings(data_dir=retail_data_dir, api_keys=[PUBLISHABLE]).email_allows_changes
    assert Settings(
        data_dir=retail_data_dir, api_keys=[PUBLISHABLE], identity_email_allows_changes=True
    ).email_allows_changes


# --- over HTTP, as the issue found it -------------------------------------------------------------------------------
@pytest.fixture()
def client(retail_data_dir: Path) -> Iterator[TestClient]:
    runtime = Runtime(Settings(data_dir=retail_data_dir, llm="none", api_keys=[PUBLISHABLE]))
    app = create_app(runtime, api_settings=ApiSettings(rate_limit_per_ip=0, rate_limit_per_key=0))
    with TestClient(app, client=REMOTE, raise_server_exceptions=False) as c:
        yield c


def http_turn(client: TestClient, message: str, session_id: str | None = None) -> dict:
    body = {"message": message, **({"session_id": session_id} if session_id else {})}
    response = client.post("/v1/chat", json=body, headers={"X-API-Key": PUBLISHABLE})
    assert response.status_code == 200, response.text
    return response.json()


def test_http_25_wrong_zip_codes_then_the_right_one_does_not_verify(client: TestClient) -> None:
    for n in range(25):  # a fresh conversation for every guess, as an attacker would
        opening = http_turn(client, "What's the status of my order?")
        http_turn(client, wrong_zip(n), opening["session_id"])
    opening = http_turn(client, "What's the status of my order?")
    answer = http_turn(client, NOAH, opening["session_id"])
    assert "Too many" in answer["reply"] and not any(a["status"] == "done" for a in answer["actions"])


def test_http_an_email_alone_does_not_change_an_address(client: TestClient) -> None:
    opening = http_turn(client, "I want to change my default address to 1 Attacker Road, Austin, TX 78701")
    answer = http_turn(client, "emma.brown5032@example.com", opening["session_id"])
    assert not any(a["status"] in ("proposed", "done") for a in answer["actions"]) and "zip code" in answer["reply"]
    confirm = http_turn(client, "yes", opening["session_id"])
    assert not any(a["status"] == "done" for a in confirm["actions"])
