"""The Jigsaw toxic-comment classifier shipped by the `toxic-comment-classifier` package (PyPI), run with numpy.

The package ships Keras weights (`model/model.weights.h5`) and a pickled Keras `Tokenizer`, and rebuilds the model
with TensorFlow, which this project does not install. This module reads the same two files from the installed
package and computes the same forward pass: word ids (the Keras tokenizer's rules, 20,000 words, pre-padded and
pre-truncated to 100), a 50-d embedding, a bidirectional LSTM(50) over all 100 steps, a global max over time,
Dense(50, relu), Dense(6, sigmoid). Six scores per text: toxic, severe_toxic, obscene, threat, insult,
identity_hate (a test compares them with figures the package itself computed with TensorFlow).
"""

from __future__ import annotations

import importlib.util
import pickle
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PACKAGE = "toxic_classifier"  # the import name of the `toxic-comment-classifier` distribution
LABELS: tuple[str, ...] = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")
MAXLEN = 100


def package_model_dir() -> Path:
    """The installed package's `model/` folder, found without importing the package (its `__init__` imports
    TensorFlow)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the 'toxic-comment-classifier' package is not installed: "
            "pip install --no-deps toxic-comment-classifier==0.3.0 (scripts/install.sh does it)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class _KerasTokenizerState:
    """Receives the pickled Keras `Tokenizer`'s attributes; nothing of Keras is imported or run."""


# Besides the Keras class, all the tokenizer pickle holds: ordered and default dicts, and `int` (a defaultdict's
# factory).
_ALLOWED_GLOBALS: dict[tuple[str, str], type] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("collections", "defaultdict"): defaultdict,
    ("builtins", "int"): int,
}


class _TokenizerUnpickler(pickle.Unpickler):
    """Loads the tokenizer pickle with the Keras class mapped to a plain attribute holder; any global other than
    `_ALLOWED_GLOBALS` is refused, so the file cannot run code."""

    def find_class(self, module: str, name: str) -> type:
        if name == "Tokenizer" and module.startswith("keras"):
            return _KerasTokenizerState
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"tokenizer pickle refers to {module}.{name}") from None


