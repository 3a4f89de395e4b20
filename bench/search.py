"""Search benchmark on the Icecat catalog, one run, same queries: (a) BM25 (bm25s) over title + brand +
description, (b) LangChain `Chroma.similarity_search` with the same embedding model, (c) ours (hybrid).

Prints NDCG@10 / Recall@50, warm p50 / p95 query latency, ingest throughput, ratios ours/baseline, and our ingest
throughput against the bare encode throughput of the embedder. Writes summary.json + a PNG to --out.

    python bench/search.py [--out reports/bench-search] [--limit N]

Timings on a shared machine are inflated by other work; compare the ratios, which are measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from assistant.evals.search import evaluate, load_judgements, percentile, summarise  # noqa: E402
from retrieval.catalog_store import CatalogStore, embedding_text  # noqa: E402
from retrieval.chroma import make_chroma_client  # noqa: E402
from retrieval.embeddings import Embedder, get_embedder  # noqa: E402
from retrieval.ingest import ingest  # noqa: E402
from retrieval.models import Product  # noqa: E402
from retrieval.readers import read_catalog  # noqa: E402
from retrieval.search import ProductSearcher  # noqa: E402

DATA = Path(os.environ.get("COMMERCE_ASSISTANT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def timed_ranker(rank: Callable[[str], list[str]], queries: list[str]) -> tuple[Callable[[str], list[str]], dict]:
    """Warms RANK on every query once, then returns it with a dict of warm latencies measured in a second pass."""
    for q in queries:
        rank(q)
    latencies = []
    for q in queries:
        start = time.perf_counter()
        rank(q)
        latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()
    return rank, {"p50_ms": round(percentile(latencies, 50), 2), "p95_ms": round(percentile(latencies, 95), 2)}


def bm25_baseline(products: list[Product]) -> tuple[Callable[[str], list[str]], float]:
    import bm25s

    start = time.perf_counter()
    corpus = [f"{p.title} {p.brand} {p.description}" for p in products]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(corpus, stopwords="en", show_progress=False), show_progress=False)
    build_s = time.perf_counter() - start
    ids = np.array([p.id for p in products])

    def rank(query: str) -> list[str]:
        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
        docs, _ = retriever.retrieve(tokens, k=50, show_progress=False, n_threads=1)
        return list(ids[docs[0]])

    return rank, build_s


def langchain_baseline(products: list[Product], embedder: Embedder, path: Path) -> tuple[Callable, float]:
    from langchain_chroma import Chroma
    from langchain_core.embeddings import Embeddings

    class Adapter(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.encode(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return embedder.encode_query([text])[0].tolist()

    client = make_chroma_client(path)
    store = Chroma(collection_name="langchain-baseline", embedding_function=Adapter(), client=client,
                   collection_metadata={"hnsw:space": "cosine"})
    start = time.perf_counter()
    for i in range(0, len(products), 512):
        batch = products[i : i + 512]
        store.add_texts([embedding_text(p) for p in batch], metadatas=[{"pid": p.id} for p in batch],
                        ids=[p.id for p in batch])
    build_s = time.perf_counter() - start

    def rank(query: str) -> list[str]:
        return [d.metadata["pid"] for d in store.similarity_search(query, k=50)]

    return rank, build_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench-search")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N products (quick runs)")
    parser.add_argument("--judgements", type=Path, default=DATA / "icecat" / "search-judgements-dev.csv")
    args = parser.parse_args()
    if not (DATA / "icecat").is_dir():
        sys.exit(f"error: Icecat data not found under {DATA}")
    judged = load_judgements(args.judgements)
    queries = list(judged)
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    log(f"work dir {work}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")

    embedder = get_embedder()
    embedder.encode(["warm up"])
    products = [p for p in read_catalog(DATA / "icecat") if isinstance(p, Product)]
    if args.limit:
        products = products[: args.limit]

    sample = [embedding_text(p) for p in products[:2000]]
    start = time.perf_counter()
    for i in range(0, len(sample), 256):
        embedder.encode(sample[i : i + 256])
    encode_rate = len(sample) / (time.perf_counter() - start)
    log(f"bare encode: {encode_rate:.0f} products/s")

    # (c) ours: end to end, from the files to a searchable store with its saved index.
    start = time.perf_counter()
    store = CatalogStore(make_chroma_client(work / "ours" / "chroma"), embedder)
    rows = read_catalog(DATA / "icecat")
    result = ingest(store, (r for i, r in enumerate(rows) if not args.limit or i < args.limit))
    searcher = ProductSearcher(store, work / "ours" / "search")
    searcher.refresh()
    ingest_s = time.perf_counter() - start
    start = time.perf_counter()
    again = ingest(CatalogStore(make_chroma_client(work / "ours" / "chroma"), embedder),
                   (r for i, r in enumerate(read_catalog(DATA / "icecat")) if not args.limit or i < args.limit),
                   progress=False)
    reingest_s = time.perf_counter() - start
    assert again.unchanged == result.ingested, "re-ingest must find every product unchanged"
    log(f"ours: ingest {ingest_s:.1f}s, unchanged re-ingest {reingest_s:.1f}s")

    bm25_rank, bm25_build = bm25_baseline(products)
    log(f"bm25s index {bm25_build:.1f}s")
    lc_rank, lc_build = langchain_baseline(products, embedder, work / "langchain")
    log(f"langchain ingest {lc_build:.1f}s")

    systems = {
        "bm25s": bm25_rank,
        "langchain_chroma": lc_rank,
        "ours": lambda q: [h.product.id for h in searcher.search(q, k=50)],
    }
    table: dict[str, dict] = {}
    for name, rank in systems.items():
        rank, latency = timed_ranker(rank, queries)
        metrics = summarise(evaluate(rank, judged))
        table[name] = {"ndcg@10": metrics["ndcg@10"], "recall@10": metrics["recall@10"],
                       "recall@50": metrics["recall@50"], **latency}
    n = len(products)
    table["bm25s"]["ingest_products_per_s"] = round(n / bm25_build, 1)
    table["langchain_chroma"]["ingest_products_per_s"] = round(n / lc_build, 1)
    table["ours"]["ingest_products_per_s"] = round(n / ingest_s, 1)
    summary = {
        "products": n,
        "queries": len(queries),
        "embedder": embedder.name,
        "load_average_1m": round(os.getloadavg()[0], 1),
        "systems": table,
        "ours_ingest_s": round(ingest_s, 1),
        "ours_unchanged_reingest_s": round(reingest_s, 1),
        "bare_encode_products_per_s": round(encode_rate, 1),
        "ingest_vs_bare_encode": round(n / ingest_s / encode_rate, 3),
        "ratios": {
            f"ours/{base}": {
                "ndcg@10": round(table["ours"]["ndcg@10"] / max(table[base]["ndcg@10"], 1e-9), 3),
                "p50_latency": round(table["ours"]["p50_ms"] / max(table[base]["p50_ms"], 1e-9), 3),
            }
            for base in ("bm25s", "langchain_chroma")
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    plot(table, args.out / "search_bench.png")
    print(f"{'system':18} {'NDCG@10':>8} {'R@10':>6} {'R@50':>6} {'p50 ms':>8} {'p95 ms':>8} {'ingest/s':>9}")
    for name, row in table.items():
        print(f"{name:18} {row['ndcg@10']:8.4f} {row['recall@10']:6.3f} {row['recall@50']:6.3f} "
              f"{row['p50_ms']:8.2f} {row['p95_ms']:8.2f} {row['ingest_products_per_s']:9.1f}")
    print(json.dumps({k: v for k, v in summary.items() if k != "systems"}, indent=2))
    print(f"report: {args.out / 'summary.json'}, {args.out / 'search_bench.png'}")


def plot(table: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(table)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.bar(names, [table[n]["ndcg@10"] for n in names], color=["#999999", "#88aacc", "#cc5533"])
    left.set_title("NDCG@10 (Icecat dev judgements)")
    left.set_ylim(0, 1)
    right.bar(names, [table[n]["p50_ms"] for n in names], color=["#999999", "#88aacc", "#cc5533"])
    right.set_title("warm p50 query latency (ms)")
    for ax in (left, right):
        ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
