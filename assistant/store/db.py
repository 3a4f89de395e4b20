"""The store database: users, orders, product types, the policy text and the audit log (portable SQL).

Nested parts of a record (addresses, items, payment history, variants) are kept as JSON next to the indexed
columns the tools look up by, so one row is one domain object and one transaction changes it whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)

from assistant.store.models import AuditEntry, Order, StoreProduct, User

metadata = MetaData()

users_table = Table(
    "store_users",
    metadata,
    Column("user_id", String(128), primary_key=True),
    Column("email", String(320), nullable=False, index=True),
    Column("first_name", String(128), nullable=False),
    Column("last_name", String(128), nullable=False),
    Column("zip", String(32), nullable=False),
    Column("data", JSON, nullable=False),
)

orders_table = Table(
    "store_orders",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("user_id", String(128), nullable=False, index=True),
    Column("status", String(64), nullable=False),
    Column("data", JSON, nullable=False),
)

products_table = Table(
    "store_products",
    metadata,
    Column("product_id", String(64), primary_key=True),
    Column("name", String(256), nullable=False),
    Column("data", JSON, nullable=False),
)

policy_table = Table(
    "store_policy",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("text", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

audit_table = Table(
    "store_audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(128), nullable=False, index=True),
    Column("arguments", JSON, nullable=False),
    Column("before", JSON),
    Column("after", JSON),
)


def _dump(model: User | Order | StoreProduct) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


class StoreDB:
    """Reads and writes the store's records. Policy lives in `assistant.store.policy`; this layer only stores."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic unit: everything written inside commits together or not at all, and what it read cannot
        change underneath it (PostgreSQL: the row locks of `for_update` reads; SQLite: the write lock taken at
        BEGIN IMMEDIATE, since its driver would otherwise start the transaction only at the first write)."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn

    # --- reads -----------------------------------------------------------------------------------------------
    def user(self, user_id: str, conn: Connection | None = None, *, for_update: bool = False) -> User | None:
        """`for_update` (inside a transaction) locks the row until commit on PostgreSQL, so two concurrent
        changes of the same record apply one after the other; SQLite serializes writers by itself."""
        query = select(users_table.c.data).where(users_table.c.user_id == user_id)
        row = self._one(query.with_for_update() if for_update else query, conn)
        return User.model_validate(row) if row is not None else None

    def order(self, order_id: str, conn: Connection | None = None, *, for_update: bool = False) -> Order | None:
        query = select(orders_table.c.data).where(orders_table.c.order_id == order_id)
        row = self._one(query.with_for_update() if for_update else query, conn)
        return Order.model_validate(row) if row is not None else None

    def product(self, product_id: str, conn: Connection | None = None) -> StoreProduct | None:
        row = self._one(select(products_table.c.data).where(products_table.c.product_id == product_id), conn)
        return StoreProduct.model_validate(row) if row is not None else None

    def orders_by_id(self, order_ids: Iterable[str]) -> dict[str, Order]:
        """Several orders in one query (the ones that exist)."""
        query = select(orders_table.c.order_id, orders_table.c.data).where(orders_table.c.order_id.in_(list(order_ids)))
        with self.engine.connect() as conn:
            return {order_id: Order.model_validate(data) for order_id, data in conn.execute(query)}

    def products_by_id(self, product_ids: Iterable[str]) -> dict[str, StoreProduct]:
        """Several product types in one query (the ones that exist)."""
        table = products_table
        query = select(table.c.product_id, table.c.data).where(table.c.product_id.in_(list(product_ids)))
        with self.engine.connect() as conn:
            return {product_id: StoreProduct.model_validate(data) for product_id, data in conn.execute(query)}

    def user_id_by_email(self, email: str) -> str | None:
        query = select(users_table.c.user_id).where(func.lower(users_table.c.email) == email.strip().lower())
        return self._one(query)

    def user_ids_by_name(self, first_name: str, last_name: str) -> list[str]:
        query = select(users_table.c.user_id).where(
            func.lower(users_table.c.first_name) == first_name.strip().lower(),
            func.lower(users_table.c.last_name) == last_name.strip().lower(),
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def user_id_by_name_zip(self, first_name: str, last_name: str, zip_code: str) -> str | None:
        query = select(users_table.c.user_id).where(
            func.lower(users_table.c.first_name) == first_name.strip().lower(),
            func.lower(users_table.c.last_name) == last_name.strip().lower(),
            users_table.c.zip == zip_code.strip(),
        )
        return self._one(query)

    def product_types(self) -> dict[str, str]:
        """Product type name -> product id."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(products_table.c.name, products_table.c.product_id).order_by("name"))
            return {name: product_id for name, product_id in rows}

    def products(self) -> list[StoreProduct]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(products_table.c.data).order_by(products_table.c.product_id))
            return [StoreProduct.model_validate(row[0]) for row in rows]

    def policy(self) -> str | None:
        return self._one(select(policy_table.c.text).where(policy_table.c.id == 1))

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in (("users", users_table), ("orders", orders_table), ("products", products_table))
            }

    def audit_log(self, target: str | None = None, limit: int = 100) -> list[AuditEntry]:
        query = select(audit_table).order_by(audit_table.c.id.desc()).limit(limit)
        if target is not None:
            query = query.where(audit_table.c.target == target)
        with self.engine.connect() as conn:
            return [
                AuditEntry(
                    id=row.id,
                    at=row.at.isoformat(),
                    actor=row.actor,
                    action=row.action,
                    target=row.target,
                    arguments=row.arguments,
                    before=row.before,
                    after=row.after,
                )
                for row in conn.execute(query)
            ]

    # --- writes (callers pass the connection of their transaction) --------------------------------------------
    def put_user(self, user: User, conn: Connection) -> None:
        values = {
            "email": user.email,
            "first_name": user.name.first_name,
            "last_name": user.name.last_name,
            "zip": user.address.zip,
            "data": _dump(user),
        }
        self._upsert(conn, users_table, users_table.c.user_id, user.user_id, values)

    def put_order(self, order: Order, conn: Connection) -> None:
        values = {"user_id": order.user_id, "status": order.status, "data": _dump(order)}
        self._upsert(conn, orders_table, orders_table.c.order_id, order.order_id, values)

    def put_product(self, product: StoreProduct, conn: Connection) -> None:
        values = {"name": product.name, "data": _dump(product)}
        self._upsert(conn, products_table, products_table.c.product_id, product.product_id, values)

    def put_policy(self, text: str, conn: Connection) -> None:
        conn.execute(delete(policy_table))
        conn.execute(insert(policy_table).values(id=1, text=text, updated_at=datetime.now(UTC)))

    def audit(
        self,
        conn: Connection,
        *,
        actor: str,
        action: str,
        target: str,
        arguments: dict[str, Any],
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> int:
        """Records one change; returns the entry's id."""
        result = conn.execute(
            insert(audit_table).values(
                at=datetime.now(UTC),
                actor=actor,
                action=action,
                target=target,
                arguments=json.loads(json.dumps(arguments, default=str)),
                before=before,
                after=after,
            )
        )
        return int(result.inserted_primary_key[0])

    # --- helpers -----------------------------------------------------------------------------------------------
    def _one(self, query: Any, conn: Connection | None = None) -> Any:
        if conn is not None:
            return conn.execute(query).scalar_one_or_none()
        with self.engine.connect() as own:
            return own.execute(query).scalar_one_or_none()

    @staticmethod
    def _upsert(conn: Connection, table: Table, key: Column[Any], key_value: str, values: dict[str, Any]) -> None:
        # Update-then-insert is portable across SQLite and PostgreSQL without dialect-specific upserts.
        result = conn.execute(update(table).where(key == key_value).values(**values))
        if result.rowcount == 0:
            conn.execute(insert(table).values({key.name: key_value, **values}))
