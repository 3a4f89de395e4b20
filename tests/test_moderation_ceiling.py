"""The ceiling diagnostic's cross-validated F1: perfect on features that separate the labels, near the
all-positive F1 on features that carry nothing (so a ceiling under the target means the signals, not the fit)."""

from __future__ import annotations

import numpy as np

from assistant.evals.moderation_ceiling import cross_validated_f1


def test_separable_features_reach_f1_one() -> None:
    rng = np.random.default_rng(0)
    labels = rng.random(300) < 0.3
    features = np.column_stack([labels * 4.0 + rng.normal(0, 0.3, 300), rng.normal(0, 1, 300)])
    fit = cross_validated_f1(features, labels, 1.0)
    assert fit["best_f1"] == 1.0 and fit["f1_at_0.5"] == 1.0


def test_uninformative_features_stay_near_the_all_positive_f1() -> None:
    rng = np.random.default_rng(1)
    labels = rng.random(600) < 0.3
    fit = cross_validated_f1(rng.normal(0, 1, (600, 8)), labels, 1.0)
    all_positive = 2 * labels.mean() / (1 + labels.mean())
    assert fit["best_f1"] < all_positive + 0.08


def test_a_separating_feature_on_a_tiny_scale_is_still_found() -> None:
    # Embeddings of different models come on different scales; the fit standardises them, so a strong
    # regularisation does not drown a small-valued feature in noise (unscaled, this fit gets F1 0.52).
    rng = np.random.default_rng(2)
    labels = rng.random(300) < 0.3
    signal = (labels * 4.0 + rng.normal(0, 0.3, 300)) * 1e-3
    features = np.column_stack([signal, rng.normal(0, 1, (300, 3))])
    assert cross_validated_f1(features, labels, 0.001)["best_f1"] == 1.0
