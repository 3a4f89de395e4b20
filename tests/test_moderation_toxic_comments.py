"""The numpy port of the `toxic-comment-classifier` package: same numbers as the package, Keras tokenizer rules, and a
tokenizer pickle that cannot run code."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from moderation.toxic_comments import LABELS, MAXLEN, ToxicCommentModel, WordTokenizer, package_model_dir

# Computed once by the package itself (`ToxicCommentClassifier().classify`, TensorFlow 2.21 CPU, in a throwaway
# virtualenv); labels in `LABELS` order. The first three lines check tokenizer details: punctuation and tabs as
# separators, a long text pre-truncated to its last 100 words, and upper case.
PACKAGE_FIGURES = [
    ("Tab\tseparated,words;and:punctuation—dashes don't matter? e-mail me@x.com",
     [0.003811, 0.000018, 0.001127, 0.000024, 0.000916, 0.000084]),
    (" ".join([f"word{i}" for i in range(50)] + ["you", "are", "a", "moron"] * 30),
     [0.98475, 0.431881, 0.779314, 0.089733, 0.867916, 0.079354]),
    ("What a LOVELY dress!!!", [0.065573, 0.000873, 0.013358, 0.000501, 0.022269, 0.012151]),
    ("I will kill you and your whole family", [0.807295, 0.109759, 0.241887, 0.234674, 0.461825, 0.159918]),
    ("you are a stupid idiot", [0.997236, 0.191415, 0.906473, 0.014693, 0.943426, 0.069475]),
    ("Where is my order? It has been two weeks.", [0.008672, 0.00003, 0.002012, 0.000037, 0.00157, 0.000174]),
    ("all immigrants are vermin and should be deported", [0.161026, 0.002975, 0.013063, 0.005183, 0.029494, 0.067666]),
    ("fuck this shitty product", [0.992886, 0.181989, 0.978786, 0.004167, 0.795441, 0.023031]),
]  # fmt: skip


@pytest.fixture(scope="module")
def model() -> ToxicCommentModel:
    return ToxicCommentModel()


def test_scores_match_the_package(model: ToxicCommentModel) -> None:
    texts = [text for text, _ in PACKAGE_FIGURES]
    expected = np.array([figures for _, figures in PACKAGE_FIGURES])
    batch = model.predict(texts)
    assert batch.shape == (len(texts), len(LABELS))
    np.testing.assert_allclose(batch, expected, atol=2e-6)
    # One at a time (each padded to its own length inside the model) gives the same numbers as the batch.
    singles = np.vstack([model.predict([t]) for t in texts])
    np.testing.assert_allclose(singles, batch, atol=1e-6)


def test_threat_and_insult_separate_from_complaints(model: ToxicCommentModel) -> None:
    scores = dict(zip(["threat", "insult", "complaint"], model.predict([
        "I know where you live and I am going to kill you.",
        "You are a worthless pathetic idiot.",
        "The blender arrived broken and nobody answers my emails.",
    ]), strict=True))  # fmt: skip
    threat, insult = LABELS.index("threat"), LABELS.index("insult")
    assert scores["threat"][threat] > 10 * scores["complaint"][threat]
    assert scores["insult"][insult] > 0.5 > scores["complaint"][insult]


def test_keras_tokenizer_rules(model: ToxicCommentModel) -> None:
    tokenizer = model.tokenizer
    assert tokenizer.ids("You, ARE\ta (moron)!") == tokenizer.ids("you are a moron")
    assert tokenizer.ids("我要退货") == []  # no English words: all padding
    words = [f"w{i}" for i in range(300)] + ["you", "are", "a", "moron"]
    assert model.sequences([" ".join(words)])[0] == tokenizer.ids(" ".join(words[-MAXLEN:]))  # keeps the end
    assert all(i < 20000 for i in tokenizer.word_index.values())


class _Exploit:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.target,))


def test_tokenizer_pickle_cannot_run_code(tmp_path: Path) -> None:
    bad = tmp_path / "tokenizer.pickle"
    bad.write_bytes(pickle.dumps(_Exploit(tmp_path / "ran")))
    with pytest.raises(pickle.UnpicklingError):
        WordTokenizer.from_pickle(bad)
    assert not (tmp_path / "ran").exists()


def test_weights_come_from_the_installed_package() -> None:
    folder = package_model_dir()
    assert "site-packages" in folder.parts or "dist-packages" in folder.parts
    assert {p.name for p in folder.iterdir()} >= {"model.weights.h5", "tokenizer.pickle"}
