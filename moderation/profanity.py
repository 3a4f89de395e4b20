"""The English abuse classifier shipped by `alt-profanity-check` (TF-IDF + linear SVMs with sigmoid calibration),
evaluated with numpy: the package's own `predict_prob` spends ~40 ms a call in scikit-learn input validation,
the arithmetic takes well under one. Same model, same numbers (a test compares them).
"""

from __future__ import annotations

import numpy as np


class ProfanityModel:
    def __init__(self) -> None:
        from profanity_check import profanity_check

        calibrated = profanity_check.model.calibrated_classifiers_
        self._vectorizer = profanity_check.vectorizer
        # One linear model and one sigmoid per cross-validation fold; the package averages their probabilities.
        self._coef = np.vstack([c.estimator.coef_[0] for c in calibrated])  # (folds, vocabulary)
        self._intercept = np.array([c.estimator.intercept_[0] for c in calibrated])
        self._a = np.array([c.calibrators[0].a_ for c in calibrated])
        self._b = np.array([c.calibrators[0].b_ for c in calibrated])

    def predict_prob(self, texts: list[str]) -> np.ndarray:
        features = self._vectorizer.transform(texts)
        decision = np.asarray(features @ self._coef.T) + self._intercept  # (texts, folds)
        positive = 1.0 / (1.0 + np.exp(self._a * decision + self._b))
        return positive.mean(axis=1)
