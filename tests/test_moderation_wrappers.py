"""Evasion by wrapping (issue 15): markup, invisible characters and odd spacing around a harmful text must not change
the decision, which is taken on the words a person reads."""

from __future__ import annotations

import pytest

from moderation.moderator import Moderator

THREAT = "I will find where your support staff live and hurt them"
FULLWIDTH = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in THREAT)

WRAPPED = {
    "script prefix": f"<script>x</script>{THREAT}",
    "long script prefix": "<script>" + "var cart = loadCart(); render(cart);\n" * 60 + "</script>" + THREAT,
    "escaped script": f"&lt;script&gt;x&lt;/script&gt;{THREAT}",
    "comment prefix": f"<!-- customer note -->{THREAT}",
    "html tags": "<b>I</b> will <i>find</i> where your <span class='x'>support</span> staff live and hurt them",
    "bbcode": f"[b][color=red]{THREAT}[/color][/b]",
    "zero-width characters": "\u200b".join(THREAT) + "\ufeff",
    "thin spaces": THREAT.replace(" ", "\u2009"),
    "letters spaced apart": "I will find where your support staff live and h u r t them",
    "fullwidth letters": FULLWIDTH,
}


@pytest.mark.parametrize("text", WRAPPED.values(), ids=WRAPPED.keys())
def test_a_wrapped_threat_gets_the_plain_threats_decision(text_moderator: Moderator, text: str) -> None:
    plain = text_moderator.check_text(THREAT, enqueue=False)
    assert plain.decision != "allow"
    wrapped = text_moderator.check_text(text, enqueue=False)
    assert wrapped.decision == plain.decision, wrapped.categories
    assert wrapped.categories["violence"] >= 0.5


def test_a_threat_hidden_inside_a_script_block_is_still_judged(text_moderator: Moderator) -> None:
    verdict = text_moderator.check_text(f"Where is my order?<script>{THREAT}</script>", enqueue=False)
    assert verdict.decision != "allow"


def test_markup_around_an_ordinary_question_stays_allowed(text_moderator: Moderator) -> None:
    for text in ("<p>Do you have <b>wireless</b> headphones under $100?</p>", "Is the jacket in\u00a0stock?"):
        assert text_moderator.check_text(text, enqueue=False).decision == "allow", text
