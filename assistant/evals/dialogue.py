"""`commerce-assistant eval dialogue`: scripted conversations scored on the response objects and the final store
state, a fact audit of every reply (prices and order statuses against the data), the intent router on the Bitext
support-intents set, and a tau-bench-style run where a simulated customer plays `tasks_dev.json`.

Every run works on a fresh data dir inside `settings.data_dir` (`eval-dialogue/`), loaded from the retail-store
folder, so the store state a conversation ends in is its own doing.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from tqdm import tqdm

from assistant.config import Settings
from assistant.dialogue.response import ChatResponse
from assistant.evals.report import Report, Table

CONVERSATIONS_DIR = Path(__file__).resolve().parent / "conversations"
_SHARED = Path(
    os.environ.get("COMMERCE_ASSISTANT_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)
DEFAULT_STORE = _SHARED / "retail-store"


class ExpectedAction(BaseModel):
    name: str
    status: str
    arguments: dict[str, Any] = Field(default_factory=dict)  # a subset the action's arguments must contain


class TurnExpectation(BaseModel):
    """Checks on one response. `reply_*` checks read generated text; all others are non-generative facts."""

    intent: str | list[str] | None = None
    actions: list[ExpectedAction] = Field(default_factory=list)
    no_actions: bool = False
    no_done_actions: bool = False
    handoff: bool | None = None
    products_min: int | None = None
    products_max: int | None = None
    product_titles: list[str] = Field(default_factory=list)  # each must be a substring of some card title
    max_price: float | None = None
    in_stock_only: bool = False
    language: str | None = None
    reply_contains: list[str] = Field(default_factory=list)
    reply_contains_any: list[str] = Field(default_factory=list)
    reply_not_contains: list[str] = Field(default_factory=list)


class ScriptedTurn(BaseModel):
    user: str
    expect: TurnExpectation = Field(default_factory=TurnExpectation)


class OrderExpectation(BaseModel):
    status: str | None = None
    unchanged: bool = False
    fields: dict[str, Any] = Field(default_factory=dict)


class Conversation(BaseModel):
    id: str
    category: str
    language: str = "en"
    user_id: str | None = None  # the caller's user id (a logged-in shopper), if any
    turns: list[ScriptedTurn]
    orders: dict[str, OrderExpectation] = Field(default_factory=dict)  # final store state
    users: dict[str, dict[str, Any]] = Field(default_factory=dict)  # user id -> fields (e.g. address.zip)


class ConversationResult(BaseModel):
    id: str
    category: str
    language: str
    passed: bool
    passed_facts: bool
    failures: list[str]
    text_failures: list[str]
    fact_errors: list[str]
    turns: int
    latency_ms: list[float]
    non_llm_ms: list[float]
    first_token_ms: list[float]


def load_conversations(folder: Path) -> list[Conversation]:
    """Every conversation in the folder's `*.json` files (each a list of conversations)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"conversation folder not found: {folder}")
    found: list[Conversation] = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for i, item in enumerate(data if isinstance(data, list) else [data]):
            try:
                found.append(Conversation.model_validate(item))
            except ValueError as exc:
                raise ValueError(f"{path.name} conversation {i + 1}: {exc}") from exc
    ids = Counter(c.id for c in found)
    duplicates = [i for i, n in ids.items() if n > 1]
    if duplicates:
        raise ValueError(f"duplicate conversation ids: {', '.join(duplicates)}")
    return found