class WordTokenizer:
    """The Keras `Tokenizer.texts_to_sequences` rules for a word-level tokenizer: lower-case, every filter character
    becomes the separator, split on it; a known word gives its id, a word at or past `num_words` is dropped, an
    unknown one gives the OOV id when there is one."""

    def __init__(self, word_index: dict[str, int], filters: str, lower: bool, split: str, oov_index: int | None):
        self.word_index = word_index
        self.lower = lower
        self.split = split
        self.oov_index = oov_index
        self._table = str.maketrans({c: split for c in filters})

    @classmethod
    def from_pickle(cls, path: Path) -> WordTokenizer:
        with path.open("rb") as fh:
            state = _TokenizerUnpickler(fh).load()
        if not isinstance(state, _KerasTokenizerState) or getattr(state, "char_level", False):
            raise ValueError(f"{path} does not hold a word-level Keras tokenizer")
        num_words = state.num_words
        oov_index = state.word_index.get(state.oov_token) if state.oov_token is not None else None
        # Ids at or past `num_words` count as unknown words, so only the first ones are kept.
        index = {w: i for w, i in state.word_index.items() if not num_words or i < num_words}
        return cls(index, state.filters, state.lower, state.split, oov_index)

    def ids(self, text: str) -> list[int]:
        if self.lower:
            text = text.lower()
        out: list[int] = []
        for word in text.translate(self._table).split(self.split):
            if not word:
                continue
            i = self.word_index.get(word)
            if i is not None:
                out.append(i)
            elif self.oov_index is not None:
                out.append(self.oov_index)
        return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class _LSTM:
    kernel: np.ndarray  # (input, 4 * units), gates in Keras order i, f, c, o
    recurrent: np.ndarray  # (units, 4 * units)
    bias: np.ndarray  # (4 * units,)

    def step(self, z_input: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = z_input + h @ self.recurrent
        u = h.shape[1]
        gates = _sigmoid(z[:, : 2 * u])
        i, f = gates[:, :u], gates[:, u:]
        o = _sigmoid(z[:, 3 * u :])
        c = f * c + i * np.tanh(z[:, 2 * u : 3 * u])
        return o * np.tanh(c), c


class ToxicCommentModel:
    def __init__(self, model_dir: Path | None = None) -> None:
        import h5py

        model_dir = model_dir or package_model_dir()
        self.tokenizer = WordTokenizer.from_pickle(model_dir / "tokenizer.pickle")
        with h5py.File(model_dir / "model.weights.h5", "r") as f:
            layers = f["layers"]

            def weights(path: str, n: int) -> list[np.ndarray]:
                return [np.asarray(layers[f"{path}/vars/{k}"], dtype=np.float32) for k in range(n)]

            self._embedding = weights("embedding", 1)[0]
            self._forward = _LSTM(*weights("bidirectional/forward_layer/cell", 3))
            self._backward = _LSTM(*weights("bidirectional/backward_layer/cell", 3))
            self._dense_w, self._dense_b = weights("dense", 2)
            self._out_w, self._out_b = weights("dense_1", 2)
        self._units = self._forward.recurrent.shape[0]
        self._pad_prefix = self._forward_padding_table()

    def _forward_padding_table(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """State and running max of the forward LSTM after k padding steps from zero, k = 0..MAXLEN: every text
        starts with the same padding, so its forward pass can start after it."""
        u = self._units
        h = np.zeros((1, u), dtype=np.float32)
        c = np.zeros((1, u), dtype=np.float32)
        running = np.full((1, u), -np.inf, dtype=np.float32)
        z_pad = self._embedding[0] @ self._forward.kernel + self._forward.bias
        table = [(h, c, running)]
        for _ in range(MAXLEN):
            h, c = self._forward.step(z_pad, h, c)
            running = np.maximum(running, h)
            table.append((h, c, running))
        return table

    def sequences(self, texts: list[str]) -> list[list[int]]:
        """Word ids, pre-truncated to the last MAXLEN (Keras `pad_sequences` defaults)."""
        return [self.tokenizer.ids(t)[-MAXLEN:] for t in texts]

    def predict(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 6) probabilities in `LABELS` order."""
        if not texts:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        seqs = self.sequences(texts)
        width = max(1, max(len(s) for s in seqs))
        ids = np.zeros((len(texts), width), dtype=np.int64)  # pre-padded to the longest text of the batch
        for row, seq in enumerate(seqs):
            if seq:
                ids[row, width - len(seq) :] = seq
        x = self._embedding[ids]  # (batch, width, dim)
        pooled = np.concatenate([self._run_forward(x), self._run_backward(x)], axis=1)
        hidden = np.maximum(pooled @ self._dense_w + self._dense_b, 0.0)
        return _sigmoid(hidden @ self._out_w + self._out_b)

    def _run_forward(self, x: np.ndarray) -> np.ndarray:
        lstm = self._forward
        h0, c0, max0 = self._pad_prefix[MAXLEN - x.shape[1]]
        batch = x.shape[0]
        h, c, running = (np.repeat(a, batch, axis=0) for a in (h0, c0, max0))
        z_inputs = x @ lstm.kernel + lstm.bias
        for t in range(x.shape[1]):
            h, c = lstm.step(z_inputs[:, t], h, c)
            running = np.maximum(running, h)
        return running

    def _run_backward(self, x: np.ndarray) -> np.ndarray:
        """Last word first, then the padding (its outputs count in the max too)."""
        lstm = self._backward
        batch, width = x.shape[0], x.shape[1]
        h = np.zeros((batch, self._units), dtype=np.float32)
        c = np.zeros_like(h)
        running = np.full_like(h, -np.inf)
        z_inputs = x @ lstm.kernel + lstm.bias
        for t in range(width - 1, -1, -1):
            h, c = lstm.step(z_inputs[:, t], h, c)
            running = np.maximum(running, h)
        z_pad = self._embedding[0] @ lstm.kernel + lstm.bias
        for _ in range(MAXLEN - width):
            h, c = lstm.step(z_pad, h, c)
            running = np.maximum(running, h)
        return running
