"""What "ready" means: each component built and exercised once, in the order a first chat needs them."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from assistant.runtime import Runtime


def warmup_steps(runtime: Runtime) -> dict[str, Callable[[], object]]:
    def database() -> None:
        with runtime.db.connect() as conn:
            conn.execute(text("SELECT 1"))

    def chroma() -> None:
        runtime.chroma.heartbeat()

    return {"database": database, "chroma": chroma}
