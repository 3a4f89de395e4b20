"""Shared fixtures. Tests use real components; data from ../shared/data is skipped cleanly when absent."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from service_engines import Engines

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

# Property-based tests. "ci" (the default): the same examples on every run, whatever the hypothesis seed or the
# clock, and no example database, so a test's result depends on the code alone. "fuzz" (scripts/fuzz.sh): the wide
# random search, 10,000 examples a target, failures remembered in .hypothesis/ and replayed first next time.
_SLOW_EXAMPLES_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
settings.register_profile(
    "ci", max_examples=150, derandomize=True, database=None, deadline=None, suppress_health_check=_SLOW_EXAMPLES_OK
)
settings.register_profile("fuzz", max_examples=10_000, deadline=None, suppress_health_check=_SLOW_EXAMPLES_OK)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

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
    """The scale-out engines for one `services` test: a fresh PostgreSQL database and a fresh Chroma database on
    the servers of COMMERCE_ASSISTANT_DATABASE_URL / COMMERCE_ASSISTANT_CHROMA_URL (set by `.ci/run`; skipped when
    unset)."""
    from service_engines import fresh_chroma_database, fresh_database

    server_url = os.environ.get("COMMERCE_ASSISTANT_DATABASE_URL")
    chroma_url = os.environ.get("COMMERCE_ASSISTANT_CHROMA_URL")
    if not server_url or not chroma_url:
        pytest.skip("services not configured: set COMMERCE_ASSISTANT_DATABASE_URL and COMMERCE_ASSISTANT_CHROMA_URL")
    with fresh_database(server_url) as url, fresh_chroma_database(chroma_url) as chroma:
        yield Engines(database_url=url, chroma_url=chroma)


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


# --- personalization ------------------------------------------------------------------------------------------
PERSONALIZATION_PRODUCTS = [
    # (id, title, brand, category, price)
    ("cam-sony", "Sony Alpha a7 IV mirrorless camera", "Sony", "cameras", 1999.0),
    ("cam-canon", "Canon EOS R8 mirrorless camera", "Canon", "cameras", 1499.0),
    ("cam-nikon", "Nikon Z6 II mirrorless camera", "Nikon", "cameras", 1599.0),
    ("lens-sony", "Sony FE 50mm f/1.8 camera lens", "Sony", "lenses", 249.0),
    ("tripod", "Manfrotto aluminium camera tripod", "Manfrotto", "tripods", 129.0),
    ("hp-sony", "Sony WH-1000XM5 wireless noise cancelling headphones", "Sony", "headphones", 349.0),
    ("hp-bose", "Bose QuietComfort wireless headphones", "Bose", "headphones", 299.0),
    ("phone-apple", "Apple iPhone 15 smartphone 128GB", "Apple", "phones", 799.0),
    ("phone-samsung", "Samsung Galaxy S24 smartphone", "Samsung", "phones", 899.0),
    ("mouse", "Logitech MX Master 3S wireless mouse", "Logitech", "mice", 99.0),
    ("coffee", "Arabica coffee beans 1kg", "Lavazza", "coffee", 19.0),
    ("milk", "Organic whole milk 1L", "Arla", "dairy", 1.5),
]


@pytest.fixture()
def catalog_data_dir(data_dir: Path) -> Path:
    """`data_dir` with a small real catalog (12 products, real embedder) in its Chroma `products` collection."""
    from assistant.config import Settings
    from retrieval.catalog_store import CatalogStore
    from retrieval.chroma import make_chroma_client
    from retrieval.embeddings import get_embedder
    from retrieval.models import Product

    settings = Settings(data_dir=data_dir).ensure_dirs()
    store = CatalogStore(make_chroma_client(settings.chroma_path), get_embedder(settings.embedding_model))
    store.upsert([Product(id=i, title=t, brand=b, category=c, price=p) for i, t, b, c, p in PERSONALIZATION_PRODUCTS])
    return data_dir


@pytest.fixture()
def personal_runtime(catalog_data_dir: Path):  # type: ignore[no-untyped-def]
    """A Runtime over `catalog_data_dir` (real SQLite, real Chroma); `.personalization` as the app builds it."""
    from assistant.config import Settings
    from assistant.runtime import Runtime

    runtime = Runtime(Settings(data_dir=catalog_data_dir, llm="none"))
    yield runtime
    runtime.personalization.close()
    runtime.db.dispose()


@pytest.fixture(scope="session")
def text_moderator():  # type: ignore[no-untyped-def]
    """One real `Moderator` (real classifiers, no review queue) shared by the moderation tests: loading the
    models once keeps them fast."""
    from moderation.moderator import Moderator

    return Moderator()
