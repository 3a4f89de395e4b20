"""All text detectors behind one call: category -> score in [0, 1].

- harassment / hate / sexual / violence / self_harm: the semantic heads (English and Chinese), the shipped
  English abuse classifier (`alt-profanity-check`) and the Chinese abuse lexicons;
- spam: spam signals and the semantic head;
- prompt_injection: the pattern families (on de-obfuscated forms too).
PII is scored by the moderator from the masking step.
"""

from __future__ import annotations

from dataclasses import dataclass

from moderation.chinese_abuse import chinese_abuse
from moderation.injection import detect_injection
from moderation.profanity import ProfanityModel
from moderation.semantic import Embedder, SemanticClassifier
from moderation.spam import spam_score
from moderation.toxic_comments import ToxicCommentModel

EMBED_CHARS = 1000


@dataclass(frozen=True)
class TextScores:
    categories: dict[str, float]


class TextClassifier:
    def __init__(self, embedder: Embedder | None = None) -> None:
        self.semantic = SemanticClassifier(embedder or Embedder(), ToxicCommentModel())
        self.profanity = ProfanityModel()

    def score(self, text: str) -> TextScores:
        return self.score_batch([text])[0]

    def score_batch(self, texts: list[str]) -> list[TextScores]:
        if not texts:
            return []
        # The embedding reads the head of a long text: its cost grows with length, and the verdict must stay fast.
        semantic = self.semantic.score([t[:EMBED_CHARS] for t in texts])
        profanity = self.profanity.predict_prob(texts)
        return [self._combine(t, s, float(p)) for t, s, p in zip(texts, semantic, profanity, strict=True)]

    @staticmethod
    def _combine(text: str, sem: dict[str, float], profanity: float) -> TextScores:
        zh = chinese_abuse(text)
        injection = detect_injection(text)
        # Profanity alone is not harassment (angry customers swear at products); it counts when the semantic
        # head also leans that way.
        abuse = profanity * min(1.0, 0.25 + 2 * (sem["harassment"] + sem["hate"]))
        categories = {
            "harassment": max(sem["harassment"], zh.harassment, abuse),
            "hate": max(sem["hate"], zh.hate),
            "sexual": sem["sexual"],
            "violence": sem["violence"],
            "self_harm": sem["self_harm"],
            "spam": max(spam_score(text), sem["spam"] * 0.9),
            "prompt_injection": max(injection.score, sem["prompt_injection"] * 0.6),
        }
        if zh.evidence:
            # Chinese contempt is often implicit: the lexicon's weak evidence and the semantic model's total harm
            # probability confirm each other (noisy-OR) on the category the text aims at.
            harm = min(1.0, sum(sem[c] for c in ("harassment", "hate", "violence")))
            combined = 1.0 - (1.0 - harm) * (1.0 - zh.evidence)
            target = "hate" if zh.targets_group else "harassment"
            categories[target] = max(categories[target], combined)
        return TextScores({k: round(float(v), 4) for k, v in categories.items()})
