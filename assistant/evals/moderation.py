"""`eval moderation`: per-category precision, recall, F1 and AUPRC on each labelled set, false alarms on the
project's own benign set, text and image verdict latency, and a PNG of precision-recall curves.

Sets (from ../shared/data/moderation, read-only): OpenAI moderation dev, Davidson hate/offensive tweets, COLD
Chinese offensive dev, UCI SMS spam dev, bastion prompt injections; plus `moderation/data/benign_messages.jsonl`.
Nothing is trained here: the classifiers are used exactly as they ship.
"""

from __future__ import annotations

import csv
import json
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import average_precision_score, f1_score, precision_recall_curve, precision_score, recall_score
from tqdm import tqdm

from assistant.evals.report import Report, Table
from moderation.moderator import Moderator
from moderation.text_checks import TextScores

BENIGN_SET = Path(__file__).resolve().parents[2] / "moderation" / "data" / "benign_messages.jsonl"
HARM = ("harassment", "hate", "sexual", "violence", "self_harm")
# OpenAI moderation label -> our category.
OPENAI_LABELS = {"S": "sexual", "S3": "sexual", "H": "hate", "H2": "hate", "V": "violence", "V2": "violence",
                 "HR": "harassment", "SH": "self_harm"}  # fmt: skip
THRESHOLD = 0.5  # the bundled policy's flag threshold for every text category

TARGETS = {
    "openai_flagged_f1": 0.80,
    "cold_f1": 0.75,
    "sms_spam_f1": 0.90,
    "injection_recall": 0.90,
    "injection_benign_flagged_max": 0.05,
    "benign_false_alarm_max": 0.02,
    "text_p50_ms_max": 20.0,
    "text_p95_ms_max": 60.0,
    "image_p50_ms_max": 100.0,
}


def default_data_dir() -> Path:
    return Path(__file__).resolve().parents[3] / "shared" / "data"


@dataclass
class Scored:
    """One binary task: labels and the score that should rank positives first."""

    set_name: str
    category: str
    labels: np.ndarray
    scores: np.ndarray

    def metrics(self) -> dict[str, Any]:
        predicted = self.scores >= THRESHOLD
        has_both = 0 < self.labels.sum() < len(self.labels)
        return {
            "n": len(self.labels),
            "positives": int(self.labels.sum()),
            "precision": round(float(precision_score(self.labels, predicted, zero_division=0)), 4),
            "recall": round(float(recall_score(self.labels, predicted, zero_division=0)), 4),
            "f1": round(float(f1_score(self.labels, predicted, zero_division=0)), 4),
            "auprc": round(float(average_precision_score(self.labels, self.scores)), 4) if has_both else None,
            "flagged_rate": round(float(predicted.mean()), 4),
        }


# The second round of seeds was written while reading the errors on one random half of the OpenAI and COLD sets
# (the "inspected" half, drawn with these seeds); that round never read the other half, so comparing the two shows
# how much of its gain carries over to unseen text (the first round's seeds were written against whole sets). Only
# computed on the full sets (a --limit sample breaks the halves).
INSPECTED_HALF_SEEDS = {"openai": 0, "cold": 1}


