"""Shared fixtures. Tests use real components; data from ../shared/data is skipped cleanly when absent."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_engines import Engines

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("COMMERCE_ASSISTANT_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data dir for one test; the CLI and Settings pick it up from the environment."""
    path = tmp_path / "data"
    monkeypatch.setenv("COMMERCE_ASSISTANT_DATA_DIR", str(path))
    monkeypatch.setenv("COMMERCE_ASSISTANT_LLM", "none")
    return path


@pytest.fixture()
def engines() -> Iterator[Engines]:
    """The scale-out engines for one `services` test: a fresh PostgreSQL database and an emptied Chroma server,
    from COMMERCE_ASSISTANT_DATABASE_URL / COMMERCE_ASSISTANT_CHROMA_URL (set by `.ci/run`; skipped when unset)."""
    from service_engines import empty_chroma, fresh_database

    server_url = os.environ.get("COMMERCE_ASSISTANT_DATABASE_URL")
    chroma_url = os.environ.get("COMMERCE_ASSISTANT_CHROMA_URL")
    if not server_url or not chroma_url:
        pytest.skip("services not configured: set COMMERCE_ASSISTANT_DATABASE_URL and COMMERCE_ASSISTANT_CHROMA_URL")
    empty_chroma(chroma_url)
    with fresh_database(server_url) as url:
        yield Engines(database_url=url, chroma_url=chroma_url)


@pytest.fixture(scope="session")
def retail_store_template(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the real retail store (users, orders, policy) and its products in the catalog, built once per
    session; tests get copies (`retail_data_dir`) so each one starts from the same store state."""
    from assistant.config import Settings
    from assistant.runtime import Runtime
    from assistant.store.loading import import_store_with_catalog

    path = tmp_path_factory.mktemp("retail-template") / "data"
    runtime = Runtime(Settings(data_dir=path, llm="none"))
    import_store_with_catalog(runtime, shared_data / "retail-store", progress=False)
    runtime.db.dispose()
    return path


@pytest.fixture()
def retail_data_dir(retail_store_template: Path, tmp_path: Path) -> Path:
    """A private copy of the retail-store data dir for one test."""
    import shutil

    path = tmp_path / "retail"
    shutil.copytree(retail_store_template, path)
    return path
