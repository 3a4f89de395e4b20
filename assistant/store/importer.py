"""Loads a store in the retail-store folder format (`users.json`, `orders.json`, `products.json`, `policy.md`).

Records are upserted by id, so importing the same folder again changes nothing. A record that does not validate
is reported with its file, position and id, and the rest goes in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import Connection

from assistant.store.db import StoreDB
from assistant.store.models import Order, StoreProduct, User

STORE_FILES = ("users.json", "orders.json", "products.json")


class RejectedRecord(BaseModel):
    file: str
    row: int
    id: str
    error: str


class StoreImportResult(BaseModel):
    users: int = 0
    orders: int = 0
    products: int = 0
    policy: bool = False
    rejected: list[RejectedRecord] = Field(default_factory=list)


class StoreFormatError(ValueError):
    """The folder is not a retail-store folder (missing or unreadable files)."""


def _read_records(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreFormatError(f"{path.name}: cannot read JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise StoreFormatError(f"{path.name}: expected an object keyed by id")
    return data


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return str(exc)


def import_store(
    db: StoreDB,
    folder: Path,
    *,
    progress: Callable[[str, int], None] | None = None,
) -> StoreImportResult:
    """Imports the folder's users, orders, product types and policy into `db` in one transaction."""
    if not folder.is_dir():
        raise StoreFormatError(f"{folder} is not a folder")
    missing = [name for name in STORE_FILES if not (folder / name).is_file()]
    if missing:
        raise StoreFormatError(f"{folder} lacks {', '.join(missing)} (expected the retail-store folder format)")
    result = StoreImportResult()
    sources = {name: _read_records(folder / name) for name in STORE_FILES}
    with db.transaction() as conn:
        result.products = _load(
            sources["products.json"], "products.json", "product_id", StoreProduct, db.put_product, conn, result
        )
        if progress:
            progress("products", result.products)
        result.users = _load(sources["users.json"], "users.json", "user_id", User, db.put_user, conn, result)
        if progress:
            progress("users", result.users)
        result.orders = _load(sources["orders.json"], "orders.json", "order_id", Order, db.put_order, conn, result)
        if progress:
            progress("orders", result.orders)
        policy = folder / "policy.md"
        if policy.is_file():
            db.put_policy(policy.read_text(encoding="utf-8"), conn)
            result.policy = True
    return result


def _load(
    records: dict[str, dict[str, Any]],
    file: str,
    key: str,
    model: type[User] | type[Order] | type[StoreProduct],
    put: Callable[[Any, Connection], None],
    conn: Connection,
    result: StoreImportResult,
) -> int:
    loaded = 0
    for row, (record_id, record) in enumerate(records.items(), start=1):
        try:
            if not isinstance(record, dict):
                raise ValueError("record is not an object")
            put(model.model_validate({**record, key: record.get(key, record_id)}), conn)
            loaded += 1
        except (ValidationError, ValueError) as exc:
            result.rejected.append(RejectedRecord(file=file, row=row, id=str(record_id), error=_error_text(exc)))
    return loaded
