"""`commerce-assistant store import PATH`, `store order ORDER_ID [--json]`, `store audit [--target ID] [--json]`."""

from __future__ import annotations

from pathlib import Path

import typer

from assistant.cli import UserError, emit, state


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    store_app = typer.Typer(help="The store: customers, orders, product types and policy.", no_args_is_help=True)
    app.add_typer(store_app, name="store")

    @store_app.command("import")
    def import_command(
        path: Path = typer.Argument(
            ..., help="A retail-store folder (users, orders, products JSON and policy.md), or a zip of one."
        ),
    ) -> None:
        """Load a store's users, orders and policy (a folder or a zip of one); ingest its products."""
        from assistant.runtime import Runtime
        from assistant.store import StoreFormatError
        from assistant.store.loading import import_store_with_catalog

        try:
            emit(import_store_with_catalog(Runtime(state.settings), path.expanduser()))
        except StoreFormatError as exc:
            raise UserError(str(exc)) from exc

    @store_app.command("order")
    def order_command(
        order_id: str = typer.Argument(..., help="The store's order id, e.g. '#W2611340'."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    ) -> None:
        """Show an order as it is stored now."""
        from assistant.runtime import Runtime

        order = Runtime(state.settings).store.db.order(order_id.strip())
        if order is None:
            raise UserError(f"unknown order {order_id!r}")
        if as_json:
            emit({**order.model_dump(mode="json", exclude_none=True), "total": order.total})
            return
        typer.echo(f"{order.order_id}  {order.status}  user {order.user_id}  total ${order.total:,.2f}")
        typer.echo(f"  ship to {order.address.one_line()}")
        for item in order.items:
            options = ", ".join(f"{k} {v}" for k, v in item.options.items())
            typer.echo(f"  {item.item_id}  {item.name} ({options})  ${item.price:,.2f}")

    @store_app.command("audit")
    def audit_command(
        target: str | None = typer.Option(None, "--target", help="Only changes to this order or user id."),
        limit: int = typer.Option(50, "--limit", min=1, help="Most recent entries to show."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per entry on stdout."),
    ) -> None:
        """Show the audit log of store changes, newest first."""
        from assistant.runtime import Runtime

        for entry in Runtime(state.settings).store.db.audit_log(target=target, limit=limit):
            if as_json:
                emit(entry.model_dump())
            else:
                typer.echo(f"{entry.at}  {entry.actor:<24} {entry.action:<32} {entry.target}")
