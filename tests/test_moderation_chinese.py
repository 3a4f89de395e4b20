"""Chinese abuse with the real lexicons, the real sentence embedder and the real Chinese offence head: implicit
attacks on groups are caught, talk about groups and angry complaints are not, and the head learns only from
examples this project wrote."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score

from moderation.chinese_abuse import ChineseAbuse, chinese_abuse
from moderation.chinese_offence import CHINESE_SEEDS_PATH, OFFENSIVE_LABELS, chinese_seeds
from moderation.moderator import Moderator
from moderation.semantic import SEMANTIC_CATEGORIES

BENIGN_SET = Path(__file__).resolve().parents[1] / "moderation" / "data" / "benign_messages.jsonl"

# Stereotypes and contempt without a single slur or insult from the lexicons.
IMPLICIT_ATTACKS = [
    "湖南人就是爱耍小聪明，跟他们共事要多留个心眼。",
    "女人开公司能开成什么样，还不是靠男人。",
    "黑人到了哪里，哪里的犯罪率就上去。",
    "那个地方出来的人，我一个都不敢信。",
]
TALK_ABOUT_GROUPS = [
    "我同事是湖南人，做事特别细心。",
    "男生女生都可以报名参加编程比赛。",
    "我们应该尊重不同民族的风俗习惯。",
]
ANGRY_COMPLAINTS = [
    "快递三天都没到，你们到底怎么回事，气死我了！",
    "这个吸尘器太垃圾了，用一周就坏了，我要退货。",
    "客服半天不回消息，你们是不是都下班了？",
]


def _judged(text: str, moderator: Moderator) -> ChineseAbuse:
    """The lexicons with the real offence head's probability, as the text classifier combines them."""
    head = moderator.text_classifier.chinese_offence
    return chinese_abuse(text, head.probability([text])[0])


@pytest.mark.parametrize("text", IMPLICIT_ATTACKS)
def test_implicit_attacks_on_a_group_are_hate(text: str, text_moderator: Moderator) -> None:
    zh = _judged(text, text_moderator)
    assert zh.targets_group
    assert zh.hate >= 0.5, zh
    verdict = text_moderator.check_text(text)
    assert "hate" in verdict.flags, verdict.categories
    assert verdict.decision in ("review", "block")


@pytest.mark.parametrize("text", TALK_ABOUT_GROUPS + ANGRY_COMPLAINTS)
def test_talk_about_groups_and_angry_complaints_are_not_offence(text: str, text_moderator: Moderator) -> None:
    zh = _judged(text, text_moderator)
    assert zh.offence is not None and zh.offence < 0.5, zh
    assert zh.hate < 0.5 and zh.harassment < 0.5, zh
    verdict = text_moderator.check_text(text)
    assert not {"hate", "harassment"} & set(verdict.flags), verdict.categories


def test_explicit_lexicon_hits_stay_high() -> None:
    assert chinese_abuse("你这个脑残废物，滚远点。").harassment >= 0.85
    assert chinese_abuse("黑人都是没进化好的猴子，素质太低了。").hate >= 0.85


def test_text_without_chinese_is_left_to_the_english_checks() -> None:
    assert chinese_abuse("You are a pathetic moron.") == ChineseAbuse()
    assert chinese_abuse("").offence is None


def test_offence_seeds_are_chinese_labelled_and_not_evaluation_text() -> None:
    rows = [json.loads(line) for line in CHINESE_SEEDS_PATH.read_text(encoding="utf-8").splitlines() if line]
    texts = [r["text"] for r in rows]
    assert len(rows) >= 200
    assert len(set(texts)) == len(texts)
    assert {r["label"] for r in rows} <= {"benign", *SEMANTIC_CATEGORIES}
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in texts)
    # Both sides are there, and plenty of texts that name a group without attacking it.
    labels = [label for label, _ in chinese_seeds()]
    assert sum(label in OFFENSIVE_LABELS for label in labels) >= 150
    assert sum(label == "benign" for label in labels) >= 250
    benign_eval = {json.loads(line)["text"] for line in BENIGN_SET.read_text(encoding="utf-8").splitlines() if line}
    assert not benign_eval & set(texts)


def _cold_halves(rows: list[dict[str, str]]) -> tuple[list[int], list[int]]:
    """The eval's halves of COLD dev (`assistant/evals/moderation.py`): the errors of the first were read."""
    order = list(range(len(rows)))
    random.Random(1).shuffle(order)
    return sorted(order[: len(rows) // 2]), sorted(order[len(rows) // 2 :])


@pytest.mark.slow
def test_cold_held_out_half(shared_data: Path, text_moderator: Moderator) -> None:
    """The lexicons and the offence head together, on the half of COLD dev whose errors were never read."""
    path = shared_data / "moderation" / "cold-chinese-offensive-dev.csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    text = {r["TEXT"] for r in rows}
    assert not text & {t for _, t in chinese_seeds()}
    _, held_out = _cold_halves(rows)
    labels = np.array([rows[i]["label"] == "1" for i in held_out])
    scores = np.array([_judged(rows[i]["TEXT"], text_moderator).offence or 0.0 for i in held_out])
    assert f1_score(labels, scores >= 0.5) >= 0.75
    assert average_precision_score(labels, scores) >= 0.8
