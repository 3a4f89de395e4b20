"""Fits `retrieval.recommend.RepeatModel` (P(a household buys a product again soon)) on the completejourney
training months only: features from the sampled households' purchases before the validation cutoff, labels from
the weeks between it and the test cutoff, so the test weeks of `eval recommend` are never seen.

    python -m assistant.evals.repeat_model_fit [--cutoff 2017-10-04] [--weeks 4] [--households 500] [--seed 0]

The features are computed as the live profile computes them (`UserProfile.decayed`,
`ItemStat.purchase_interval_days`, `BehaviourStats.repeat_rate` / `purchase_count`), from the same events the eval
replays. Prints the coefficients as a `RepeatModel(...)` and one JSON line with the fit's figures.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd

from assistant.evals.recommend import RecommendEvalConfig, load_journey
from retrieval.profiles import DAY, ProfileConfig

FEATURES = ("recent", "habit", "cadence", "repeat_rate", "popularity")


def repeat_features(train: pd.DataFrame, cutoff: pd.Timestamp, config: ProfileConfig) -> pd.DataFrame:
    """One row per (household, product) bought before `cutoff`, with the model's features as of `cutoff`."""
    now = cutoff.timestamp()
    frame = train.assign(
        uid=train["household_id"].astype(str),
        pid=train["product_id"].astype(str),
        ts=train["transaction_timestamp"].astype("int64") / 1e9,
    )
    age = now - frame["ts"]
    frame["recent"] = 0.5 ** (age / (config.interest_half_life_days * DAY))
    frame["habit"] = 0.5 ** (age / (config.history_half_life_days * DAY))
    pairs = frame.groupby(["uid", "pid"]).agg(
        n=("ts", "size"), recent=("recent", "sum"), habit=("habit", "sum"), first=("ts", "min"), last=("ts", "max")
    ).reset_index()
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
        }
    )


def _recall(rows: pd.DataFrame, score: np.ndarray, truth: dict[str, set[str]], k: int) -> float:
    ranked = rows.assign(score=score).sort_values(["uid", "score", "pid"], ascending=[True, False, True])
    top = ranked.groupby("uid").head(k).groupby("uid")["pid"].apply(list).to_dict()
    return float(np.mean([len(set(top.get(u, [])) & items) / len(items) for u, items in truth.items()]))


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cutoff", default="2017-10-04", help="Validation cutoff, inside the training months.")
    parser.add_argument("--weeks", type=int, default=4, help="Label weeks after the cutoff.")
    parser.add_argument("--households", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = RecommendEvalConfig(households=args.households, seed=args.seed, cutoff=args.cutoff, test_weeks=args.weeks)
    train, labels, _ = load_journey(config)
    rows = repeat_features(train, pd.Timestamp(args.cutoff), ProfileConfig())
    truth = {str(u): set(g["product_id"].astype(str)) for u, g in labels.groupby("household_id")}
    rows = rows[rows["uid"].isin(truth)]
    bought = np.array([p in truth[u] for u, p in zip(rows["uid"], rows["pid"], strict=True)])
    x = rows[list(FEATURES)].to_numpy()
    model = LogisticRegression(max_iter=3000).fit(x, bought)
    coefficients = dict(zip(FEATURES, model.coef_[0].round(3).tolist(), strict=True))
    arguments = ", ".join(f"{k}={v}" for k, v in coefficients.items())
    print(f"RepeatModel(bias={model.intercept_[0]:.3f}, {arguments})")
    buy_again = _recall(rows, rows["n"].to_numpy(dtype=float), truth, 20)
    fitted = _recall(rows, model.decision_function(x), truth, 20)
    print(json.dumps({
        "cutoff": args.cutoff, "label_weeks": args.weeks, "households": len(truth), "pairs": len(rows),
        "positives": int(bought.sum()), "bias": round(float(model.intercept_[0]), 3), "coefficients": coefficients,
        "recall@20_buy_again_owned_only": round(buy_again, 4), "recall@20_model_owned_only": round(fitted, 4),
        "note": "in-sample on the validation weeks (the model's own fit), owned products only",
    }))


if __name__ == "__main__":
    main()