# --- checks ------------------------------------------------------------------------------------------------------
def check_turn(response: ChatResponse, expect: TurnExpectation) -> tuple[list[str], list[str]]:
    """(fact failures, text failures) of one response."""
    facts: list[str] = []
    text: list[str] = []
    if expect.intent is not None:
        wanted = [expect.intent] if isinstance(expect.intent, str) else expect.intent
        if response.intent not in wanted:
            facts.append(f"intent {response.intent!r}, expected {wanted}")
    for action in expect.actions:
        if not any(
            a.name == action.name
            and a.status == action.status
            and all(a.arguments.get(k) == v for k, v in action.arguments.items())
            for a in response.actions
        ):
            got = [(a.name, a.status, a.arguments) for a in response.actions]
            facts.append(f"missing action {action.name}/{action.status} {action.arguments or ''}; got {got}")
    if expect.no_actions and response.actions:
        facts.append(f"unexpected actions {[(a.name, a.status) for a in response.actions]}")
    if expect.no_done_actions and any(a.status == "done" for a in response.actions):
        facts.append("an action was done without confirmation")
    if expect.handoff is not None and response.handoff != expect.handoff:
        facts.append(f"handoff {response.handoff}, expected {expect.handoff}")
    if expect.products_min is not None and len(response.products) < expect.products_min:
        facts.append(f"{len(response.products)} products, expected at least {expect.products_min}")
    if expect.products_max is not None and len(response.products) > expect.products_max:
        facts.append(f"{len(response.products)} products, expected at most {expect.products_max}")
    titles = [p.title.lower() for p in response.products]
    for title in expect.product_titles:
        if not any(title.lower() in t for t in titles):
            facts.append(f"no product titled like {title!r} among {titles}")
    if expect.max_price is not None and any((p.price or 0) > expect.max_price for p in response.products):
        facts.append(f"a product above {expect.max_price}")
    if expect.in_stock_only and not all(p.in_stock for p in response.products):
        facts.append("an out-of-stock product in an in-stock-only list")
    if expect.language is not None and response.language != expect.language:
        facts.append(f"language {response.language}, expected {expect.language}")
    reply = response.reply.lower()
    for piece in expect.reply_contains:
        if piece.lower() not in reply:
            text.append(f"reply lacks {piece!r}")
    if expect.reply_contains_any and not any(p.lower() in reply for p in expect.reply_contains_any):
        text.append(f"reply has none of {expect.reply_contains_any}")
    for piece in expect.reply_not_contains:
        if piece.lower() in reply:
            # Leaking a fact is never a wording matter: it counts against the facts.
            facts.append(f"reply contains forbidden {piece!r}")
    return facts, text


class FactAuditor:
    """Every amount of money in a reply must be a price, total or payment in the data (or a sum or difference of
    two such amounts in the same reply, as refunds and price differences are); every order status stated next to
    an order id must be that order's status now."""

    _MONEY = re.compile(r"\$\s?(\d[\d,]*(?:\.\d{1,2})?)")
    _ORDER = re.compile(r"#W\d{7}")
    _STATUS = re.compile(
        r"\b(pending \(item modified\)|return requested|exchange requested|pending|processed|"
        r"delivered|cancelled)\b"
    )

    def __init__(self, runtime: Any) -> None:
        self.store = runtime.store
        amounts: set[float] = set()
        for product in self.store.db.products():
            amounts |= {round(v.price, 2) for v in product.variants.values()}
        for product in runtime.catalog.get_many(runtime.catalog.all_ids()):
            if product.price is not None:
                amounts.add(round(product.price, 2))
            amounts |= {round(v.price, 2) for v in product.variants if v.price is not None}
        self.amounts = amounts

    def audit(self, reply: str) -> list[str]:
        problems: list[str] = []
        orders = {oid: self.store.db.order(oid) for oid in set(self._ORDER.findall(reply))}
        known = set(self.amounts)
        for order in orders.values():
            if order is None:
                continue
            prices = [round(i.price, 2) for i in order.items]
            known |= set(prices) | {round(t.amount, 2) for t in order.payment_history}
            owner = self.store.db.user(order.user_id)
            if owner is not None:
                known |= {round(m.balance, 2) for m in owner.payment_methods.values() if m.balance is not None}
            for size in range(2, len(prices) + 1):
                known |= {round(sum(c), 2) for c in itertools.combinations(prices, size)}
        stated = [float(m.replace(",", "")) for m in self._MONEY.findall(reply)]
        for amount in stated:
            if any(abs(amount - k) < 0.006 for k in known):
                continue
            if any(
                abs(amount - abs(a - b)) < 0.006 or abs(amount - (a + b)) < 0.006
                for a, b in itertools.combinations(stated, 2)
                if a != amount and b != amount
            ):
                continue
            problems.append(f"amount ${amount:,.2f} is not in the data")
        for sentence in re.split(r"(?<=[.!?。！？])\s*", reply):
            ids = self._ORDER.findall(sentence)
            statuses = self._STATUS.findall(sentence)
            if len(ids) == 1 and statuses and orders.get(ids[0]) is not None:
                actual = orders[ids[0]].status  # type: ignore[union-attr]
                wrong = [s for s in statuses if s != actual and s not in _SUMMARY_WORDS]
                if wrong and actual not in statuses:
                    problems.append(f"{ids[0]} stated as {wrong[0]}, is {actual}")
        return problems


