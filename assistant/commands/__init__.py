"""CLI command modules; each exposes `register(app, eval_app)` and is listed in `assistant.cli.COMMAND_MODULES`."""
