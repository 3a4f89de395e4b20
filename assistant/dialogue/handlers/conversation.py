"""Hand-off to a human, store-policy questions, small talk and out-of-scope requests."""

from __future__ import annotations

import re

from assistant.dialogue.grounding import Facts
from assistant.dialogue.handlers.base import Draft, Turn
from assistant.dialogue.response import Action
from assistant.dialogue.retrieved import RetrievedText
from assistant.dialogue.templates import render
from assistant.store import StoreTools
from retrieval.zh_glossary import ZH_EN

_THANKS = re.compile(r"\b(thanks?|thank you|thx|cheers)\b|谢谢|多谢", re.I)
_POLICY_ZH = {
    "取消": "cancel cancelled", "退货": "return returned", "退款": "refund refunded", "换货": "exchange",
    "修改": "modify", "地址": "address", "支付": "payment", "礼品卡": "gift card", "身份": "authenticate identity",
    "多久": "days", "到账": "refunded days", "人工": "human agent",
}  # fmt: skip
_POLICY_STOP = {
    "the", "a", "an", "to", "of", "and", "or", "is", "are", "can", "i", "my", "you", "your", "what", "how", "do",
    "does", "be", "it", "for", "in", "on", "with",
}  # fmt: skip


def policy_passages(policy: str) -> list[str]:
    """The policy's bullet points and paragraphs, each prefixed with its section title for context."""
    passages: list[str] = []
    section = ""
    for block in re.split(r"\n\s*\n", policy):
        block = block.strip()
        if block.startswith("#"):
            section = block.lstrip("# ").split("\n")[0]
            continue
        text = re.sub(r"^\s*-\s*", "", block).replace("\n", " ").strip()
        if text:
            passages.append(f"{section}: {text}" if section else text)
    return passages


def _stem(word: str) -> str:
    """A crude stem (the first five letters) so "cancelling", "cancelled" and "cancel" meet."""
    return word[:5]


def best_passages(policy: str, question: str, n: int = 2) -> list[str]:
    terms = {w.rstrip("s") for w in re.findall(r"[a-z]+", question.lower()) if w not in _POLICY_STOP}
    for zh, en in {**_POLICY_ZH, **ZH_EN}.items():
        if zh in question:
            terms |= {w.rstrip("s") for w in en.split()}
    terms = {_stem(t) for t in terms}
    scored = []
    for passage in policy_passages(policy):
        section, _, body = passage.partition(": ") if ": " in passage else ("", "", passage)
        words = {_stem(w) for w in re.findall(r"[a-z]+", body.lower())}
        titled = {_stem(w) for w in re.findall(r"[a-z]+", section.lower())} - {"polic", "agent", "retai"}
        # A passage under a section named for the question ("Return delivered order") beats a passing mention.
        overlap = len(terms & words) + 3 * len(terms & titled)
        if overlap:
            scored.append((overlap, passage))
    scored.sort(key=lambda s: -s[0])
    return [p for _, p in scored[:n]]


class PolicyHandler:
    def __init__(self, store: StoreTools, retrieved: RetrievedText | None = None) -> None:
        self.store = store
        self.retrieved = retrieved or RetrievedText(None)

    def handle(self, turn: Turn) -> Draft:
        lang = turn.language
        policy = self.store.db.policy() or ""
        passages = [self.retrieved.text(p) for p in best_passages(policy, turn.text)]
        if not passages:
            return Draft(render("policy_unknown", lang))
        text = " ".join(passages)
        return Draft(
            reply=render("policy_answer", lang, text=text),
            facts=Facts(policy_text=text),
            prompt="policy_answer",
            prompt_vars={
                "language": "Chinese" if lang == "zh" else "English",
                "policy": text,
                "question": turn.redacted,
            },
        )


class HandoffHandler:
    def __init__(self, store: StoreTools) -> None:
        self.store = store

    def handle(self, turn: Turn) -> Draft:
        user = turn.state.verified_user_id
        ticket = self.store.transfer_to_human_agents(turn.redacted, acting_user=user)
        turn.state.pending_action = None
        turn.state.pending_intent = None
        draft = Draft(render("handoff", turn.language, ticket=ticket.ticket_id), handoff=True)
        draft.actions.append(
            Action(
                name="transfer_to_human_agents",
                arguments={"summary": turn.redacted},
                status="done",
                result={"ticket_id": ticket.ticket_id},
            )
        )
        return draft


class SmallTalkHandler:
    def handle(self, turn: Turn) -> Draft:
        lang = turn.language
        key = "thanks" if _THANKS.search(turn.text) else "small_talk"
        return Draft(
            render(key, lang),
            prompt="small_talk",
            prompt_vars={"language": "Chinese" if lang == "zh" else "English", "message": turn.redacted},
        )


class OutOfScopeHandler:
    """Out of scope stays a template: a small model asked about the weather or politics would answer it."""

    def handle(self, turn: Turn) -> Draft:
        return Draft(render("out_of_scope", turn.language))