def _halves(set_name: str, n: int) -> tuple[list[int], list[int]]:
    order = list(range(n))
    random.Random(INSPECTED_HALF_SEEDS[set_name]).shuffle(order)
    return sorted(order[: n // 2]), sorted(order[n // 2 :])


def _half_scores(set_name: str, category: str, labels: np.ndarray, scores: np.ndarray) -> list[Scored]:
    inspected, held_out = _halves(set_name, len(labels))
    return [
        Scored(set_name, f"{category}/inspected half", labels[inspected], scores[inspected]),
        Scored(set_name, f"{category}/held-out half", labels[held_out], scores[held_out]),
    ]


def _sample(rows: list[Any], limit: int | None, seed: int = 13) -> list[Any]:
    if limit is None or len(rows) <= limit:
        return rows
    return random.Random(seed).sample(rows, limit)


# Texts each set scored in this run, by set: the latency run samples from them.
_SCORED_TEXTS: dict[str, list[str]] = {}


def _score(moderator: Moderator, texts: list[str], desc: str) -> list[TextScores]:
    _SCORED_TEXTS[desc] = texts
    out: list[TextScores] = []
    for start in tqdm(range(0, len(texts), 64), desc=desc, unit="batch", leave=False):
        out += moderator.text_classifier.score_batch([t[:8000] for t in texts[start : start + 64]])
    return out


def _harm(scores: list[TextScores]) -> np.ndarray:
    return np.array([max(s.categories[c] for c in HARM) for s in scores])


def _column(scores: list[TextScores], category: str) -> np.ndarray:
    return np.array([s.categories[category] for s in scores])


def _openai(moderator: Moderator, path: Path, limit: int | None) -> list[Scored]:
    rows = _sample([json.loads(line) for line in path.open(encoding="utf-8") if line.strip()], limit)
    scores = _score(moderator, [r["prompt"] for r in rows], "openai")
    flagged = np.array([any(r.get(k) == 1 for k in OPENAI_LABELS) for r in rows])
    out = [Scored("openai", "flagged", flagged, _harm(scores))]
    if limit is None:
        out += _half_scores("openai", "flagged", flagged, _harm(scores))
    for category in HARM:
        keys = [k for k, c in OPENAI_LABELS.items() if c == category]
        labelled = [i for i, r in enumerate(rows) if any(k in r for k in keys)]
        labels = np.array([any(rows[i].get(k) == 1 for k in keys) for i in labelled])
        out.append(Scored("openai", category, labels, _column(scores, category)[labelled]))
    return out


def _davidson(moderator: Moderator, path: Path, limit: int | None) -> list[Scored]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = _sample(list(csv.DictReader(fh)), limit if limit is not None else 3000)
    scores = _score(moderator, [r["tweet"] for r in rows], "davidson")
    cls = np.array([int(r["class"]) for r in rows])
    abusive = np.maximum(_column(scores, "harassment"), _column(scores, "hate"))
    return [
        Scored("davidson", "hate_or_offensive", cls <= 1, abusive),
        Scored("davidson", "hate", cls == 0, _column(scores, "hate")),
    ]


def _cold(moderator: Moderator, path: Path, limit: int | None) -> list[Scored]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = _sample(list(csv.DictReader(fh)), limit)
    scores = _score(moderator, [r["TEXT"] for r in rows], "cold")
    labels = np.array([r["label"] == "1" for r in rows])
    out = [Scored("cold", "offensive", labels, _harm(scores))]
    if limit is None:
        out += _half_scores("cold", "offensive", labels, _harm(scores))
    for topic in sorted({r["topic"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["topic"] == topic]
        out.append(Scored("cold", f"offensive/{topic}", labels[idx], _harm(scores)[idx]))
    return out


def _sms(moderator: Moderator, path: Path, limit: int | None) -> list[Scored]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = _sample(list(csv.DictReader(fh, delimiter="\t")), limit)
    scores = _score(moderator, [r["text"] for r in rows], "sms")
    return [Scored("sms", "spam", np.array([r["label"] == "spam" for r in rows]), _column(scores, "spam"))]


def _bastion(moderator: Moderator, path: Path, limit: int | None) -> list[Scored]:
    rows = _sample([json.loads(line) for line in path.open(encoding="utf-8") if line.strip()], limit)
    scores = _column(_score(moderator, [r["text"] for r in rows], "bastion"), "prompt_injection")
    labels = np.array([r["label"] == "malicious" for r in rows])
    out = [Scored("bastion", "prompt_injection", labels, scores)]
    for channel in sorted({r["channel"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["channel"] == channel]
        out.append(Scored("bastion", f"prompt_injection/{channel}", labels[idx], scores[idx]))
    return out


def _benign(moderator: Moderator, path: Path) -> tuple[dict[str, Any], list[list[Any]]]:
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    verdicts = moderator.check_texts([r["text"] for r in rows], enqueue=False)
    alarms = [
        [r["text"], v.decision, ", ".join(f for f in v.flags if f != "pii")]
        for r, v in zip(rows, verdicts, strict=True)
        if v.decision != "allow"
    ]
    by_lang: dict[str, list[bool]] = {}
    for r, v in zip(rows, verdicts, strict=True):
        by_lang.setdefault(r.get("lang", "?"), []).append(v.decision != "allow")
    return {
        "n": len(rows),
        "false_alarms": len(alarms),
        "false_alarm_rate": round(len(alarms) / len(rows), 4),
        "by_language": {k: round(sum(v) / len(v), 4) for k, v in sorted(by_lang.items())},
    }, alarms


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 2),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
    }


def _latency(moderator: Moderator, texts: list[str], images: list[Path]) -> dict[str, Any]:
    """The full verdict path, one input at a time, as a chat turn would call it."""
    moderator.check_text("warm up", enqueue=False)
    text_ms = []
    for text in texts:
        start = time.perf_counter()
        moderator.check_text(text, enqueue=False)
        text_ms.append((time.perf_counter() - start) * 1000)
    image_ms = []
    for _ in range(4):
        for path in images:
            data = path.read_bytes()
            start = time.perf_counter()
            moderator.check_image(data, filename=path.name, enqueue=False)
            image_ms.append((time.perf_counter() - start) * 1000)
    return {"text_ms": _percentiles(text_ms), "image_ms": _percentiles(image_ms) if image_ms else None}


def _plot_pr(scored: list[Scored], out_dir: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 6))
    curves = [s for s in scored if "/" not in s.category and 0 < s.labels.sum() < len(s.labels)]
    ax.set_prop_cycle(color=[plt.get_cmap("tab20")(i % 20) for i in range(len(curves))])
    for s in curves:
        precision, recall, _ = precision_recall_curve(s.labels, s.scores)
        ap = average_precision_score(s.labels, s.scores)
        ax.plot(recall, precision, label=f"{s.set_name}: {s.category} (AP {ap:.2f})", linewidth=1.2)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title("Moderation: precision-recall per set and category")
    path = out_dir / "precision_recall.png"
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _targets(sets: dict[str, dict[str, Any]], benign: dict[str, Any] | None, latency: dict[str, Any]) -> dict:
    checks: dict[str, tuple[float | None, bool]] = {}

    def put(name: str, value: float | None, passes: Callable[[float], bool]) -> None:
        checks[name] = (value, value is not None and passes(value))

    put("openai_flagged_f1", sets.get("openai", {}).get("flagged", {}).get("f1"), lambda v: v >= 0.80)
    put("cold_f1", sets.get("cold", {}).get("offensive", {}).get("f1"), lambda v: v >= 0.75)
    put("sms_spam_f1", sets.get("sms", {}).get("spam", {}).get("f1"), lambda v: v >= 0.90)
    injection = sets.get("bastion", {}).get("prompt_injection", {})
    put("injection_recall", injection.get("recall"), lambda v: v >= 0.90)
    put("injection_benign_flagged", sets.get("bastion", {}).get("benign_flagged_rate"), lambda v: v <= 0.05)
    put("benign_false_alarm_rate", benign and benign["false_alarm_rate"], lambda v: v <= 0.02)
    put("text_p50_ms", latency["text_ms"]["p50"], lambda v: v <= 20)
    put("text_p95_ms", latency["text_ms"]["p95"], lambda v: v <= 60)
    put("image_p50_ms", latency["image_ms"] and latency["image_ms"]["p50"], lambda v: v <= 100)
    return {name: {"value": value, "target_met": ok} for name, (value, ok) in checks.items()}


def run_moderation_eval(data_dir: Path, out: Path, *, limit: int | None = None) -> dict[str, Any]:
    _SCORED_TEXTS.clear()
    moderation_dir = data_dir / "moderation"
    if not moderation_dir.is_dir():
        raise FileNotFoundError(f"no moderation sets under {data_dir}")
    moderator = Moderator()  # no queue: evaluation must not fill the review queue
    loaders: list[tuple[str, Callable[[Moderator, Path, int | None], list[Scored]]]] = [
        ("openai-moderation-dev.jsonl", _openai),
        ("davidson-hate-offensive.csv", _davidson),
        ("cold-chinese-offensive-dev.csv", _cold),
        ("sms-spam-dev.tsv", _sms),
        ("prompt-injection-bastion.jsonl", _bastion),
    ]
    scored: list[Scored] = []
    for filename, loader in loaders:
        path = moderation_dir / filename
        if path.is_file():
            scored += loader(moderator, path, limit)
    sets: dict[str, dict[str, Any]] = {}
    for s in scored:
        sets.setdefault(s.set_name, {})[s.category] = s.metrics()
    if "bastion" in sets:
        main = next(s for s in scored if s.set_name == "bastion" and s.category == "prompt_injection")
        benign_flagged = (main.scores[~main.labels] >= THRESHOLD).mean() if (~main.labels).any() else 0.0
        sets["bastion"]["benign_flagged_rate"] = round(float(benign_flagged), 4)
    benign, alarms = _benign(moderator, BENIGN_SET) if BENIGN_SET.is_file() else (None, [])

    latency_texts = _sample([text for texts in _SCORED_TEXTS.values() for text in texts], 300)
    images = sorted((data_dir / "images").glob("*")) if (data_dir / "images").is_dir() else []
    latency = _latency(moderator, latency_texts, images)

    out.mkdir(parents=True, exist_ok=True)
    figure = _plot_pr(scored, out)
    summary = {
        "sets": sets,
        "benign": benign,
        "latency": latency,
        "targets": _targets(sets, benign, latency),
        "limit": limit,
        "note": "latency measured on a shared 2-core machine; other jobs may inflate it",
    }
    columns = ("n", "positives", "precision", "recall", "f1", "auprc")
    table_rows = [[x.set_name, x.category, *(x.metrics()[c] for c in columns)] for x in scored]
    report = Report(
        "Moderation evaluation",
        summary,
        tables=[
            Table(
                "Per set and category",
                ["set", "category", "n", "positives", "precision", "recall", "F1", "AUPRC"],
                table_rows,
            ),
            Table("False alarms on the benign set", ["text", "decision", "flags"], alarms),
        ],
        figures=[figure],
    )
    summary["report"] = str(report.write(out))
    summary["figures"] = [str(figure)]
    return summary