# Status words that a proposal summary uses for the state an action leads to or requires, not the current one.
_SUMMARY_WORDS = {
    "cancelled",
    "pending",
    "delivered",
    "return requested",
    "exchange requested",
    "pending (item modified)",
}


def _check_state(runtime: Any, conversation: Conversation, before: dict[str, Any]) -> list[str]:
    failures: list[str] = []
    for order_id, expect in conversation.orders.items():
        order = runtime.store.db.order(order_id)
        if order is None:
            failures.append(f"order {order_id} missing")
            continue
        if expect.status is not None and order.status != expect.status:
            failures.append(f"order {order_id} is {order.status}, expected {expect.status}")
        if expect.unchanged and order.model_dump(mode="json") != before.get(order_id):
            failures.append(f"order {order_id} changed")
        dumped = order.model_dump(mode="json")
        for key, value in expect.fields.items():
            if _dig(dumped, key) != value:
                failures.append(f"order {order_id} {key} = {_dig(dumped, key)!r}, expected {value!r}")
    for user_id, fields in conversation.users.items():
        user = runtime.store.db.user(user_id)
        dumped = user.model_dump(mode="json") if user else {}
        for key, value in fields.items():
            if _dig(dumped, key) != value:
                failures.append(f"user {user_id} {key} = {_dig(dumped, key)!r}, expected {value!r}")
    return failures


