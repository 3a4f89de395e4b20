"""Format detection and the `read_catalog` entry point."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from retrieval.models import Product, RejectedRow
from retrieval.readers.csv import read_csv
from retrieval.readers.dummyjson import read_dummyjson
from retrieval.readers.icecat import read_icecat
from retrieval.readers.jsonl import read_jsonl
from retrieval.readers.retail_store import read_retail_store

Reader = Callable[[Path], Iterator[Product | RejectedRow]]
READERS: dict[str, Reader] = {
    "jsonl": read_jsonl,
    "csv": read_csv,
    "icecat": read_icecat,
    "dummyjson": read_dummyjson,
    "retail-store": read_retail_store,
}
FORMATS: tuple[str, ...] = ("auto", *READERS)


class CatalogFormatError(ValueError):
    """The path does not exist or its format cannot be read."""


def _json_head(path: Path) -> str:
    with path.open(encoding="utf-8") as fh:
        return fh.read(4096).lstrip()


def detect_format(path: Path) -> str:
    """Guesses the format from the path: folder layout, extension, then the first bytes of JSON."""
    if not path.exists():
        raise CatalogFormatError(f"no such file or folder: {path}")
    if path.is_dir():
        if (path / "products.json").is_file() and (path / "orders.json").is_file():
            return "retail-store"
        if any(p.name.endswith(".json.zip") for p in path.iterdir()):
            return "icecat"
        if (path / "products.json").is_file():
            return detect_format(path / "products.json")
        raise CatalogFormatError(f"cannot tell the catalog format of folder {path}")
    name = path.name.lower()
    if name.endswith(".zip"):
        if not zipfile.is_zipfile(path):
            raise CatalogFormatError(f"{path} is not a valid zip file")
        return "icecat"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith(".json"):
        head = _json_head(path)
        if head.startswith("{") and '"products"' in head[:200]:
            return "dummyjson"
        if head.startswith("["):
            return "icecat" if '"supplier"' in head or '"short_description"' in head else "dummyjson"
        if head.startswith("{"):
            data = json.loads(path.read_text(encoding="utf-8"))
            first = next(iter(data.values()), None) if isinstance(data, dict) else None
            if isinstance(first, dict) and "variants" in first:
                return "retail-store"
            return "jsonl"
    raise CatalogFormatError(f"cannot tell the catalog format of {path}; pass --format")


def read_catalog(path: Path | str, fmt: str = "auto") -> Iterator[Product | RejectedRow]:
    """Streams products (and rejected rows) from PATH: a file, a zip or a folder, in any supported format."""
    path = Path(path)
    if fmt not in FORMATS:
        raise CatalogFormatError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not path.exists():
        raise CatalogFormatError(f"no such file or folder: {path}")
    name = detect_format(path) if fmt == "auto" else fmt
    try:
        yield from READERS[name](path)
    except CatalogFormatError:
        raise
    except (ValueError, zipfile.BadZipFile) as exc:  # JSON/Unicode errors and a reader's "wrong shape" refusal
        raise CatalogFormatError(f"{path}: not readable as {name}: {exc}") from exc
