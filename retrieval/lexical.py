"""Lexical side of hybrid search: tokenisation (English, model numbers, Chinese) and a field-weighted BM25 index.

The index precomputes each (term, product) BM25F weight into a sparse matrix, so a query is a sum of a few columns.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy import sparse

from retrieval.models import Product
from retrieval.zh_glossary import ZH_EN

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+(?:[-./+][a-z0-9]+)*")
_STOPWORDS = frozenset(
    {"a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it", "of", "on", "or",
     "the", "to", "with", "without", "my", "me", "i", "want", "need", "looking", "show", "find", "some", "any",
     "cheap", "best", "good", "new", "buy"}
)
_ZH_STOP = frozenset({"的", "了", "和", "与", "或", "我", "要", "想", "买", "找", "一个", "一款", "有", "吗", "呢",
                      "请", "给", "推荐"})

# Field weights of BM25F: a term in the title says more about the product than one in the description.
FIELD_WEIGHTS: dict[str, float] = {"title": 3.0, "brand": 2.0, "category": 2.0, "description": 1.0}
K1 = 1.2
B = 0.75


def _stem(word: str) -> str:
    """Folds plurals so 'headphones' matches 'headphone' and 'batteries' matches 'battery'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")) and not word[-2].isdigit():
        return word[:-1]
    return word


@cache
def _jieba():  # type: ignore[no-untyped-def]
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    for term in ZH_EN:
        jieba.add_word(term)
    return jieba


def _latin_groups(text: str) -> list[list[str]]:
    """One group of alternative terms per word: a model number "tn-2110" gives ["tn2110", "tn", "2110"]."""
    groups: list[list[str]] = []
    for match in _WORD.findall(text):
        parts = [p for p in re.split(r"[-./+]", match) if p and p not in _STOPWORDS]
        if len(parts) > 1:
            groups.append(["".join(parts), *(_stem(p) for p in parts)])
        elif parts:
            groups.append([_stem(parts[0])])
    return groups


def _term_groups(text: str) -> list[list[str]]:
    text = unicodedata.normalize("NFKC", text).lower()
    groups: list[list[str]] = []
    pos = 0
    for match in _CJK.finditer(text):
        groups += _latin_groups(text[pos : match.start()])
        groups += [[w] for w in _jieba().lcut(match.group()) if w.strip() and w not in _ZH_STOP]
        pos = match.end()
    return groups + _latin_groups(text[pos:])


def tokenize(text: str) -> list[str]:
    """Lower-cased terms: English words (plurals folded), joined model numbers, and jieba words for Chinese."""
    return [term for group in _term_groups(text) for term in group]


def query_groups(text: str) -> list[list[str]]:
    """The query as groups of alternative terms; a product scores the best term of each group, so synonyms
    (a Chinese term and its English glossary words, a model number's spellings) do not add up."""
    groups: list[list[str]] = []
    for group in _term_groups(text):
        english = [t for term in group if term in ZH_EN for g in _latin_groups(ZH_EN[term]) for t in g]
        merged = list(dict.fromkeys(group + english))
        if merged not in groups:
            groups.append(merged)
    return groups


def product_fields(product: Product) -> dict[str, str]:
    return {
        "title": product.title,
        "brand": product.brand,
        "category": product.category,
        "description": product.description,
    }


@dataclass
class LexicalIndex:
    """BM25F weights as a (products x terms) CSC matrix; `ids[i]` is row i."""

    ids: list[str]
    vocab: dict[str, int]
    weights: sparse.csc_matrix

    @classmethod
    def build(cls, products: Sequence[Product]) -> LexicalIndex:
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        lengths = np.zeros(len(products), dtype=np.float32)
        for row, product in enumerate(products):
            tf: Counter[str] = Counter()
            for field, text in product_fields(product).items():
                if text:
                    for token in tokenize(text):
                        tf[token] += FIELD_WEIGHTS[field]
            lengths[row] = sum(tf.values())
            for token, weight in tf.items():
                rows.append(row)
                cols.append(vocab.setdefault(token, len(vocab)))
                vals.append(weight)
        n = len(products)
        tf_matrix = sparse.csc_matrix(
            (np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(n, max(len(vocab), 1))
        )
        avg = float(lengths.mean()) if n else 1.0
        df = np.diff(tf_matrix.indptr).astype(np.float32)
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        tf_coo = tf_matrix.tocoo()
        norm = K1 * (1 - B + B * lengths[tf_coo.row] / max(avg, 1e-6))
        scored = tf_coo.data * (K1 + 1) / (tf_coo.data + norm) * idf[tf_coo.col]
        weights = sparse.csc_matrix((scored.astype(np.float32), (tf_coo.row, tf_coo.col)), shape=tf_matrix.shape)
        return cls(ids=[p.id for p in products], vocab=vocab, weights=weights)

    def scores(self, groups: Sequence[Sequence[str]]) -> np.ndarray:
        """BM25F score of every product: per group of alternative terms the best one, summed over groups."""
        total = np.zeros(len(self.ids), dtype=np.float32)
        for group in groups:
            cols = sorted({self.vocab[t] for t in group if t in self.vocab})
            if len(cols) == 1:
                total += self.weights[:, cols[0]].toarray().ravel()
            elif cols:
                total += np.asarray(self.weights[:, cols].max(axis=1).toarray(), dtype=np.float32).ravel()
        return total

    def matched_terms(self, row: int, tokens: Sequence[str]) -> list[str]:
        """The query terms that occur in product `row` (for the result's `why`)."""
        out: list[str] = []
        for token in dict.fromkeys(tokens):
            col = self.vocab.get(token)
            if col is None:
                continue
            start, end = self.weights.indptr[col], self.weights.indptr[col + 1]
            if row in self.weights.indices[start:end]:
                out.append(token)
        return out
