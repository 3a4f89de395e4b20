"""`commerce-assistant eval roleplay`: customers played by helpers (people or capable models) against running `serve`
processes, scored the way tau-bench scores its retail tasks.

A round has three steps:
- `prepare`: the fixed sample of tasks, split into groups so that tasks sharing a customer never share a store; one
  data dir per group with the retail store imported, one `serve` per group on its own port with the chosen backend,
  a manifest (`manifest.json`) and the players' handout (`players.md`: port, conversation name, instruction).
- the players talk to the servers with `../shared/roleplay/say.py`, which keeps one transcript per conversation.
- `score`: a task passes when the served store's final state for its customer (the user record and every one of
  their orders, field by field) equals what the task's expected write actions leave on a fresh copy of the store, and
  every expected output appears in some reply of the transcript (case-insensitive, commas ignored, as tau-bench).
  `stop` ends the servers.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assistant.config import Settings
from assistant.db import make_engine
from assistant.evals.dialogue import DEFAULT_STORE
from assistant.evals.report import Report, Table
from assistant.evals.tau import STOP, TauTask, apply_expected, fresh_store, snapshot
from assistant.store import StoreDB, StoreTools

# Fixed before the first role-play run (issue 14); changing it would let the sample be chosen after the results.
SEED = 20261207
SAMPLE_SIZE = 40
POPULATION = 500  # the tasks of tasks_train.json the sample is drawn from
DEFAULT_TASKS = DEFAULT_STORE / "tasks_train.json"
MANIFEST = "manifest.json"
SAY = "../shared/roleplay/say.py"
# Every player calls from 127.0.0.1, so the per-client limit on failed identity checks (meant for one client, 20)
# would count all players of a server as one; each conversation keeps its own limit of 5.
_SERVER_ENV = {"COMMERCE_ASSISTANT_IDENTITY_MAX_FAILURES_PER_CLIENT": "1000"}
# Each group's store is the SQLite database and Chroma folder of its own data dir.
_SERVICE_URLS = ("COMMERCE_ASSISTANT_DATABASE_URL", "COMMERCE_ASSISTANT_CHROMA_URL")
_READY_TIMEOUT_S = 900.0


class RoleplayTask(TauTask):
    outputs: list[str] = Field(default_factory=list)


class ServerEntry(BaseModel):
    group: int
    data_dir: Path
    port: int
    pid: int | None = None
    log: Path
    memory_kib: dict[str, int] = Field(default_factory=dict)  # RSS and PSS once ready


class TaskEntry(BaseModel):
    index: int  # the task's position in the tasks file
    user_id: str
    group: int
    port: int
    data_dir: Path
    transcript: Path  # where say.py writes `task-{index}`'s conversation


class Manifest(BaseModel):
    seed: int | None  # None when the tasks were chosen by hand, not drawn
    backend: str
    store: Path
    tasks_file: Path
    created: str
    transcripts: Path
    servers: list[ServerEntry]
    tasks: list[TaskEntry]

    @classmethod
    def load(cls, path: Path) -> Manifest:
        if not path.is_file():
            raise FileNotFoundError(f"manifest not found: {path}")
        return cls.model_validate_json(path.read_text(encoding="utf-8"))


class Turn(BaseModel):
    customer: str
    assistant: str = ""


class Transcript(BaseModel):
    conversation: str = ""
    session_id: str | None = None
    turns: list[Turn] = Field(default_factory=list)


class TaskScore(BaseModel):
    index: int
    user_id: str
    backend: str
    passed: bool
    turns: int  # customer messages, the closing ###STOP### not counted
    differences: list[str] = Field(default_factory=list)  # "<record>.<field>: expected X, got Y"
    missing_outputs: list[str] = Field(default_factory=list)
    longest_repeat: int = 0  # most identical assistant replies in a row
    # The store refused one of the task's own expected actions (tau-bench's synthetic tasks exchange some items
    # for the very same item, which the policy's "a different product option" forbids): the task cannot pass.
    expected_refused: str = ""
    note: str = ""


def sample_indices(seed: int = SEED, size: int = SAMPLE_SIZE, population: int = POPULATION) -> list[int]:
    return sorted(random.Random(seed).sample(range(population), size))


def load_tasks(tasks_file: Path) -> list[RoleplayTask]:
    if not tasks_file.is_file():
        raise FileNotFoundError(f"tasks file not found: {tasks_file}")
    return [RoleplayTask.model_validate(t) for t in json.loads(tasks_file.read_text(encoding="utf-8"))]


def split_groups(users: dict[int, str], groups: int) -> dict[int, int]:
    """Task index -> group (1..groups): each task goes to the smallest group that has none of its customer's tasks
    (ties to the lowest number), so no two tasks of one customer share a store."""
    most = max((list(users.values()).count(u) for u in set(users.values())), default=0)
    if groups < most:
        raise ValueError(f"{groups} group(s) cannot separate a customer with {most} tasks; use --groups {most} or more")
    members: dict[int, list[str]] = {g: [] for g in range(1, groups + 1)}
    placed: dict[int, int] = {}
    for index in sorted(users):
        group = min((g for g in members if users[index] not in members[g]), key=lambda g: (len(members[g]), g))
        members[group].append(users[index])
        placed[index] = group
    return placed


# --- prepare and stop ----------------------------------------------------------------------------------------------


def prepare(
    run_dir: Path,
    *,
    backend: str,
    groups: int,
    base_port: int,
    tasks_file: Path,
    store: Path,
    indices: list[int] | None = None,
) -> Manifest:
    """Data dirs, servers and manifest for one round of `indices` (default: the fixed sample) on one backend."""
    from assistant.runtime import Runtime
    from assistant.store.loading import import_store_with_catalog

    run_dir = run_dir.expanduser().resolve()
    if (run_dir / MANIFEST).exists():
        raise ValueError(f"{run_dir} already holds a round; stop it and choose a new folder")
    tasks = load_tasks(tasks_file)
    # The fixed sample of the 500 training tasks; a smaller file (the 20 held-out dev tasks) is played whole.
    chosen = (
        indices if indices is not None else sample_indices() if len(tasks) >= POPULATION else list(range(len(tasks)))
    )
    if max(chosen) >= len(tasks):
        raise ValueError(f"{tasks_file} has {len(tasks)} tasks; the sample needs {max(chosen) + 1}")
    placed = split_groups({i: tasks[i].user_id for i in chosen}, groups)
    used = sorted(set(placed.values()))
    run_dir.mkdir(parents=True, exist_ok=True)
    _link_bundled_model(run_dir, backend)
    servers: list[ServerEntry] = []
    for group in used:
        data_dir = run_dir / f"group-{group}"
        # SQLite and embedded Chroma in the data dir, whatever service URLs this shell's environment names.
        settings = Settings(data_dir=data_dir, llm="none", database_url=None, chroma_url=None)
        import_store_with_catalog(Runtime(settings), store, progress=False)
        servers.append(ServerEntry(group=group, data_dir=data_dir, port=base_port + group, log=data_dir / "serve.log"))
    processes = [_start_server(server, backend) for server in servers]
    for server, process in zip(servers, processes, strict=True):
        server.pid = process.pid
    manifest = Manifest(
        seed=SEED if indices is None else None,
        backend=backend,
        store=store.resolve(),
        tasks_file=tasks_file.resolve(),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        transcripts=run_dir / "transcripts",
        servers=servers,
        tasks=[],
    )
    manifest.tasks = [
        TaskEntry(
            index=i,
            user_id=tasks[i].user_id,
            group=placed[i],
            port=base_port + placed[i],
            data_dir=run_dir / f"group-{placed[i]}",
            transcript=manifest.transcripts / f"task-{i}.json",
        )
        for i in chosen
    ]
    _write(run_dir, manifest)  # written before waiting, so `stop` can end servers that never become ready
    for server, process in zip(servers, processes, strict=True):
        _wait_ready(server, process)
        server.memory_kib = process_memory_kib(process.pid)
    _write(run_dir, manifest)
    (run_dir / "players.md").write_text(players_handout(manifest, tasks), encoding="utf-8")
    return manifest


def _write(run_dir: Path, manifest: Manifest) -> None:
    (run_dir / MANIFEST).write_text(manifest.model_dump_json(indent=1), encoding="utf-8")


def _link_bundled_model(run_dir: Path, backend: str) -> None:
    """Joins the bundled model once into the round's folder: each group's data dir then hard-links it (one file on
    disk, and one copy in the page cache, which every server's memory map shares)."""
    kind, _, size = backend.partition(":")
    if kind.strip().lower() != "auto":
        return
    from assistant.llm.bundled_model import resolve_bundled_model

    resolve_bundled_model(run_dir / "models", size or None)


def _start_server(server: ServerEntry, backend: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "assistant", "--data-dir", str(server.data_dir), "--llm", backend]
    command += ["serve", "--port", str(server.port), "--no-gradio"]
    root = Path(__file__).resolve().parents[2]
    inherited = {k: v for k, v in os.environ.items() if k not in _SERVICE_URLS}
    env = {**inherited, **_SERVER_ENV, "PYTHONPATH": str(root)}
    with server.log.open("ab") as log:
        # A session of its own: the server outlives this command, and a Ctrl-C here does not reach it.
        return subprocess.Popen(
            command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait_ready(server: ServerEntry, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server of group {server.group} ended; see {server.log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=5) as response:
                if json.loads(response.read()).get("status") == "ok":
                    return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(1.0)
    raise RuntimeError(
        f"the server of group {server.group} was not ready in {_READY_TIMEOUT_S:.0f} s; see {server.log}"
    )


def _is_our_server(server: ServerEntry) -> bool:
    """The pid still runs the `serve` this manifest started (not another process that got the number since)."""
    try:
        command = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"serve" in command and str(server.data_dir).encode() in command


def process_memory_kib(pid: int) -> dict[str, int]:
    """Resident (RSS) and proportional (PSS: shared pages divided among their users) memory of a process, in KiB,
    from /proc (Linux); empty elsewhere."""
    found: dict[str, int] = {}
    for path, key in ((f"/proc/{pid}/status", "VmRSS:"), (f"/proc/{pid}/smaps_rollup", "Pss:")):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    found[key.rstrip(":").lower().removeprefix("vm")] = int(line.split()[1])
                    break
        except OSError:
            continue
    return found


def stop(manifest_path: Path, timeout_s: float = 30.0) -> list[int]:
    """Ends the manifest's servers (SIGTERM, then SIGKILL after `timeout_s`); the pids ended."""
    manifest = Manifest.load(manifest_path)
    ended: list[int] = []
    for server in manifest.servers:
        if server.pid is None or not _is_our_server(server):
            continue
        os.kill(server.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        # An ended process has no command line left, even while its parent has not reaped it yet.
        while _is_our_server(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _is_our_server(server):
            os.kill(server.pid, signal.SIGKILL)
        ended.append(server.pid)
    return ended


def players_handout(manifest: Manifest, tasks: list[RoleplayTask]) -> str:
    """What each player gets besides customer-brief.md: port, conversation name and the customer's instruction
    (never the expected actions or outputs)."""
    lines = [
        f"# Role-play round: backend `{manifest.backend}`, seed {manifest.seed}, {len(manifest.tasks)} tasks",
        "",
        "Play each customer by `../shared/roleplay/customer-brief.md`. Talk with:",
        "",
        f'    python3 {SAY} --port PORT --dir {manifest.transcripts} task-N "message"',
        "",
    ]
    for task in manifest.tasks:
        lines += [
            f"## task-{task.index} (port {task.port})",
            "",
            tasks[task.index].instruction.strip(),
            "",
        ]
    return "\n".join(lines)


# --- scoring -------------------------------------------------------------------------------------------------------


def _leaves(value: Any, path: str) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out |= _leaves(item, f"{path}.{key}")
        return out
    if isinstance(value, list):
        out = {}
        for n, item in enumerate(value):
            out |= _leaves(item, f"{path}[{n}]")
        return out
    return {path: value}


_ABSENT = "nothing"


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Every field where the served state differs from the expected one: `user.<field>` or `<order id>.<field>`."""

    def flat(state: dict[str, Any]) -> dict[str, str]:
        out = _leaves(state.get("user", {}), "user")
        for order_id, order in state.get("orders", {}).items():
            out |= _leaves(order, order_id)
        return {path: repr(value) for path, value in out.items()}

    want, got = flat(expected), flat(actual)
    return [
        f"{path}: expected {want.get(path, _ABSENT)}, got {got.get(path, _ABSENT)}"
        for path in sorted(want.keys() | got.keys())
        if want.get(path) != got.get(path)
    ]


def missing_outputs(outputs: list[str], replies: list[str]) -> list[str]:
    """The expected outputs no reply contains (tau-bench: case-insensitive, commas dropped from the reply)."""
    said = [reply.lower().replace(",", "") for reply in replies]
    return [output for output in outputs if not any(output.lower() in reply for reply in said)]


def longest_repeat(replies: list[str]) -> int:
    best = run = 0
    previous: str | None = None
    for reply in replies:
        run = run + 1 if reply == previous else 1
        best = max(best, run)
        previous = reply
    return best


def served_store(data_dir: Path) -> StoreTools:
    return StoreTools(StoreDB(make_engine(Settings(data_dir=data_dir, database_url=None).sqlalchemy_url)))


def score_task(
    task: RoleplayTask, entry: TaskEntry, backend: str, served: StoreTools, expected: StoreTools
) -> TaskScore:
    """`expected` is a fresh copy of the store; the task's expected actions are applied to it here."""
    refused = apply_expected(expected, task)
    transcript = (
        Transcript.model_validate_json(entry.transcript.read_text(encoding="utf-8"))
        if entry.transcript.is_file()
        else None
    )
    turns = transcript.turns if transcript else []
    replies = [t.assistant for t in turns]
    diff = differences(snapshot(expected, task.user_id), snapshot(served, task.user_id))
    missing = missing_outputs(task.outputs, replies)
    return TaskScore(
        index=entry.index,
        user_id=task.user_id,
        backend=backend,
        passed=transcript is not None and not refused and not diff and not missing,
        turns=sum(1 for t in turns if STOP not in t.customer),
        differences=diff,
        missing_outputs=missing,
        longest_repeat=longest_repeat(replies),
        expected_refused=refused,
        note="" if transcript is not None else "not played (no transcript)",
    )


def score_manifest(manifest: Manifest, work: Path) -> list[TaskScore]:
    tasks = load_tasks(manifest.tasks_file)
    work.mkdir(parents=True, exist_ok=True)
    stores = {server.group: served_store(server.data_dir) for server in manifest.servers}
    # One import, copied per task: importing the store for each of 40 tasks took minutes on a busy machine.
    pristine = work / "pristine.db"
    fresh_store(pristine, manifest.store).db.engine.dispose()  # the last connection closed: no WAL left beside it
    scores: list[TaskScore] = []
    for entry in manifest.tasks:
        shutil.copyfile(pristine, work / "expected.db")
        expected = StoreTools(StoreDB(make_engine(f"sqlite:///{work / 'expected.db'}")))
        try:
            scores.append(score_task(tasks[entry.index], entry, manifest.backend, stores[entry.group], expected))
        finally:
            expected.db.engine.dispose()
    for tools in stores.values():
        tools.db.engine.dispose()
    return scores


def summarise(scores: list[TaskScore]) -> dict[str, Any]:
    by_backend: dict[str, list[TaskScore]] = defaultdict(list)
    for score in scores:
        by_backend[score.backend].append(score)
    return {
        backend: {
            "tasks": len(rows),
            "passed": sum(r.passed for r in rows),
            "pass^1": round(sum(r.passed for r in rows) / len(rows), 4),
            "played": sum(r.turns > 0 for r in rows),
            "expected_actions_refused_by_the_store": sorted(r.index for r in rows if r.expected_refused),
            "conversations_with_a_reply_3_times_in_a_row": sum(r.longest_repeat >= 3 for r in rows),
        }
        for backend, rows in by_backend.items()
    }


def markdown_table(scores: list[TaskScore], summary: dict[str, Any]) -> str:
    lines = ["| backend | pass^1 | passed | tasks | loops (3 same replies in a row) |", "|---|---|---|---|---|"]
    lines += [
        f"| {b} | {s['pass^1']:.2f} | {s['passed']} | {s['tasks']} | "
        f"{s['conversations_with_a_reply_3_times_in_a_row']} |"
        for b, s in summary.items()
    ]
    lines += [
        "",
        "| backend | task | user | pass | turns | differing fields | missing outputs | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in scores:
        diff = "<br>".join(_cell(d) for d in r.differences[:6]) + (
            f"<br>(+{len(r.differences) - 6} more)" if len(r.differences) > 6 else ""
        )
        lines.append(
            f"| {r.backend} | {r.index} | {r.user_id} | {'pass' if r.passed else 'FAIL'} | {r.turns} | {diff} | "
            f"{_cell('; '.join(r.missing_outputs))} | {_cell('; '.join(filter(None, [r.expected_refused, r.note])))} |"
        )
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def run_roleplay_eval(manifests: list[Path], out: Path, work: Path) -> dict[str, Any]:
    """Scores every manifest's tasks; writes `roleplay.md`, `scores.json`, `summary.json` and `report.html`."""
    scores: list[TaskScore] = []
    for path in manifests:
        scores += score_manifest(Manifest.load(path), work)
    shutil.rmtree(work, ignore_errors=True)
    summary = summarise(scores)
    out.mkdir(parents=True, exist_ok=True)
    (out / "roleplay.md").write_text(markdown_table(scores, summary), encoding="utf-8")
    (out / "scores.json").write_text(
        json.dumps([s.model_dump() for s in scores], indent=1, ensure_ascii=False), encoding="utf-8"
    )
    rows = [
        [
            s.backend,
            s.index,
            s.user_id,
            "pass" if s.passed else "FAIL",
            s.turns,
            len(s.differences),
            s.expected_refused or s.note,
        ]
        for s in scores
    ]
    Report(
        "Role-play: tasks played against served stores",
        {"seed": SEED, "backends": summary},
        [Table("Tasks", ["backend", "task", "user", "result", "turns", "differing fields", "note"], rows)],
    ).write(out)
    return {"report": str(out / "roleplay.md"), "backends": summary}
