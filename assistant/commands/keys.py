"""`commerce-assistant keys generate|rotate`: encryption keys for personal data at rest.

Rotation: put a new key first in COMMERCE_ASSISTANT_ENCRYPTION_KEYS (keep the old ones after it), run
`keys rotate` (every encrypted value is re-encrypted under the new key, plain values from before encryption are
encrypted), then drop the old keys from the configuration.
"""

from __future__ import annotations

import typer
from sqlalchemy import Table

from assistant.cli import UserError, emit, state


def _personal_tables() -> list[Table]:
    """Every table of the program that can hold encrypted columns."""
    from assistant import sessions
    from moderation import review_queue
    from retrieval import events, profiles

    return [t for module in (sessions, events, profiles, review_queue) for t in module.metadata.sorted_tables]


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    keys_app = typer.Typer(help="Encryption keys for conversations, events and profiles at rest.", no_args_is_help=True)
    app.add_typer(keys_app, name="keys")

    @keys_app.command("generate")
    def generate() -> None:
        """Print a new Fernet key as JSON: put it first in COMMERCE_ASSISTANT_ENCRYPTION_KEYS."""
        from retrieval.crypto import generate_key

        emit({"key": generate_key()})

    @keys_app.command("rotate")
    def rotate() -> None:
        """Re-encrypt every stored conversation, event and profile under the first configured key."""
        from sqlalchemy import inspect

        from assistant.runtime import Runtime
        from retrieval.crypto import EncryptionKeyError, encrypted_columns, rotate_column

        runtime = Runtime(state.settings)
        try:
            cipher = runtime.cipher
        except EncryptionKeyError as exc:
            raise UserError(str(exc)) from exc
        engine = runtime.db
        present = set(inspect(engine).get_table_names())
        counts: dict[str, int] = {}
        try:
            with engine.begin() as conn:  # all or nothing: a failure leaves every row as it was
                for table, column in encrypted_columns(_personal_tables()):
                    if table.name in present:
                        counts[f"{table.name}.{column.name}"] = rotate_column(conn, table, column, cipher)
        except EncryptionKeyError as exc:
            raise UserError(f"{exc}; add the key that wrote it after the new one and rotate again") from exc
        emit({"rotated": counts, "rows": sum(counts.values())})
