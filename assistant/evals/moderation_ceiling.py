"""How far the shipped signals can carry OpenAI-moderation flagged-or-not F1: a diagnostic, nothing here ships.

The shipped heads are trained on examples we wrote. This asks the opposite question: if a logistic head on the same
signals were supervised by the dev labels themselves (5-fold cross-validation, out-of-fold scores), what F1 would
it reach? If even that stays under the target, self-written seeds on these signals would have to outdo as many
labelled texts from the set's own distribution. A learning curve (the same fit on a quarter, half, three quarters
of each training fold) shows how the figure grows with the amount of such data.

    python -m assistant.evals.moderation_ceiling [--data ../shared/data] [--minilm]

Signals: the multilingual sentence embedding (`Embedder`), the six Jigsaw toxic-comment scores, the shipped abuse
model's probability and, with `--minilm`, the English all-MiniLM-L6-v2 embedding (measured, not used by the
moderator). Prints one JSON line per feature set (best F1 over thresholds and F1 at 0.5, for each regularisation),
then one per learning-curve point on the embedding + classifier scores.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_curve
from sklearn.model_selection import StratifiedKFold

from assistant.evals.moderation import OPENAI_LABELS, default_data_dir
from moderation.profanity import ProfanityModel
from moderation.semantic import Embedder
from moderation.text_checks import EMBED_CHARS
from moderation.toxic_comments import ToxicCommentModel


def cross_validated_f1(
    features: np.ndarray, labels: np.ndarray, c: float, train_fraction: float = 1.0, seed: int = 0
) -> dict[str, float]:
    """Out-of-fold F1 of a logistic head; `train_fraction` of each training fold (a random subset) is used."""
    rng = np.random.default_rng(seed)
    scores = np.zeros(len(labels))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(features, labels):
        train = rng.choice(train, max(2, int(len(train) * train_fraction)), replace=False)
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(features[train], labels[train])
        scores[test] = model.predict_proba(features[test])[:, 1]
    precision, recall, _ = precision_recall_curve(labels, scores)
    best = float((2 * precision * recall / np.maximum(precision + recall, 1e-9)).max())
    return {"C": c, "best_f1": round(best, 3), "f1_at_0.5": round(float(f1_score(labels, scores >= 0.5)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="Folder holding moderation/ (default ../shared/data).")
    parser.add_argument("--minilm", action="store_true", help="Also try the English MiniLM embedding.")
    args = parser.parse_args()
    path = (args.data or default_data_dir()) / "moderation" / "openai-moderation-dev.jsonl"
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    texts = [row["prompt"][:EMBED_CHARS] for row in rows]
    labels = np.array([any(row.get(key) == 1 for key in OPENAI_LABELS) for row in rows])

    scores = np.hstack([ToxicCommentModel().predict(texts), ProfanityModel().predict_prob(texts)[:, None]])
    sets = {"classifier scores": scores, "embedding": Embedder().encode(texts)}
    sets["embedding + classifier scores"] = np.hstack([sets["embedding"], scores])
    if args.minilm:
        from retrieval.embeddings import get_embedder

        minilm = get_embedder("minilm").encode(texts)
        sets["minilm + classifier scores"] = np.hstack([minilm, scores])
        sets["embedding + minilm + classifier scores"] = np.hstack([sets["embedding"], minilm, scores])
    for name, features in sets.items():
        fits = [cross_validated_f1(features, labels, c) for c in (0.1, 1.0, 10.0)]
        print(json.dumps({"features": name, "n": len(labels), "positives": int(labels.sum()), "fits": fits}))
    features = sets["embedding + classifier scores"]
    for fraction in (0.25, 0.5, 0.75, 1.0):
        runs = [cross_validated_f1(features, labels, 1.0, fraction, seed)["best_f1"] for seed in range(3)]
        train_texts = int(len(labels) * 0.8 * fraction)
        point = {"training_texts": train_texts, "best_f1": round(float(np.mean(runs)), 3)}
        print(json.dumps({"learning_curve": point}))


if __name__ == "__main__":
    main()
