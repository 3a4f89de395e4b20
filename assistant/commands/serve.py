"""`commerce-assistant serve`: the web app (Gradio chat, widget, review console, HTTP API) on one port."""

from __future__ import annotations

import typer

from assistant.cli import UserError, state


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
        port: int = typer.Option(7860, "--port", min=1, max=65535, help="TCP port."),
        no_gradio: bool = typer.Option(False, "--no-gradio", help="Serve the API, widget and console only."),
    ) -> None:
        """Start the web app: chat at /, review console at /review, widget at /widget.js, API under /v1."""
        # This command is a composition root: it alone wires the web layer (ui) to the runtime, so ui is imported
        # here, lazily, and never by the assistant package itself.
        from assistant.runtime import Runtime
        from ui.server import serve as run_server

        try:
            run_server(Runtime(state.settings), host, port, gradio=not no_gradio)
        except OSError as exc:
            raise UserError(str(exc)) from exc
