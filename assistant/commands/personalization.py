"""Personalization commands: `events FILE`, `recommend --user ID`, `eval recommend`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from assistant.cli import UserError, emit, state


def _runtime() -> Any:
    from assistant.runtime import Runtime

    return Runtime(state.settings)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    @app.command("events")
    def events_command(
        path: Path = typer.Argument(..., help="JSONL file: one event per line (user_id, type, product_id, ...)."),
        batch: int = typer.Option(5000, "--batch", min=1, help="Events written per transaction."),
        again: bool = typer.Option(False, "--again", help="Load a file that was loaded before once more."),
    ) -> None:
        """Bulk-loads behaviour events, in order, through the same path as POST /v1/events. A load that was
        interrupted resumes after its last committed line; a file already loaded is skipped (see --again)."""
        from tqdm import tqdm

        from retrieval.event_loads import EventLoads, file_key
        from retrieval.events import read_jsonl

        path = path.expanduser()
        if not path.is_file():
            raise UserError(f"{path}: no such file")
        runtime = _runtime()
        personalization = runtime.personalization
        loads = EventLoads(runtime.db)
        key = file_key(path)
        if again:
            loads.forget(key)
        done_up_to = loads.loaded_up_to(key)
        accepted = 0
        skipped = 0
        rejected: list[dict[str, Any]] = []
        items: list[Any] = []
        lines: list[int] = []
        last_line = done_up_to

        def flush() -> None:
            nonlocal accepted
            upto = last_line
            result = personalization.events.ingest(items, within=lambda conn: loads.record(conn, key, upto))
            accepted += result.accepted
            rejected.extend({"line": lines[r.index], "error": r.error} for r in result.rejected)
            items.clear()
            lines.clear()

        try:
            with tqdm(desc="events", unit="ev", file=sys.stderr) as bar:
                for line_no, value, error in read_jsonl(path):
                    if line_no <= done_up_to:  # committed by an earlier run of this same file
                        skipped += 1
                        continue
                    last_line = line_no
                    if error is not None:
                        rejected.append({"line": line_no, "error": error})
                        continue
                    items.append(value)
                    lines.append(line_no)
                    if len(items) >= batch:
                        bar.update(len(items))
                        flush()
                bar.update(len(items))
                flush()
        except UnicodeDecodeError as exc:
            raise UserError(f"{path}: not UTF-8 text ({exc.reason})") from exc
        finally:
            personalization.close()
        rejected.sort(key=lambda r: r["line"])
        emit({"accepted": accepted, "rejected": rejected, "already_loaded": skipped})

    @app.command("recommend")
    def recommend_command(
        user: str = typer.Option(..., "--user", help="The user's id (as the caller knows it)."),
        k: int = typer.Option(20, "--k", min=1, max=200, help="How many products."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    ) -> None:
        """Products for a user, each with why (the share of each signal)."""
        recs = _runtime().recommender.recommend(user, k)
        if as_json:
            emit({"user_id": user, "results": [recommendation_json(r) for r in recs]})
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"for {user}")
        for column in ("#", "id", "title", "score", "why"):
            table.add_column(column, overflow="fold")
        for i, r in enumerate(recs, start=1):
            table.add_row(str(i), r.product.id, r.product.title, f"{r.score:.3f}", "; ".join(r.why))
        Console(file=sys.stdout, width=160).print(table)

    @eval_app.command("recommend")
    def eval_recommend_command(
        out: Path = typer.Option(Path("reports/recommend"), "--out", help="Report folder (HTML, PNG, summary)."),
        households: int = typer.Option(
            0, "--households", min=0, help="Test cases: every household (0) or a random sample of this many."
        ),
        train_on: str = typer.Option(
            "all", "--train-on", help="Replay the training events of 'all' households or only of the 'sample'."
        ),
        seed: int = typer.Option(0, "--seed"),
        cutoff: str = typer.Option("2017-11-01", "--cutoff", help="Train before this date, test after."),
        test_weeks: int = typer.Option(9, "--test-weeks", min=1),
        k: int = typer.Option(20, "--k", min=1),
    ) -> None:
        """Recall/NDCG/coverage/diversity on completejourney vs popularity, buy-again and co-occurrence."""
        import pandas as pd

        from assistant.evals.recommend import RecommendEvalConfig, run_recommend_eval

        try:
            pd.Timestamp(cutoff)
        except ValueError as exc:
            raise UserError(f"--cutoff: not a date: {cutoff!r}") from exc
        try:
            config = RecommendEvalConfig(
                households=households, seed=seed, cutoff=cutoff, test_weeks=test_weeks, k=k, train_on=train_on
            )
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        runtime = _runtime()
        summary = run_recommend_eval(
            runtime.settings.data_dir / "eval-recommend",
            out.expanduser(),
            runtime.embedder,
            config,
            progress=lambda msg: typer.echo(msg, err=True),
        )
        emit(summary)


def recommendation_json(rec: Any) -> dict[str, Any]:
    """A `Recommendation` as the CLI and the HTTP API show it."""
    return {"id": rec.product.id, "title": rec.product.title, "score": rec.score, "why": rec.why}