def _dig(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def run_conversation(runtime: Any, conversation: Conversation, auditor: FactAuditor) -> ConversationResult:
    before = {}
    for order_id in conversation.orders:
        order = runtime.store.db.order(order_id)
        before[order_id] = order.model_dump(mode="json") if order else None
    session_id: str | None = None
    fact_failures: list[str] = []
    text_failures: list[str] = []
    fact_errors: list[str] = []
    latencies: list[float] = []
    non_llm: list[float] = []
    first_tokens: list[float] = []
    for n, turn in enumerate(conversation.turns, start=1):
        response = runtime.dialogue.chat(turn.user, session_id=session_id, user_id=conversation.user_id)
        session_id = response.session_id
        facts, text = check_turn(response, turn.expect)
        fact_failures += [f"turn {n}: {f}" for f in facts]
        text_failures += [f"turn {n}: {t}" for t in text]
        fact_errors += [f"turn {n}: {e}" for e in auditor.audit(response.reply)]
        latencies.append(response.latency_ms)
        non_llm.append(round(response.latency_ms - response.timings_ms.get("generation", 0.0), 2))
        if response.prompt_version and "first_token" in response.timings_ms:
            first_tokens.append(response.timings_ms["first_token"])
    fact_failures += _check_state(runtime, conversation, before)
    return ConversationResult(
        id=conversation.id,
        category=conversation.category,
        language=conversation.language,
        passed=not (fact_failures or text_failures or fact_errors),
        passed_facts=not (fact_failures or fact_errors),
        failures=fact_failures,
        text_failures=text_failures,
        fact_errors=fact_errors,
        turns=len(conversation.turns),
        latency_ms=latencies,
        non_llm_ms=non_llm,
        first_token_ms=first_tokens,
    )


# --- the router on Bitext ------------------------------------------------------------------------------------------
# Bitext intents that name one of ours; the others (accounts, invoices, newsletters...) have no counterpart.
BITEXT_TO_OURS = {
    "cancel_order": "cancel",
    "track_order": "order_status",
    "change_order": "modify",
    "change_shipping_address": "address_change",
    "set_up_shipping_address": "address_change",
    "get_refund": "return",
    "check_refund_policy": "policy_question",
    "check_cancellation_fee": "policy_question",
    "contact_human_agent": "handoff",
    "contact_customer_service": "handoff",
    "complaint": "handoff",
    "place_order": "product_search",
}


def score_router(csv_path: Path, encoder: Any | None) -> dict[str, Any]:
    import csv

    from assistant.dialogue.intents import EmbeddingIntentClassifier, route

    if not csv_path.is_file():
        raise FileNotFoundError(f"support-intents CSV not found: {csv_path}")
    classifier = EmbeddingIntentClassifier(encoder) if encoder is not None else None
    per: dict[str, Counter[str]] = defaultdict(Counter)
    with csv_path.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["intent"] in BITEXT_TO_OURS]
    rules_only = 0
    for row in tqdm(rows, desc="router", file=sys.stderr, leave=False):
        expected = BITEXT_TO_OURS[row["intent"]]
        got = route(row["instruction"], None, classifier).intent.value
        rules_only += route(row["instruction"]).intent.value == expected
        per[row["intent"]]["n"] += 1
        per[row["intent"]]["ok"] += got == expected
    total = sum(c["n"] for c in per.values())
    return {
        "utterances": total,
        "accuracy": round(sum(c["ok"] for c in per.values()) / total, 4),
        "accuracy_rules_only": round(rules_only / total, 4),
        "per_intent": {k: round(c["ok"] / c["n"], 4) for k, c in sorted(per.items())},
    }


# --- the run ---------------------------------------------------------------------------------------------------------
def fresh_runtime(settings: Settings, store: Path, name: str) -> Any:
    """A Runtime on an empty data dir under `settings.data_dir`, loaded from the retail-store folder."""
    from assistant.runtime import Runtime
    from assistant.store.loading import import_store_with_catalog

    if not (store / "orders.json").is_file():
        raise FileNotFoundError(f"retail-store folder not found: {store}")
    data_dir = settings.data_dir / name
    shutil.rmtree(data_dir, ignore_errors=True)
    runtime = Runtime(
        Settings(
            data_dir=data_dir,
            llm=settings.llm,
            embedding_model=settings.embedding_model,
            llm_timeout_s=settings.llm_timeout_s,
        )
    )
    import_store_with_catalog(runtime, store, progress=False)
    return runtime


def run_dialogue_eval(
    settings: Settings,
    *,
    conversations: Path | None = None,
    store: Path | None = None,
    tasks: Path | None = None,
    intents: Path | None = None,
    limit: int | None = None,
    out: Path = Path("reports/dialogue"),
) -> dict[str, Any]:
    store = store or DEFAULT_STORE
    scripted = load_conversations(conversations or CONVERSATIONS_DIR)
    runtime = fresh_runtime(settings, store, "eval-dialogue")
    auditor = FactAuditor(runtime)
    results = [
        run_conversation(runtime, c, auditor)
        for c in tqdm(scripted, desc="conversations", file=sys.stderr, leave=False)
    ]
    summary: dict[str, Any] = {"llm": settings.llm, "model_id": _model_id(runtime)}
    summary["conversations"] = _summarise(results)
    if intents is not None:
        summary["router"] = score_router(intents, lambda texts: runtime.embedder.encode_query(texts))
    if tasks is not None:
        from assistant.evals.tau import run_tau_tasks

        summary["tau"] = run_tau_tasks(settings, runtime, tasks, store, limit=limit)
    _write_report(summary, results, out)
    summary["report"] = str(out / "report.html")
    return summary


