"""Limits on identity attempts: a zip code has few digits, so guessing it must not be free.

Every failed attempt is counted against the conversation, the client (its IP address) and, when the details name
one, the account; a subject with too many failures within the cool-down is locked until the cool-down has passed
since its failures. Counts live in the store database, so every session and every `serve` worker sees them.
Each attempt (verified, failed, locked) is written to the store's audit log; subjects are kept as digests there
and in the counts, never as the raw address.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Column, Float, Integer, String, Table, delete, select

from assistant.store.db import StoreDB, metadata

Method = Literal["email", "name_zip"]
Outcome = Literal["verified", "failed", "locked"]

failures_table = Table(
    "store_identity_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(16), nullable=False),
    Column("subject", String(32), nullable=False, index=True),
    Column("at", Float, nullable=False, index=True),
)


@dataclass(frozen=True)
class IdentityPolicy:
    """How many failed attempts each subject may make within `cooldown_s`, and what an e-mail alone unlocks."""

    max_failures_per_session: int = 5
    max_failures_per_client: int = 20
    max_failures_per_account: int = 10
    cooldown_s: float = 900.0
    # An e-mail address is no secret: by default it lets a customer read their orders, and changes need the name
    # and zip code too (or a signed-in caller).
    email_allows_changes: bool = False


@dataclass(frozen=True)
class IdentityAttempt:
    """Who tries: the conversation, the client (IP address; None when the caller has none) and the signed-in user."""

    session_id: str
    client: str | None = None
    caller: str | None = None
    accounts: tuple[str, ...] = field(default=())  # the accounts the details name (may be wrong about the secret)


class IdentityGuard:
    """Counts failed identity attempts and says when a subject is locked. `clock` is injectable for tests."""

    def __init__(self, db: StoreDB, policy: IdentityPolicy, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.policy = policy
        self.clock = clock
        metadata.create_all(db.engine, tables=[failures_table])

    def locked_for(self, attempt: IdentityAttempt, method: Method) -> float:
        """Seconds until this attempt may be made (0: now). A refused attempt is audited."""
        now = self.clock()
        wait = max(
            (self._wait(scope, subject, limit, now) for scope, subject, limit in self._subjects(attempt)), default=0
        )
        if wait > 0:
            self._audit(attempt, method, "locked", attempt.accounts)
        return wait

    def failed(self, attempt: IdentityAttempt, method: Method) -> None:
        now = self.clock()
        rows = [{"scope": scope, "subject": subject, "at": now} for scope, subject, _ in self._subjects(attempt)]
        with self.db.transaction() as conn:
            # Failures older than the cool-down no longer count: dropped here, so the table stays small.
            conn.execute(delete(failures_table).where(failures_table.c.at <= now - self.policy.cooldown_s))
            conn.execute(failures_table.insert(), rows)
        self._audit(attempt, method, "failed", attempt.accounts)

    def verified(self, attempt: IdentityAttempt, method: Method, account: str) -> None:
        """The conversation's and the account's failures are forgiven; the client's are not (an attacker could
        verify their own account between guesses)."""
        forgiven = [_subject("session", attempt.session_id), _subject("account", account)]
        with self.db.transaction() as conn:
            conn.execute(delete(failures_table).where(failures_table.c.subject.in_(forgiven)))
        self._audit(attempt, method, "verified", (account,))

    def _subjects(self, attempt: IdentityAttempt) -> Iterable[tuple[str, str, int]]:
        policy = self.policy
        yield "session", _subject("session", attempt.session_id), policy.max_failures_per_session
        if attempt.client:
            yield "client", _subject("client", attempt.client), policy.max_failures_per_client
        for account in attempt.accounts:
            yield "account", _subject("account", account), policy.max_failures_per_account

    def _wait(self, scope: str, subject: str, limit: int, now: float) -> float:
        if limit <= 0:
            return 0.0
        query = (
            select(failures_table.c.at)
            .where(failures_table.c.subject == subject, failures_table.c.at > now - self.policy.cooldown_s)
            .order_by(failures_table.c.at.desc())
            .limit(limit)
        )
        with self.db.engine.connect() as conn:
            recent = list(conn.execute(query).scalars())
        if len(recent) < limit:
            return 0.0
        return recent[-1] + self.policy.cooldown_s - now  # locked until the limit-th latest failure ages out

    def _audit(self, attempt: IdentityAttempt, method: Method, outcome: Outcome, accounts: Iterable[str]) -> None:
        arguments = {
            "method": method,
            "outcome": outcome,
            "session": attempt.session_id,
            "client": _subject("client", attempt.client) if attempt.client else None,
        }
        with self.db.transaction() as conn:
            for target in tuple(accounts) or ("unknown",):
                self.db.audit(
                    conn,
                    actor=attempt.caller or "anonymous",
                    action="verify_identity",
                    target=target,
                    arguments=arguments,
                    before=None,
                    after=None,
                )


def _subject(scope: str, value: str) -> str:
    return hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()[:32]
