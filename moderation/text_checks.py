"""All text detectors behind one call: category -> score in [0, 1].

- harassment / hate / sexual / violence / self_harm: the semantic heads (English and Chinese), the shipped
  English abuse classifier (`alt-profanity-check`) and the Chinese abuse lexicons;
- spam: spam signals and the semantic head;
- prompt_injection: the pattern families (on de-obfuscated forms too).
PII is scored by the moderator from the masking step. Every detector reads the unwrapped text (`moderation.unwrap`):
markup and invisible characters do not change a decision.
"""

from __future__ import annotations

from dataclasses import dataclass

from moderation.chinese_abuse import chinese_abuse, has_chinese
from moderation.chinese_offence import ChineseOffenceModel
from moderation.injection import detect_injection
from moderation.profanity import ProfanityModel
from moderation.semantic import Embedder, SemanticClassifier
from moderation.spam import spam_score
from moderation.toxic_comments import ToxicCommentModel
from moderation.unwrap import unwrap

EMBED_CHARS = 1000


@dataclass(frozen=True)
class TextScores:
    categories: dict[str, float]


class TextClassifier:
    def __init__(self, embedder: Embedder | None = None) -> None:
        embedder = embedder or Embedder()
        self.semantic = SemanticClassifier(embedder, ToxicCommentModel())
        self.chinese_offence = ChineseOffenceModel(embedder)
        self.profanity = ProfanityModel()

    def score(self, text: str) -> TextScores:
        return self.score_batch([text])[0]

    def score_batch(self, texts: list[str]) -> list[TextScores]:
        """Scores the readable words of each text, and any script, style or comment it hides separately: a text
        scores the highest of its parts in each category."""
        if not texts:
            return []
        unwrapped = [unwrap(t) for t in texts]
        parts = [[u.text, *u.hidden] for u in unwrapped]
        scores = iter(self._score_plain([p for ps in parts for p in ps]))
        merged = []
        for text, ps in zip(texts, parts, strict=True):
            categories = _highest([next(scores).categories for _ in ps])
            # Injections can live in the markup itself (an attribute, an entity): the raw text is checked too.
            categories["prompt_injection"] = max(categories["prompt_injection"], detect_injection(text).score)
            merged.append(TextScores(categories))
        return merged

    def _score_plain(self, texts: list[str]) -> list[TextScores]:
        # The embedding reads the head of a long text: its cost grows with length, and the verdict must stay fast.
        heads = [t[:EMBED_CHARS] for t in texts]
        semantic = self.semantic.score(heads)
        chinese = [i for i, t in enumerate(texts) if has_chinese(t)]
        offence = [0.0] * len(texts)
        if chinese:
            for i, p in zip(chinese, self.chinese_offence.probability([heads[i] for i in chinese]), strict=True):
                offence[i] = p
        profanity = self.profanity.predict_prob(texts)
        return [
            self._combine(*row) for row in zip(texts, semantic, (float(p) for p in profanity), offence, strict=True)
        ]

    @staticmethod
    def _combine(text: str, sem: dict[str, float], profanity: float, offence_probability: float) -> TextScores:
        zh = chinese_abuse(text, offence_probability)
        injection = detect_injection(text)
        # Profanity alone is not harassment (angry customers swear at products); it counts when the semantic
        # head also leans that way.
        abuse = profanity * min(1.0, 0.25 + 2 * (sem["harassment"] + sem["hate"]))
        categories = {
            "harassment": max(sem["harassment"], abuse),
            "hate": sem["hate"],
            "sexual": sem["sexual"],
            "violence": sem["violence"],
            "self_harm": sem["self_harm"],
            "spam": max(spam_score(text), sem["spam"] * 0.9),
            "prompt_injection": max(injection.score, sem["prompt_injection"] * 0.6),
        }
        if zh.offence is not None:
            # Chinese text: the Chinese offence head (trained on Chinese alone) with the lexicons judges harassment
            # and hate; the shared head reads a mere mention of a group as leaning to hate (measured: COLD dev F1
            # 0.756 -> 0.781, benign false alarms 6 -> 5 of 310).
            categories["harassment"] = max(zh.harassment, abuse)
            categories["hate"] = zh.hate
            target = "hate" if zh.targets_group else "harassment"
            categories[target] = max(categories[target], zh.offence)
        return TextScores({k: round(float(v), 4) for k, v in categories.items()})


def _highest(parts: list[dict[str, float]]) -> dict[str, float]:
    return {category: max(p[category] for p in parts) for category in parts[0]}