def _model_id(runtime: Any) -> str:
    llm = runtime.dialogue.llm
    return llm.model_id if llm is not None else "none"


def _summarise(results: list[ConversationResult]) -> dict[str, Any]:
    n = len(results)
    latencies = [x for r in results for x in r.latency_ms]
    non_llm = [x for r in results for x in r.non_llm_ms]
    first = [x for r in results for x in r.first_token_ms]
    by_category: dict[str, list[ConversationResult]] = defaultdict(list)
    for r in results:
        by_category[r.category].append(r)
    return {
        "count": n,
        "turns": sum(r.turns for r in results),
        "pass_rate": round(sum(r.passed for r in results) / n, 4) if n else 0.0,
        "pass_rate_facts": round(sum(r.passed_facts for r in results) / n, 4) if n else 0.0,
        "wrong_facts_in_replies": sum(len(r.fact_errors) for r in results),
        "chinese": sum(r.language == "zh" for r in results),
        "latency_ms_p50": _pct(latencies, 50),
        "latency_ms_p95": _pct(latencies, 95),
        "non_llm_ms_p50": _pct(non_llm, 50),
        "first_token_ms_p50": _pct(first, 50) if first else None,
        "by_category": {
            k: {
                "count": len(v),
                "pass_rate": round(sum(r.passed for r in v) / len(v), 4),
                "pass_rate_facts": round(sum(r.passed_facts for r in v) / len(v), 4),
            }
            for k, v in sorted(by_category.items())
        },
        "failed": {r.id: r.failures + r.fact_errors + r.text_failures for r in results if not r.passed},
    }


def _pct(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 2)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 2)


def _write_report(summary: dict[str, Any], results: list[ConversationResult], out: Path) -> None:
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    figures = []
    categories = summary["conversations"]["by_category"]
    fig, ax = plt.subplots(figsize=(9, 4))
    names = list(categories)
    ax.bar([i - 0.2 for i in range(len(names))], [categories[k]["pass_rate"] for k in names], 0.4, label="all checks")
    ax.bar(
        [i + 0.2 for i in range(len(names))],
        [categories[k]["pass_rate_facts"] for k in names],
        0.4,
        label="facts, actions, state",
    )
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("pass rate")
    ax.set_title(f"Scripted conversations by category (llm={summary['llm']})")
    ax.legend()
    fig.tight_layout()
    figures.append(out / "pass_rate_by_category.png")
    fig.savefig(figures[-1], dpi=110)
    plt.close(fig)
    non_llm = [x for r in results for x in r.non_llm_ms]
    if non_llm:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.hist(non_llm, bins=40)
        ax.set_xlabel("non-LLM part of a turn (ms)")
        ax.set_ylabel("turns")
        fig.tight_layout()
        figures.append(out / "non_llm_latency.png")
        fig.savefig(figures[-1], dpi=110)
        plt.close(fig)
    rows = [
        [
            r.id,
            r.category,
            r.language,
            r.turns,
            "yes" if r.passed else "no",
            "yes" if r.passed_facts else "no",
            "; ".join(r.failures + r.fact_errors + r.text_failures)[:300],
        ]
        for r in results
    ]
    flat = {k: v for k, v in summary.items() if k != "conversations"}
    flat["conversations"] = {k: v for k, v in summary["conversations"].items() if k not in {"failed", "by_category"}}
    Report(
        title="Dialogue evaluation",
        metrics=flat,
        tables=[Table("Conversations", ["id", "category", "lang", "turns", "pass", "facts pass", "failures"], rows)],
        figures=figures,
    ).write(out)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
