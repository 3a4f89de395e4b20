"""Shared fixtures. Tests use real components; data from ../shared/data is skipped cleanly when absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
