"""The command exists, has help, and reports unknown commands without a traceback."""

from __future__ import annotations

import subprocess
import sys


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
