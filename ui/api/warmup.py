"""What "ready" means: each component built and exercised once. The store and catalog come first (search needs
them); the models then load side by side."""

from __future__ import annotations

from sqlalchemy import text

from assistant.runtime import Runtime
from assistant.store.loading import ensure_sample_store
from ui.api.readiness import Step


def warmup_stages(runtime: Runtime) -> list[dict[str, Step]]:
    def database() -> None:
        with runtime.db.connect() as conn:
            conn.execute(text("SELECT 1"))

    def catalog() -> None:
        # With nothing ingested yet, `serve` shows the bundled demo store rather than an empty shop.
        ensure_sample_store(runtime, progress=False)

    def search() -> None:
        # One query per language: the Chinese word segmenter loads its dictionary on first use (seconds, holding
        # the GIL), which otherwise stalls every request in flight when the first Chinese message arrives.
        for query in ("headphones", "蓝牙耳机"):
            runtime.searcher.search(query, k=1)

    def moderation() -> None:
        runtime.moderator.warm_up()

    def dialogue() -> None:
        runtime.dialogue.warm_up()

    def llm() -> None:
        model = runtime.llm
        if model is not None:  # "none" answers from templates: nothing to load
            model.complete([{"role": "user", "content": "hi"}], max_tokens=1, timeout_s=runtime.settings.llm_timeout_s)

    return [
        {"database": database},
        {"catalog": catalog},
        {"search": search, "moderation": moderation, "llm": llm},
        {"dialogue": dialogue},  # after search and moderation: it uses their models and caches
    ]
