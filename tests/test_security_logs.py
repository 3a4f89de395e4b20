"""Personal data and secrets never reach the logs: a server run (JSON logs to a file, INFO level) and a CLI turn
(DEBUG level) full of e-mails, phone numbers, card numbers and addresses, with API keys and reviewer tokens, then
a scan of every log line for the raw values."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from service_engines import Worker, base_env, cli, free_port

API_KEY = "sk-live-7f3a9c1e5b2d4f6a8c0e"
WRONG_KEY = "sk-wrong-0d9e8f7a6b5c4d3e"
REVIEWER = "rv-token-4b6d8f0a2c4e6a8c"
IDENTITY_SECRET = "id-secret-9a8b7c6d5e4f3a2b"
PII = {
    "email": "mia.chen@example.com",
    "phone": "+1 206 555 0199",
    "card": "4111 1111 1111 1111",
    "address": "12 Harbor Street",
    "other_email": "j.doe+orders@mailbox.example.org",
}
SECRETS = [API_KEY, WRONG_KEY, REVIEWER, IDENTITY_SECRET]


def test_no_pii_or_secret_in_logs(tmp_path: Path) -> None:
    log_file = tmp_path / "server.log"
    dead_llm = f"openai:http://127.0.0.1:{free_port()}/v1#echo"  # nothing listens: generation fails and is logged
    env = base_env(
        tmp_path / "data",
        COMMERCE_ASSISTANT_LLM=dead_llm,
        COMMERCE_ASSISTANT_LLM_TIMEOUT_S="2",
        COMMERCE_ASSISTANT_SECRET_KEYS=API_KEY,
        COMMERCE_ASSISTANT_IDENTITY_SECRET=IDENTITY_SECRET,
        COMMERCE_ASSISTANT_REVIEWER_TOKENS=REVIEWER,
        COMMERCE_ASSISTANT_LOG_JSON="true",
        COMMERCE_ASSISTANT_LOG_FILE=str(log_file),
    )
    worker = Worker(env, log_path=tmp_path / "stderr.log").start()
    try:
        with httpx.Client(base_url=worker.url, timeout=120, headers={"X-API-Key": API_KEY}) as c:
            session = c.post(
                "/v1/chat",
                json={"message": f"Where is my order #S8963198? my email is {PII['email']}", "user_id": PII["email"]},
                headers={"X-Request-ID": "pii-scan-1"},
            ).json()["session_id"]
            c.post(
                "/v1/chat",
                json={
                    "session_id": session,
                    "message": f"call me at {PII['phone']}, ship to {PII['address']}, card {PII['card']}",
                },
            )
            c.post("/v1/chat/stream", json={"message": f"headphones for {PII['other_email']} please"})
            c.post("/v1/moderate", json={"text": f"you idiot, email me at {PII['other_email']} or {PII['phone']}"})
            c.get("/v1/search", params={"q": f"headphones {PII['email']}", "user_id": PII["email"]})
            c.post("/v1/events", json={"user_id": PII["email"], "type": "search", "query": PII["phone"]})
            c.post("/v1/chat", json={"message": "hi"}, headers={"X-API-Key": WRONG_KEY})
            c.get("/v1/review/items", headers={"Authorization": f"Bearer {REVIEWER}"})
            c.get("/v1/review/items", headers={"Authorization": f"Bearer {WRONG_KEY}"})
    finally:
        worker.kill()
    turn = cli(
        "--verbose",
        "chat",
        "--message",
        f"my card is {PII['card']} and my email {PII['email']}",
        "--json",
        env={**env, "COMMERCE_ASSISTANT_LOG_FILE": str(tmp_path / "cli.log")},
    )
    assert turn.returncode == 0, turn.stderr

    lines = log_file.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert records, "the server wrote no logs"
    assert any(r.get("request_id") == "pii-scan-1" for r in records), records
    texts = {
        "server log": log_file.read_text(encoding="utf-8"),
        "cli log": (tmp_path / "cli.log").read_text(encoding="utf-8"),
        "server stderr": (tmp_path / "stderr.log").read_text(encoding="utf-8"),
        "cli stderr": turn.stderr,
    }
    assert texts["cli log"].strip(), "the CLI wrote no debug logs"
    for where, text in texts.items():
        for name, value in [*PII.items(), *(("secret", s) for s in SECRETS)]:
            assert value not in text, f"{name} {value!r} found in the {where}"


def test_the_log_formatter_masks_pii_a_careless_caller_logs(tmp_path: Path) -> None:
    import logging

    from assistant.observability import configure_logging, request_id_var

    log_file = tmp_path / "careless.log"
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging(logging.INFO, json_format=True, log_file=log_file)
    token = request_id_var.set("req-42")
    try:
        logging.getLogger("careless").info("user %s (%s) paid with %s", PII["email"], PII["phone"], PII["card"])
        try:
            raise ValueError(f"bad address {PII['address']}")
        except ValueError:
            logging.getLogger("careless").exception("failed for %s", PII["other_email"])
    finally:
        request_id_var.reset(token)
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    records = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert [r["request_id"] for r in records] == ["req-42", "req-42"]
    assert "[EMAIL_1]" in records[0]["message"] and "[CARD_1]" in records[0]["message"]
    text = log_file.read_text(encoding="utf-8")
    for value in PII.values():
        assert value not in text


def test_uncaught_tracebacks_and_url_encoded_pii_are_scrubbed(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """An exception nobody catches (here in a worker thread) is logged, scrubbed, instead of Python printing its
    traceback raw to stderr; an e-mail percent-encoded in a URL (an access line, a traceback) is masked too."""
    import logging
    import sys
    import threading

    from assistant.observability import configure_logging

    log_file = tmp_path / "uncaught.log"
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, sys.excepthook, threading.excepthook)
    configure_logging(logging.INFO, json_format=True, log_file=log_file)
    try:
        worker = threading.Thread(target=_fail_for, args=(PII["email"],))
        worker.start()
        worker.join()
        logging.getLogger("access").info("GET /v1/users/mia.chen%40example.com/recommendations 500")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        sys.excepthook, threading.excepthook = saved[2], saved[3]
    stderr = capfd.readouterr().err
    text = log_file.read_text(encoding="utf-8")
    assert "_fail_for" in text and "[EMAIL_1]" in text  # the traceback was logged, masked
    assert oct(log_file.stat().st_mode & 0o777) == oct(0o600)
    for where, output in {"log": text, "stderr": stderr}.items():
        assert PII["email"] not in output and "mia.chen%40" not in output, (where, output)


def _fail_for(email: str) -> None:
    raise LookupError(f"no profile for {email}")
