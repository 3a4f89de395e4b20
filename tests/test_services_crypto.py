"""Encryption at rest and key rotation on PostgreSQL: the same columns hold tokens, `keys rotate` moves them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from service_engines import Engines, base_env, cli
from sqlalchemy import create_engine, text

from retrieval.crypto import PREFIX, Cipher, generate_key

pytestmark = pytest.mark.services


def test_encrypted_on_postgres_and_rotated(engines: Engines, tmp_path: Path) -> None:
    old, new = generate_key(), generate_key()
    env = base_env(tmp_path / "data", engines, COMMERCE_ASSISTANT_ENCRYPTION_KEYS=old)
    # No PII in the message: stored messages are masked anyway (the PII map lives in the session state).
    turn = cli("chat", "--message", "any noise cancelling headphones?", "--user", "mia", "--json", env=env)
    assert turn.returncode == 0, turn.stderr
    db = create_engine(engines.database_url)
    with db.connect() as conn:
        contents = [r[0] for r in conn.execute(text("SELECT content FROM chat_messages"))]
    assert contents and all(c.startswith(PREFIX) for c in contents)
    assert not any("headphones" in c for c in contents)

    rotated = cli("keys", "rotate", env={**env, "COMMERCE_ASSISTANT_ENCRYPTION_KEYS": f"{new},{old}"})
    assert rotated.returncode == 0, rotated.stderr
    assert json.loads(rotated.stdout)["rotated"]["chat_messages.content"] == len(contents)
    with db.connect() as conn:
        after = [r[0] for r in conn.execute(text("SELECT content FROM chat_messages"))]
    db.dispose()
    assert any("headphones" in Cipher([new]).decrypt(c) for c in after)
