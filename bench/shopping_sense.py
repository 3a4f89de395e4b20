"""Shopping sense on the Icecat catalog: does a category request ("a laptop", "笔记本电脑") get that category in its
top 3, or accessories (batteries, cases, memory)? Before (no category preference) and after, in one run, on the
requests of bench/data/category_requests.jsonl: the "tune" half was used while tuning, the "held" half was not.

    python bench/shopping_sense.py [--work DIR] [--k 3] [--verbose]

The Icecat store and its search index are kept under --work (default: a folder in the system's temp dir), so a
second run does not embed the catalog again.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.catalog_store import CatalogStore  # noqa: E402
from retrieval.categories import same_kind  # noqa: E402
from retrieval.chroma import make_chroma_client  # noqa: E402
from retrieval.embeddings import get_embedder  # noqa: E402
from retrieval.ingest import ingest  # noqa: E402
from retrieval.readers import read_catalog  # noqa: E402
from retrieval.search import FusionWeights, ProductSearcher  # noqa: E402

DATA = Path(os.environ.get("COMMERCE_ASSISTANT_SHARED_DATA", ROOT.parent / "shared" / "data"))
REQUESTS = ROOT / "bench" / "data" / "category_requests.jsonl"


@dataclass
class Request:
    request: str
    language: str
    categories: list[str]
    split: str


def load_requests(path: Path) -> list[Request]:
    return [Request(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def right_in_top(searcher: ProductSearcher, request: Request, k: int) -> tuple[bool, list[str]]:
    """Whether a product of an expected category is among the top K, and the categories shown."""
    kinds = [searcher.category_of(hit.product) for hit in searcher.search(request.request, k=k)]
    return any(same_kind(want, kind) for want in request.categories for kind in kinds), kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "commerce-assistant-shopping-sense")
    parser.add_argument("--requests", type=Path, default=REQUESTS)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--verbose", action="store_true", help="print each request with the categories shown")
    args = parser.parse_args()
    if not (DATA / "icecat").is_dir():
        sys.exit(f"error: Icecat data not found under {DATA}")
    requests = load_requests(args.requests)
    store = CatalogStore(make_chroma_client(args.work / "chroma"), get_embedder())
    if store.count() == 0:
        print("ingesting the Icecat catalog (once)…", file=sys.stderr)
        ingest(store, read_catalog(DATA / "icecat"))
    searchers = {
        "before": ProductSearcher(store, args.work / "search", FusionWeights(category_boost=0.0)),
        "after": ProductSearcher(store, args.work / "search"),
    }
    summary: dict[str, dict[str, float]] = {}
    for name, searcher in searchers.items():
        for split in ("tune", "held", "all"):
            chosen = [r for r in requests if split in ("all", r.split)]
            results = [right_in_top(searcher, r, args.k) for r in chosen]
            if args.verbose and split == "all":
                for r, (ok, kinds) in zip(chosen, results, strict=True):
                    print(f"{name:6} {'ok ' if ok else 'BAD'} {r.split:4} {r.request!r}: {kinds}", file=sys.stderr)
            summary.setdefault(name, {})[split] = round(sum(ok for ok, _ in results) / len(chosen), 3)
        zh = [r for r in requests if r.language == "zh"]
        summary[name]["zh"] = round(sum(right_in_top(searcher, r, args.k)[0] for r in zh) / len(zh), 3)
    print(json.dumps({"k": args.k, "requests": len(requests), "share_right_category_in_top_k": summary}))


if __name__ == "__main__":
    main()
