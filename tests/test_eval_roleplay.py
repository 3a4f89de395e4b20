"""`eval roleplay`: the fixed sample, the grouping, the scorer on real store copies (a pass and each kind of failure),
the CLI, and one round end to end against a real `serve` with scripted say.py messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from live_server import free_port

from assistant.config import Settings
from assistant.evals import roleplay
from assistant.evals.tau import apply_expected, fresh_store

ROOT = Path(__file__).resolve().parent.parent
# tasks_train.json task 159: Fatima Nguyen (zip 43211) cancels pending order #W8808563, "ordered by mistake".
CANCEL_TASK = 159
CANCEL_ORDER = "#W8808563"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], cwd=ROOT, capture_output=True, text=True, timeout=900
    )


@pytest.fixture()
def store(shared_data: Path) -> Path:
    return shared_data / "retail-store"


@pytest.fixture()
def tasks(store: Path) -> list[roleplay.RoleplayTask]:
    return roleplay.load_tasks(store / "tasks_train.json")


def _served_copy(tmp_path: Path, store: Path):
    """A data dir whose store database is a fresh import, as `prepare` leaves it (the catalog is not needed here)."""
    data_dir = tmp_path / "group-1"
    data_dir.mkdir(parents=True)
    tools = fresh_store(Settings(data_dir=data_dir, database_url=None).sqlite_path, store)
    return data_dir, tools


def _manifest(tmp_path: Path, store: Path, data_dir: Path, index: int, user_id: str) -> roleplay.Manifest:
    transcripts = tmp_path / "transcripts"
    return roleplay.Manifest(
        seed=None,
        backend="none",
        store=store,
        tasks_file=store / "tasks_train.json",
        created="test",
        transcripts=transcripts,
        servers=[roleplay.ServerEntry(group=1, data_dir=data_dir, port=1, log=data_dir / "serve.log")],
        tasks=[
            roleplay.TaskEntry(
                index=index,
                user_id=user_id,
                group=1,
                port=1,
                data_dir=data_dir,
                transcript=transcripts / f"task-{index}.json",
            )
        ],
    )


def _transcript(path: Path, *turns: tuple[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"conversation": path.stem, "session_id": "s", "turns": [{"customer": c, "assistant": a} for c, a in turns]}
    path.write_text(json.dumps(body))


def test_the_sample_is_fixed_and_customers_are_kept_apart(tasks: list[roleplay.RoleplayTask]) -> None:
    sample = roleplay.sample_indices()
    assert sample == [
        5, 12, 41, 42, 52, 64, 73, 74, 75, 79, 102, 104, 107, 116, 122, 153, 159, 163, 168, 193,
        207, 223, 274, 303, 304, 310, 313, 325, 328, 330, 340, 358, 403, 410, 413, 442, 448, 476, 489, 499,
    ]  # fmt: skip
    users = {i: tasks[i].user_id for i in sample}
    placed = roleplay.split_groups(users, 4)
    assert sorted(placed) == sample
    assert sorted(list(placed.values()).count(g) for g in range(1, 5)) == [10, 10, 10, 10]
    for group in range(1, 5):
        members = [users[i] for i in sample if placed[i] == group]
        assert len(members) == len(set(members)), f"group {group} holds two tasks of one customer"
    # Two customers have two tasks each in the sample, so one group cannot hold them apart.
    with pytest.raises(ValueError, match="cannot separate"):
        roleplay.split_groups(users, 1)


def test_a_task_whose_expected_actions_were_done_passes(tmp_path: Path, store: Path, tasks) -> None:
    task = tasks[CANCEL_TASK]
    data_dir, served = _served_copy(tmp_path, store)
    assert apply_expected(served, task) == ""  # as if the assistant had done it
    manifest = _manifest(tmp_path, store, data_dir, CANCEL_TASK, task.user_id)
    _transcript(
        manifest.tasks[0].transcript,
        ("cancel #W8808563, ordered by mistake", "Cancel order #W8808563 ...? (yes/no)"),
        ("yes", "Done: order #W8808563 is cancelled."),
        ("###STOP###", "Goodbye!"),
    )
    [score] = roleplay.score_manifest(manifest, tmp_path / "work")
    assert score.passed, score
    assert (score.index, score.user_id, score.turns, score.differences, score.note) == (
        CANCEL_TASK,
        "fatima_nguyen_7539",
        2,
        [],
        "",
    )


def test_a_missing_action_a_wrong_field_and_an_unplayed_task_fail(tmp_path: Path, store: Path, tasks) -> None:
    task = tasks[CANCEL_TASK]
    data_dir, served = _served_copy(tmp_path, store)
    manifest = _manifest(tmp_path, store, data_dir, CANCEL_TASK, task.user_id)
    [unplayed] = roleplay.score_manifest(manifest, tmp_path / "work")
    assert not unplayed.passed and "not played" in unplayed.note

    _transcript(manifest.tasks[0].transcript, ("cancel #W8808563", "Which order?"), ("###STOP###", "Bye"))
    [missing] = roleplay.score_manifest(manifest, tmp_path / "work")
    assert not missing.passed
    assert f"{CANCEL_ORDER}.status: expected 'cancelled', got 'pending'" in missing.differences
    assert any(
        d.startswith(f"{CANCEL_ORDER}.cancel_reason: expected 'ordered by mistake'") for d in missing.differences
    )

    # The right order cancelled for the wrong reason: only that field differs.
    wrong = task.model_copy(
        update={
            "actions": [
                {"name": "cancel_pending_order", "kwargs": {"order_id": CANCEL_ORDER, "reason": "no longer needed"}}
            ]
        }
    )
    assert apply_expected(served, wrong) == ""
    [score] = roleplay.score_manifest(manifest, tmp_path / "work")
    assert not score.passed
    assert score.differences == [f"{CANCEL_ORDER}.cancel_reason: expected 'ordered by mistake', got 'no longer needed'"]


def test_an_expected_output_must_appear_in_a_reply(tmp_path: Path, store: Path, tasks) -> None:
    task = tasks[CANCEL_TASK].model_copy(update={"outputs": ["1234.56"]})
    data_dir, served = _served_copy(tmp_path, store)
    apply_expected(served, task)
    entry = _manifest(tmp_path, store, data_dir, CANCEL_TASK, task.user_id).tasks[0]
    _transcript(entry.transcript, ("what did I pay?", "You paid $1,234.00."), ("ok", "Done."))
    expected = fresh_store(tmp_path / "expected.db", store)
    score = roleplay.score_task(task, entry, "none", served, expected)
    assert not score.passed and score.missing_outputs == ["1234.56"] and score.differences == []

    _transcript(entry.transcript, ("what did I pay?", "You paid $1,234.56 IN TOTAL."), ("ok", "Done."))
    expected = fresh_store(tmp_path / "expected.db", store)
    assert roleplay.score_task(task, entry, "none", served, expected).passed


def test_a_task_whose_own_expected_action_the_store_refuses_cannot_pass(tmp_path: Path, store: Path, tasks) -> None:
    """An expected action the store's policy refuses (here a cancellation reason the policy does not accept): the
    scorer says so instead of comparing with a state no conversation can reach."""
    task = tasks[5].model_copy(
        update={"actions": [{"name": "cancel_pending_order", "kwargs": {"order_id": "#W7425646", "reason": "bored"}}]}
    )
    data_dir, served = _served_copy(tmp_path, store)
    entry = _manifest(tmp_path, store, data_dir, 5, task.user_id).tasks[0]
    _transcript(entry.transcript, ("cancel #W7425646", "Done."))
    expected = fresh_store(tmp_path / "expected.db", store)
    score = roleplay.score_task(task, entry, "none", served, expected)
    assert not score.passed
    assert score.expected_refused.startswith("expected action cancel_pending_order refused by policy")


def test_a_replacement_by_the_same_item_is_an_action_the_store_takes(tmp_path: Path, store: Path, tasks) -> None:
    """Task 5 modifies an item into the very same item (a replacement): the store accepts it, so the task is scored
    on the state, and a conversation that only changed the payment differs in the order's status."""
    data_dir, served = _served_copy(tmp_path, store)
    entry = _manifest(tmp_path, store, data_dir, 5, tasks[5].user_id).tasks[0]
    _transcript(entry.transcript, ("change the payment of #W7425646", "Done."))
    expected = fresh_store(tmp_path / "expected.db", store)
    score = roleplay.score_task(tasks[5], entry, "none", served, expected)
    assert not score.passed and not score.expected_refused
    assert any("#W7425646.status" in difference for difference in score.differences)


