"""A tau-bench-style run: a simulated customer (an LLM playing the task's instruction) talks to the dialogue engine;
the task passes when the store ends exactly as the task's expected actions leave it (pass^1).

Each task gets two fresh copies of the store: one the conversation changes, one where the expected actions are
applied directly through the same store tools. Any backend can play the customer (`--llm`, e.g. an
OpenAI-compatible endpoint serving a strong model); a small local model plays it poorly, which the figures show.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from tqdm import tqdm

from assistant.config import Settings
from assistant.db import make_engine
from assistant.dialogue.engine import DialogueEngine, GenerationSettings
from assistant.llm.base import LLM, LLMError
from assistant.sessions import SessionStore
from assistant.store import PolicyError, StoreDB, StoreTools, import_store
from assistant.store.identity import IdentityGuard, IdentityPolicy
from prompts import load as load_prompt

STOP = "###STOP###"
# Tools that only read; replaying them changes nothing.
_READS = {
    "find_user_id_by_email",
    "find_user_id_by_name_zip",
    "get_user_details",
    "get_order_details",
    "get_product_details",
    "list_all_product_types",
    "calculate",
    "think",
    "transfer_to_human_agents",
}


class TauTask(BaseModel):
    user_id: str
    instruction: str
    actions: list[dict[str, Any]]


class TauResult(BaseModel):
    index: int
    user_id: str
    passed: bool
    turns: int
    expected: list[str]
    done: list[str]
    note: str = ""


def fresh_store(path: Path, folder: Path) -> StoreTools:
    """A store database at `path`, emptied and loaded from the retail-store folder."""
    path.unlink(missing_ok=True)
    tools = StoreTools(StoreDB(make_engine(f"sqlite:///{path}")))
    import_store(tools.db, folder)
    return tools


def apply_expected(tools: StoreTools, task: TauTask) -> str:
    """Applies the task's write actions through the store tools; why one was refused, or ''."""
    for action in task.actions:
        if action["name"] in _READS:
            continue
        try:
            tools.execute(tools.propose(action["name"], action["kwargs"], task.user_id))
        except PolicyError as exc:
            return f"expected action {action['name']} refused by policy: {exc.message}"
    return ""


def snapshot(tools: StoreTools, user_id: str) -> dict[str, Any]:
    """The customer's record and every one of their orders, as JSON (what pass^1 compares)."""
    user = tools.db.user(user_id)
    if user is None:
        return {}
    orders = {oid: tools.db.order(oid) for oid in user.orders}
    return {
        "user": user.model_dump(mode="json"),
        "orders": {oid: o.model_dump(mode="json") for oid, o in orders.items() if o is not None},
    }


def simulate(
    engine: DialogueEngine, customer: LLM, instruction: str, max_turns: int, timeout_s: float
) -> tuple[int, list[str]]:
    """Plays one conversation; returns the number of customer turns and the actions the engine completed."""
    messages = load_prompt("customer_simulator").messages(instruction=instruction)
    messages.append({"role": "user", "content": "Hi! How can I help you today?"})
    session_id: str | None = None
    done: list[str] = []
    turns = 0
    for turns in range(1, max_turns + 1):  # noqa: B007 - the count is returned
        said = customer.complete(messages, max_tokens=120, temperature=0.0, timeout_s=timeout_s).strip()
        if not said or STOP in said:
            break
        response = engine.chat(said, session_id=session_id)
        session_id = response.session_id
        done += [a.name for a in response.actions if a.status == "done"]
        messages += [{"role": "assistant", "content": said}, {"role": "user", "content": response.reply}]
    return turns, done


def run_tau_tasks(
    settings: Settings,
    runtime: Any,
    tasks_file: Path,
    store_folder: Path,
    *,
    limit: int | None = None,
    max_turns: int = 14,
) -> dict[str, Any]:
    if not tasks_file.is_file():
        raise FileNotFoundError(f"tasks file not found: {tasks_file}")
    customer = runtime.llm
    if customer is None:
        return {"skipped": "the simulated customer needs an LLM: pass --llm (e.g. openai:URL#MODEL)"}
    tasks = [TauTask.model_validate(t) for t in json.loads(tasks_file.read_text(encoding="utf-8"))][:limit]
    work = settings.data_dir / "eval-tau"
    work.mkdir(parents=True, exist_ok=True)
    results: list[TauResult] = []
    for index, task in enumerate(tqdm(tasks, desc="tau tasks", file=sys.stderr, leave=False)):
        actual = fresh_store(work / "actual.db", store_folder)
        expected = fresh_store(work / "expected.db", store_folder)
        note = apply_expected(expected, task)
        engine = DialogueEngine(
            SessionStore(actual.db.engine),
            actual,
            runtime.searcher,
            runtime.catalog,
            llm=lambda: runtime.llm,
            generation=GenerationSettings(timeout_s=settings.llm_timeout_s),
            # tau-bench's retail policy lets an email alone authorise changes; its simulated customer relies on it.
            identity=IdentityGuard(actual.db, IdentityPolicy(email_allows_changes=True)),
        )
        try:
            turns, done = simulate(engine, customer, task.instruction, max_turns, settings.llm_timeout_s)
        except LLMError as exc:
            turns, done, note = 0, [], f"simulated customer failed: {exc}"
        passed = not note and snapshot(actual, task.user_id) == snapshot(expected, task.user_id)
        results.append(
            TauResult(
                index=index,
                user_id=task.user_id,
                passed=passed,
                turns=turns,
                expected=[a["name"] for a in task.actions if a["name"] not in _READS],
                done=done,
                note=note,
            )
        )
        actual.db.engine.dispose()
        expected.db.engine.dispose()
    n = len(results)
    return {
        "tasks": n,
        "customer_model": customer.model_id,
        "pass^1": round(sum(r.passed for r in results) / n, 4) if n else 0.0,
        "results": [r.model_dump() for r in results],
    }
