"""`commerce-assistant eval all --out DIR`: every evaluation suite in turn, then one HTML report with all plots.

Each suite runs through its own `eval NAME` command (in this process, with its own defaults and its own report
folder `DIR/NAME`), so this module needs to know only where each suite's inputs live. A suite that fails or
lacks its data is recorded as such and the others still run.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from assistant.cli import UserError, emit

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@dataclass(frozen=True)
class Suite:
    name: str
    needs: tuple[str, ...]
    """Paths under the shared data folder the suite reads; missing ones skip it."""
    args: tuple[str, ...]
    quick_args: tuple[str, ...] = ()


def suites(data: Path) -> list[Suite]:
    icecat = data / "icecat"
    return [
        Suite(
            "search",
            ("icecat/search-judgements-dev.csv",),
            ("--judgements", str(icecat / "search-judgements-dev.csv"), "--catalog", str(icecat)),
        ),
        Suite("moderation", ("moderation",), ("--data", str(data)), ("--limit", "200")),
        # Quick: 60 households trained on their own events only (replaying the whole store takes minutes).
        Suite("recommend", (), (), ("--households", "60", "--train-on", "sample")),
        Suite(
            "dialogue",
            ("retail-store",),
            (
                "--store",
                str(data / "retail-store"),
                "--intents",
                str(data / "support-intents" / "bitext-customer-support-6480.csv"),
            ),
            ("--limit", "3"),
        ),
    ]


def _run_suite(app: typer.Typer, suite: Suite, out: Path, quick: bool) -> dict[str, Any]:
    argv = ["eval", suite.name, *suite.args, *(suite.quick_args if quick else ()), "--out", str(out)]
    began = time.perf_counter()
    try:
        with contextlib.redirect_stdout(sys.stderr):  # a suite's own JSON line is not this command's output
            app(argv, standalone_mode=False)
        status, error = "ok", None
    except UserError as exc:
        status, error = "failed", str(exc)
    except Exception as exc:  # one broken suite must not hide the others' results
        status, error = "failed", f"{type(exc).__name__}: {exc}"
    summary_path = out / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if status == "ok" and summary_path.is_file() else {}
    return {"status": status, "error": error, "seconds": round(time.perf_counter() - began, 1), "summary": summary}


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    @eval_app.command("all")
    def eval_all(
        out: Path = typer.Option(Path("reports/all"), "--out", help="Report folder (one sub-folder per suite)."),
        data: Path = typer.Option(SHARED_DATA, "--data", help="The shared data folder the suites read."),
        only: str | None = typer.Option(None, "--suites", help="Comma-separated subset, e.g. search,moderation."),
        quick: bool = typer.Option(False, "--quick", help="Small samples per suite (a smoke run)."),
    ) -> None:
        """Run every evaluation suite and write one HTML report with every plot."""
        from assistant.evals.report import Report, Table

        chosen = suites(data.expanduser())
        if only:
            wanted = {s.strip() for s in only.split(",") if s.strip()}
            unknown = wanted - {s.name for s in chosen}
            if unknown:
                raise UserError(
                    f"unknown suite(s): {', '.join(sorted(unknown))}; choose from {', '.join(s.name for s in chosen)}"
                )
            chosen = [s for s in chosen if s.name in wanted]
        out = out.expanduser()
        out.mkdir(parents=True, exist_ok=True)
        results: dict[str, dict[str, Any]] = {}
        figures: list[Path] = []
        for suite in chosen:
            missing = [n for n in suite.needs if not (data / n).exists()]
            if missing:
                results[suite.name] = {"status": "skipped", "error": f"missing {', '.join(missing)} under {data}"}
                continue
            typer.echo(f"eval all: running {suite.name} ...", err=True)
            results[suite.name] = _run_suite(app, suite, out / suite.name, quick)
            for png in sorted((out / suite.name).glob("*.png")):
                figures.append(Path(shutil.copy2(png, out / f"{suite.name}-{png.name}")))
        rows = [[name, r["status"], r.get("seconds", ""), r.get("error") or ""] for name, r in results.items()]
        metrics = {name: {"status": r["status"], **r.get("summary", {})} for name, r in results.items()}
        report = Report(
            "commerce-assistant: all evaluations",
            metrics,
            [Table("Suites", ["suite", "status", "seconds", "error"], rows)],
            figures,
        ).write(out)
        emit(
            {
                "report": str(report),
                "suites": {n: r["status"] for n, r in results.items()},
                "figures": [f.name for f in figures],
            }
        )
        if any(r["status"] == "failed" for r in results.values()):
            raise typer.Exit(1)