def test_replies_repeated_in_a_row_are_counted() -> None:
    assert roleplay.longest_repeat(["a", "b", "b", "a", "b", "b", "b"]) == 3
    assert roleplay.longest_repeat([]) == 0


def test_the_cli_scores_manifests_into_a_table(tmp_path: Path, store: Path, tasks) -> None:
    task = tasks[CANCEL_TASK]
    data_dir, served = _served_copy(tmp_path, store)
    apply_expected(served, task)
    manifest = _manifest(tmp_path, store, data_dir, CANCEL_TASK, task.user_id)
    _transcript(manifest.tasks[0].transcript, ("cancel it", "Done."))
    path = tmp_path / "manifest.json"
    path.write_text(manifest.model_dump_json())
    out = tmp_path / "report"
    done = _cli("--data-dir", str(tmp_path / "data"), "eval", "roleplay", str(path), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["backends"]["none"] == {
        "tasks": 1,
        "passed": 1,
        "pass^1": 1.0,
        "played": 1,
        "expected_actions_refused_by_the_store": [],
        "conversations_with_a_reply_3_times_in_a_row": 0,
    }
    table = (out / "roleplay.md").read_text()
    assert f"| none | {CANCEL_TASK} | fatima_nguyen_7539 | pass | 1 |" in table
    assert json.loads((out / "scores.json").read_text())[0]["passed"] is True


@pytest.mark.slow
def test_a_round_end_to_end_against_serve(tmp_path: Path, store: Path, tasks) -> None:
    """prepare (import, serve, manifest) -> say.py scripted customer -> score -> stop."""
    say = ROOT.parent / "shared" / "roleplay" / "say.py"
    if not say.is_file():
        pytest.skip(f"say.py not found at {say}")
    run = tmp_path / "run"
    base = free_port() - 1
    manifest = roleplay.prepare(
        run,
        backend="none",
        groups=1,
        base_port=base,
        tasks_file=store / "tasks_train.json",
        store=store,
        indices=[CANCEL_TASK],
    )
    try:
        assert manifest.servers[0].memory_kib.get("rss", 1) > 0
        assert "Fatima Nguyen" in (run / "players.md").read_text()
        entry = manifest.tasks[0]
        for message in (
            "hi, I'm Fatima Nguyen, zip code 43211. please cancel order #W8808563, I ordered it by mistake",
            "yes",
            "###STOP###",
        ):
            said = subprocess.run(
                [sys.executable, str(say), "--port", str(entry.port), "--dir", str(manifest.transcripts),
                 f"task-{CANCEL_TASK}", message],
                capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert said.returncode == 0, said.stdout + said.stderr
        [score] = roleplay.score_manifest(manifest, tmp_path / "work")
        assert score.passed, (score, entry.transcript.read_text())
    finally:
        stopped = roleplay.stop(run / roleplay.MANIFEST)
    assert stopped == [manifest.servers[0].pid]
    assert roleplay.stop(run / roleplay.MANIFEST) == []


def test_the_command_is_registered_and_its_errors_are_one_line(tmp_path: Path) -> None:
    nothing = _cli("--data-dir", str(tmp_path), "eval", "roleplay")
    assert nothing.returncode == 1 and "Traceback" not in nothing.stderr
    assert nothing.stderr.strip() == "error: name the manifest(s) to score, or --prepare FOLDER"
    missing = _cli("--data-dir", str(tmp_path), "eval", "roleplay", str(tmp_path / "nope.json"))
    assert missing.returncode == 1 and "manifest not found" in missing.stderr and "Traceback" not in missing.stderr
