"""`chat` (streaming terminal chat, or one turn with `--message`) and `eval dialogue`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from assistant.cli import UserError, emit, state


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    @app.command("chat")
    def chat(
        message: str | None = typer.Option(None, "--message", "-m", help="Send one message and exit."),
        session: str | None = typer.Option(None, "--session", help="Continue this session."),
        user: str | None = typer.Option(None, "--user", help="The caller's user id (a logged-in shopper)."),
        image: Path | None = typer.Option(None, "--image", help="An image to attach (moderated, not interpreted)."),
        as_json: bool = typer.Option(False, "--json", help="Print the chat response object as one JSON line."),
    ) -> None:
        """Chat with the assistant: a streaming REPL, or one turn with --message."""
        from assistant.runtime import Runtime

        image_bytes = _read_image(image)
        engine = Runtime(state.settings).dialogue
        if message is not None:
            if not message.strip():
                raise UserError("--message is empty")
            if as_json:
                emit(engine.chat(message, session_id=session, user_id=user, image=image_bytes).model_dump(mode="json"))
                return
            _print_turn(engine, message, session, user, image_bytes)
            return
        _repl(engine, session, user, image_bytes)

    @eval_app.command("dialogue")
    def eval_dialogue(
        conversations: Path | None = typer.Option(None, "--conversations", help="Folder of scripted conversations."),
        store: Path | None = typer.Option(None, "--store", help="Retail-store folder (default ../shared/data)."),
        tasks: Path | None = typer.Option(None, "--tasks", help="tau-bench tasks JSON for the simulated-customer run."),
        intents: Path | None = typer.Option(None, "--intents", help="Bitext support-intents CSV to score the router."),
        limit: int | None = typer.Option(None, "--limit", help="At most this many tasks."),
        out: Path = typer.Option(Path("reports/dialogue"), "--out", help="Report folder."),
    ) -> None:
        """Scripted conversations (response objects and final store state), the router on support intents, and
        optionally tau-bench tasks played by a simulated customer."""
        from assistant.evals.dialogue import run_dialogue_eval

        try:
            summary = run_dialogue_eval(
                state.settings,
                conversations=conversations,
                store=store,
                tasks=tasks,
                intents=intents,
                limit=limit,
                out=out,
            )
        except (FileNotFoundError, ValueError) as exc:
            raise UserError(str(exc)) from exc
        emit(summary)


def _read_image(path: Path | None) -> bytes | None:
    if path is None:
        return None
    if not path.is_file():
        raise UserError(f"image not found: {path}")
    return path.read_bytes()


def _print_turn(engine, message: str, session: str | None, user: str | None, image: bytes | None) -> str:
    """Streams one turn to the terminal; returns the session id."""
    session_id = session or ""
    cards: list[dict] = []
    for event in engine.stream(message, session_id=session, user_id=user, image=image):
        if event.event == "token":
            sys.stdout.write(event.data["text"])
            sys.stdout.flush()
        elif event.event == "products":
            cards = event.data["products"]
        elif event.event == "action":
            sys.stderr.write(f"[{event.data['status']}] {event.data['name']} {event.data['arguments']}\n")
        elif event.event == "done":
            session_id = event.data["session_id"]
            if event.data.get("handoff"):
                sys.stderr.write("[handed off to a human agent]\n")
    sys.stdout.write("\n")
    for card in cards:
        price = "" if card["price"] is None else f"{card['price']:.2f} {card['currency']}"
        stock = "in stock" if card["in_stock"] else "out of stock"
        sys.stdout.write(f"  · [{card['id']}] {card['title']} — {price} — {stock}\n")
    sys.stdout.flush()
    return session_id


def _repl(engine, session: str | None, user: str | None, image: bytes | None) -> None:
    sys.stderr.write("Type a message; /new starts a new session, /quit (or Ctrl-D) leaves.\n")
    while True:
        try:
            line = input("you> ").strip()
        except EOFError:
            sys.stdout.write("\n")
            return
        if not line:
            continue
        if line in {"/quit", "/exit"}:
            return
        if line == "/new":
            session = None
            continue
        sys.stdout.write("assistant> ")
        session = _print_turn(engine, line, session, user, image)
        image = None  # an image goes with the first message only
        sys.stderr.write(f"(session {session})\n")
