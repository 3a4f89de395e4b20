"""`eval all`: every suite in turn, one HTML report with their plots; missing data skips a suite, not the run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assistant", "eval", "all", *args], capture_output=True, text=True)


def test_missing_data_skips_suites_and_still_reports(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    done = run("--data", str(tmp_path / "no-data"), "--suites", "search,moderation,dialogue", "--out", str(out))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["suites"] == {"search": "skipped", "moderation": "skipped", "dialogue": "skipped"}
    assert (out / "report.html").is_file()
    assert json.loads((out / "summary.json").read_text())["search"]["status"] == "skipped"


def test_unknown_suite_is_a_clean_error(data_dir: Path, tmp_path: Path) -> None:
    done = run("--suites", "search,nope", "--out", str(tmp_path / "r"))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: unknown suite(s): nope; choose from search, moderation, recommend, dialogue"
    ]


@pytest.mark.slow
def test_a_real_suite_lands_in_the_combined_report(shared_data: Path, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    done = run("--data", str(shared_data), "--suites", "moderation", "--quick", "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["suites"] == {"moderation": "ok"} and result["figures"]
    html = (out / "report.html").read_text(encoding="utf-8")
    for figure in result["figures"]:
        assert (out / figure).is_file() and figure in html
    summary = json.loads((out / "summary.json").read_text())
    assert summary["moderation"]["status"] == "ok" and "sets" in summary["moderation"]
