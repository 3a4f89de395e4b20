"""The store on PostgreSQL (the scale-out database): same tools and policy, row locks under concurrent changes."""

from __future__ import annotations

import json

import pytest
from service_engines import Engines
from store_helpers import confirm_twice_at_once

from assistant.db import make_engine
from assistant.store import PolicyError, StoreDB, StoreTools, import_store
from assistant.store.loading import SAMPLE_STORE_DIR

pytestmark = pytest.mark.services


@pytest.fixture()
def tools(engines: Engines) -> StoreTools:
    db = StoreDB(make_engine(engines.database_url))
    result = import_store(db, SAMPLE_STORE_DIR)
    assert (result.users, result.orders, result.products, result.rejected) == (8, 20, 40, [])
    return StoreTools(db)


def _pending_order() -> dict:
    orders = json.loads((SAMPLE_STORE_DIR / "orders.json").read_text())
    return next(o for o in orders.values() if o["status"] == "pending")


def test_tools_policy_and_audit_on_postgres(tools: StoreTools) -> None:
    order = _pending_order()
    assert import_store(tools.db, SAMPLE_STORE_DIR).orders == 20  # idempotent upserts
    assert tools.db.counts() == {"users": 8, "orders": 20, "products": 40}
    stranger = next(u for u in json.loads((SAMPLE_STORE_DIR / "users.json").read_text()) if u != order["user_id"])
    with pytest.raises(PolicyError) as info:
        tools.get_order_details(order["order_id"], acting_user=stranger)
    assert info.value.code == "not_your_order"
    user = tools.db.user(order["user_id"])
    assert user is not None and tools.find_user_id_by_email(user.email.upper()) == user.user_id
    tools.execute(
        tools.propose(
            "cancel_pending_order", {"order_id": order["order_id"], "reason": "no longer needed"}, user.user_id
        )
    )
    entry = tools.db.audit_log(target=order["order_id"])[0]
    assert entry.before["order"]["status"] == "pending" and entry.after["order"]["status"] == "cancelled"


def test_concurrent_confirmations_apply_once(tools: StoreTools) -> None:
    """Two workers executing the same confirmed cancellation: the row lock lets one through, the other sees the
    order already cancelled; the payment is refunded once."""
    order = _pending_order()
    proposal = tools.propose(
        "cancel_pending_order", {"order_id": order["order_id"], "reason": "ordered by mistake"}, order["user_id"]
    )
    assert confirm_twice_at_once(tools, proposal) == ["done", "invalid_status"]
    stored = tools.db.order(order["order_id"])
    assert stored is not None and [t.transaction_type for t in stored.payment_history] == ["payment", "refund"]
    assert len(tools.db.audit_log(target=order["order_id"])) == 1
