"""Helpers shared by the store tests (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from assistant.store import PolicyError, Proposal, StoreTools


def refused(code: str, call: Callable[[], object]) -> PolicyError:
    """The policy error `call` raises, which must have `code`."""
    with pytest.raises(PolicyError) as info:
        call()
    assert info.value.code == code, info.value.message
    return info.value


def confirm_twice_at_once(tools: StoreTools, proposal: Proposal) -> list[str]:
    """Executes one proposal from two threads released together; the outcome of each."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def confirm() -> None:
        barrier.wait()
        try:
            tools.execute(proposal)
            outcomes.append("done")
        except PolicyError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return sorted(outcomes)
