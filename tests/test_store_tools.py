"""Store tools over the real retail store (../shared/data/retail-store): identity, ownership, each action and its
policy refusals, the propose/execute split, the audit log and transactional safety."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from store_helpers import confirm_twice_at_once, refused

from assistant.db import make_engine
from assistant.store import StoreDB, StoreTools, import_store
from assistant.store.models import Address, Order

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def store_template(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real retail store imported once into a SQLite file; each test works on its own copy."""
    path = tmp_path_factory.mktemp("store") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    result = import_store(StoreDB(engine), shared_data / "retail-store")
    assert (result.users, result.orders, result.products, result.policy) == (500, 1000, 50, True)
    assert result.rejected == []
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture()
def db_path(store_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    shutil.copy(store_template, path)
    return path


@pytest.fixture()
def tools(db_path: Path) -> StoreTools:
    return StoreTools(StoreDB(make_engine(f"sqlite:///{db_path}")))


def find_order(tools: StoreTools, test: Callable[[Order], bool]) -> Order:
    with tools.db.engine.connect() as conn:
        ids = [row[0] for row in conn.exec_driver_sql("SELECT order_id FROM store_orders ORDER BY order_id")]
    for order_id in ids:
        order = tools.db.order(order_id)
        assert order is not None
        if test(order):
            return order
    raise AssertionError("no order in the store matches")


def test_import_is_idempotent(tools: StoreTools, shared_data: Path) -> None:
    before = tools.db.counts()
    again = import_store(tools.db, shared_data / "retail-store")
    assert (again.users, again.orders, again.products) == (500, 1000, 50)
    assert tools.db.counts() == before == {"users": 500, "orders": 1000, "products": 50}
    assert "Cancel pending order" in (tools.db.policy() or "")


def test_bad_records_are_reported_and_the_rest_imported(tmp_path: Path, shared_data: Path) -> None:
    source = shared_data / "retail-store"
    folder = tmp_path / "store"
    folder.mkdir()
    users = json.loads((source / "users.json").read_text())
    first = next(iter(users))
    users[first]["address"].pop("zip")
    (folder / "users.json").write_text(json.dumps(users))
    orders = json.loads((source / "orders.json").read_text())
    orders["#BROKEN"] = {"order_id": "#BROKEN", "status": "lost"}
    (folder / "orders.json").write_text(json.dumps(orders))
    shutil.copy(source / "products.json", folder / "products.json")
    db = StoreDB(make_engine(f"sqlite:///{tmp_path / 'c.db'}"))
    result = import_store(db, folder)
    assert (result.users, result.orders, result.products, result.policy) == (499, 1000, 50, False)
    rejected = {(r.file, r.row, r.id) for r in result.rejected}
    assert rejected == {("users.json", 1, first), ("orders.json", 1001, "#BROKEN")}
    assert "zip" in result.rejected[0].error


def test_identity_lookup(tools: StoreTools) -> None:
    assert tools.find_user_id_by_email("Noah.Brown7922@example.com ") == "noah_brown_6181"
    assert tools.find_user_id_by_name_zip("noah", "Brown", "80279") == "noah_brown_6181"
    refused("user_not_found", lambda: tools.find_user_id_by_email("nobody@example.com"))
    refused("user_not_found", lambda: tools.find_user_id_by_name_zip("Noah", "Brown", "00000"))


def test_orders_need_verified_identity_and_ownership(tools: StoreTools) -> None:
    refused("identity_required", lambda: tools.get_order_details("#W2611340", acting_user=None))
    other = refused("not_your_order", lambda: tools.get_order_details("#W2611340", acting_user="noah_brown_6181"))
    missing = refused("order_not_found", lambda: tools.get_order_details("#W0000000", acting_user="noah_brown_6181"))
    # Someone else's order is refused in the same words as a missing one: its existence is not revealed.
    assert other.message.replace("#W2611340", "X") == missing.message.replace("#W0000000", "X")
    assert tools.get_order_details("#W2611340", acting_user="james_li_5688").status == "processed"
    refused("not_your_account", lambda: tools.get_user_details("james_li_5688", acting_user="noah_brown_6181"))
    assert tools.get_user_details("noah_brown_6181", acting_user="noah_brown_6181").email.startswith("noah")
    refused(
        "not_your_order",
        lambda: tools.propose(
            "cancel_pending_order", {"order_id": "#W2611340", "reason": "no longer needed"}, "noah_brown_6181"
        ),
    )
    refused(
        "identity_required",
        lambda: tools.propose("cancel_pending_order", {"order_id": "#W2611340", "reason": "no longer needed"}, None),
    )


def test_products_are_public(tools: StoreTools) -> None:
    product = tools.get_product_details("8310926033")
    assert product.name == "Water Bottle" and "6469567736" in product.variants
    assert tools.list_all_product_types()["Water Bottle"] == "8310926033"
    refused("product_not_found", lambda: tools.get_product_details("nope"))


def test_proposal_changes_nothing_and_execute_rechecks(tools: StoreTools) -> None:
    order = find_order(tools, lambda o: o.status == "pending")
    proposal = tools.propose(
        "cancel_pending_order", {"order_id": order.order_id, "reason": "ordered by mistake"}, order.user_id
    )
    assert order.order_id in proposal.summary and "ordered by mistake" in proposal.summary
    assert proposal.details["refund"] == pytest.approx(order.total)
    assert tools.db.order(order.order_id).status == "pending"
    assert tools.db.audit_log(target=order.order_id) == []
    # The proposal survives a round trip through a session store.
    restored = type(proposal).model_validate_json(proposal.model_dump_json())
    assert tools.execute(restored).order.status == "cancelled"
    # A stale proposal is checked again: the order is no longer pending.
    refused("invalid_status", lambda: tools.execute(proposal))
    assert len(tools.db.audit_log(target=order.order_id)) == 1


def test_cancel_refunds_gift_card_at_once(tools: StoreTools) -> None:
    order = find_order(
        tools, lambda o: o.status == "pending" and o.payment_history[0].payment_method_id.startswith("gift_card")
    )
    card = order.payment_history[0].payment_method_id
    balance = tools.db.user(order.user_id).payment_methods[card].balance
    refused(
        "invalid_reason",
        lambda: tools.cancel_pending_order(order.order_id, "found it cheaper", acting_user=order.user_id),
    )
    result = tools.cancel_pending_order(order.order_id, "no longer needed", acting_user=order.user_id)
    stored = tools.db.order(order.order_id)
    assert result.order == stored and stored.status == "cancelled" and stored.cancel_reason == "no longer needed"
    assert stored.payment_history[-1].transaction_type == "refund"
    assert tools.db.user(order.user_id).payment_methods[card].balance == pytest.approx(round(balance + order.total, 2))


def test_only_pending_orders_are_cancelled_or_modified(tools: StoreTools) -> None:
    order = find_order(tools, lambda o: o.status == "delivered")
    user = order.user_id
    refused("invalid_status", lambda: tools.cancel_pending_order(order.order_id, "no longer needed", acting_user=user))
    refused(
        "invalid_status",
        lambda: tools.modify_pending_order_address(order.order_id, order.address, acting_user=user),
    )
    pending = find_order(tools, lambda o: o.status == "pending")
    refused(
        "invalid_status",
        lambda: tools.return_delivered_order_items(
            pending.order_id,
            [pending.items[0].item_id],
            pending.payment_history[0].payment_method_id,
            acting_user=pending.user_id,
        ),
    )


def _other_variant(tools: StoreTools, order: Order, index: int = 0, available: bool = True) -> str:
    item = order.items[index]
    product = tools.get_product_details(item.product_id)
    return next(v.item_id for v in product.variants.values() if v.item_id != item.item_id and v.available == available)


def test_modify_items_once_with_price_difference(tools: StoreTools) -> None:
    order = find_order(
        tools,
        lambda o: o.status == "pending" and not o.payment_history[0].payment_method_id.startswith("gift_card"),
    )
    user, item = order.user_id, order.items[0]
    payment = order.payment_history[0].payment_method_id
    refused(
        "item_unavailable",
        lambda: tools.modify_pending_order_items(
            order.order_id, [item.item_id], [_other_variant(tools, order, available=False)], payment, acting_user=user
        ),
    )
    other_product = next(
        v for p in tools.db.products() if p.product_id != item.product_id for v in p.variants.values() if v.available
    )
    refused(
        "product_mismatch",
        lambda: tools.modify_pending_order_items(
            order.order_id, [item.item_id], [other_product.item_id], payment, acting_user=user
        ),
    )
    refused(
        "item_not_in_order",
        lambda: tools.modify_pending_order_items(order.order_id, ["123"], [item.item_id], payment, acting_user=user),
    )
    new_id = _other_variant(tools, order)
    new_price = tools.get_product_details(item.product_id).variants[new_id].price
    result = tools.modify_pending_order_items(order.order_id, [item.item_id], [new_id], payment, acting_user=user)
    stored = tools.db.order(order.order_id)
    assert stored.status == "pending (item modified)" and stored.items[0].item_id == new_id
    last = stored.payment_history[-1]
    assert last.amount == pytest.approx(abs(round(new_price - item.price, 2)))
    assert last.transaction_type == ("payment" if new_price > item.price else "refund")
    assert result.order == stored
    # Items change once; afterwards the order can be neither modified nor cancelled.
    refused("invalid_status", lambda: tools.cancel_pending_order(order.order_id, "no longer needed", acting_user=user))


def test_gift_card_must_cover_the_difference(tools: StoreTools) -> None:
    def poor_card_user(o: Order) -> bool:
        if o.status != "pending":
            return False
        cards = [m for m in tools.db.user(o.user_id).payment_methods.values() if m.source == "gift_card"]
        return bool(cards) and min(c.balance or 0 for c in cards) < 20

    order = find_order(tools, poor_card_user)
    card = min(
        (m for m in tools.db.user(order.user_id).payment_methods.values() if m.source == "gift_card"),
        key=lambda m: m.balance or 0,
    )
    product = tools.get_product_details(order.items[0].product_id)
    pricier = [
        v.item_id for v in product.variants.values() if v.available and v.price > order.items[0].price + card.balance
    ]
    if not pricier:
        pytest.skip("no variant expensive enough in this order")
    refused(
        "insufficient_balance",
        lambda: tools.modify_pending_order_items(
            order.order_id, [order.items[0].item_id], [pricier[0]], card.id, acting_user=order.user_id
        ),
    )


def test_modify_address_and_payment(tools: StoreTools) -> None:
    order = find_order(
        tools,
        lambda o: o.status == "pending" and len(tools.db.user(o.user_id).payment_methods) > 1,
    )
    user = tools.db.user(order.user_id)
    new_address = Address(address1="1 Main Street", city="Austin", state="TX", country="USA", zip="73301")
    tools.modify_pending_order_address(order.order_id, new_address, acting_user=user.user_id)
    assert tools.db.order(order.order_id).address == new_address
    current = order.payment_history[0].payment_method_id
    refused(
        "payment_method_not_allowed",
        lambda: tools.modify_pending_order_payment(order.order_id, current, acting_user=user.user_id),
    )
    refused(
        "payment_method_not_found",
        lambda: tools.modify_pending_order_payment(order.order_id, "paypal_0", acting_user=user.user_id),
    )
    other = next(
        m
        for m in user.payment_methods.values()
        if m.id != current and (m.source != "gift_card" or (m.balance or 0) >= order.total)
    )
    tools.modify_pending_order_payment(order.order_id, other.id, acting_user=user.user_id)
    history = tools.db.order(order.order_id).payment_history
    assert [(t.transaction_type, t.payment_method_id) for t in history[1:]] == [
        ("payment", other.id),
        ("refund", current),
    ]
    refused(
        "payment_method_not_allowed",
        lambda: tools.modify_pending_order_payment(order.order_id, current, acting_user=user.user_id),
    )
    # Cancelling now refunds only what is still paid: the new method, once.
    cancelled = tools.cancel_pending_order(order.order_id, "no longer needed", acting_user=user.user_id).order
    assert [(t.transaction_type, t.payment_method_id, t.amount) for t in cancelled.payment_history[3:]] == [
        ("refund", other.id, history[0].amount)
    ]


def test_modify_user_address_only_own(tools: StoreTools) -> None:
    address = Address(address1="2 Elm Road", address2="", city="Boise", state="ID", country="USA", zip="83702")
    refused(
        "not_your_account", lambda: tools.modify_user_address("james_li_5688", address, acting_user="noah_brown_6181")
    )
    tools.modify_user_address("noah_brown_6181", address, acting_user="noah_brown_6181")
    assert tools.db.user("noah_brown_6181").address == address
    assert tools.find_user_id_by_name_zip("Noah", "Brown", "83702") == "noah_brown_6181"


def test_return_refund_target_rules(tools: StoreTools) -> None:
    def candidate(o: Order) -> bool:
        if o.status != "delivered" or o.payment_history[0].payment_method_id.startswith("gift_card"):
            return False
        methods = tools.db.user(o.user_id).payment_methods.values()
        return any(m.source != "gift_card" and m.id != o.payment_history[0].payment_method_id for m in methods)

    order = find_order(tools, candidate)
    user = tools.db.user(order.user_id)
    original = order.payment_history[0].payment_method_id
    wrong = next(m.id for m in user.payment_methods.values() if m.source != "gift_card" and m.id != original)
    items = [order.items[0].item_id]
    refused(
        "payment_method_not_allowed",
        lambda: tools.return_delivered_order_items(order.order_id, items, wrong, acting_user=user.user_id),
    )
    proposal = tools.propose(
        "return_delivered_order_items",
        {"order_id": order.order_id, "item_ids": items, "payment_method_id": original},
        user.user_id,
    )
    assert proposal.details["refund"] == pytest.approx(order.items[0].price)
    stored = tools.execute(proposal).order
    assert stored.status == "return requested" and stored.return_items == items
    assert stored.return_payment_method_id == original


def test_exchange_delivered_items(tools: StoreTools) -> None:
    order = find_order(
        tools,
        lambda o: o.status == "delivered" and not o.payment_history[0].payment_method_id.startswith("gift_card"),
    )
    item = order.items[0]
    payment = order.payment_history[0].payment_method_id
    new_id = _other_variant(tools, order)
    result = tools.exchange_delivered_order_items(
        order.order_id, [item.item_id], [new_id], payment, acting_user=order.user_id
    )
    assert result.order.status == "exchange requested"
    assert result.order.exchange_new_items == [new_id]
    new_price = tools.get_product_details(item.product_id).variants[new_id].price
    assert result.order.exchange_price_difference == pytest.approx(round(new_price - item.price, 2))
    refused(
        "invalid_status",
        lambda: tools.exchange_delivered_order_items(
            order.order_id, [item.item_id], [new_id], payment, acting_user=order.user_id
        ),
    )



def test_an_item_may_be_replaced_by_a_new_unit_of_itself(tools: StoreTools) -> None:
    """A replacement (a new unit of the same available item) is an exchange with no price difference."""
    order = find_order(
        tools,
        lambda o: o.status == "delivered"
        and any(tools.get_product_details(i.product_id).variants[i.item_id].available for i in o.items),
    )
    item = next(i for i in order.items if tools.get_product_details(i.product_id).variants[i.item_id].available)
    payment = order.payment_history[0].payment_method_id
    result = tools.exchange_delivered_order_items(
        order.order_id, [item.item_id], [item.item_id], payment, acting_user=order.user_id
    )
    assert result.order.status == "exchange requested"
    assert result.order.exchange_new_items == [item.item_id]
    assert result.order.exchange_price_difference == 0


def test_invalid_arguments_and_unknown_action(tools: StoreTools) -> None:
    refused("unknown_action", lambda: tools.propose("refund_everything", {}, "noah_brown_6181"))
    error = refused(
        "invalid_arguments", lambda: tools.propose("cancel_pending_order", {"order_id": "#W7678072"}, "noah_brown_6181")
    )
    assert "reason" in error.message


def test_handoff_and_audit_log(tools: StoreTools) -> None:
    ticket = tools.transfer_to_human_agents("wants a price match", acting_user="noah_brown_6181")
    assert ticket.user_id == "noah_brown_6181" and ticket.ticket_id > 0
    order = find_order(tools, lambda o: o.status == "pending")
    tools.cancel_pending_order(order.order_id, "no longer needed", acting_user=order.user_id)
    entry = tools.db.audit_log(target=order.order_id)[0]
    assert (entry.actor, entry.action) == (order.user_id, "cancel_pending_order")
    assert entry.arguments == {"order_id": order.order_id, "reason": "no longer needed"}
    assert entry.before["order"]["status"] == "pending" and entry.after["order"]["status"] == "cancelled"
    assert [e.action for e in tools.db.audit_log(limit=2)] == ["cancel_pending_order", "transfer_to_human_agents"]


def test_expected_actions_of_dev_tasks_all_pass_policy(store_template: Path, shared_data: Path, tmp_path: Path) -> None:
    """Every expected action in tasks_dev.json is allowed for its task's user, each task on a fresh store: the
    policy in code agrees with tau-bench's."""
    tasks = json.loads((shared_data / "retail-store" / "tasks_dev.json").read_text())
    done = 0
    for number, task in enumerate(tasks):
        path = tmp_path / f"task{number}.db"
        shutil.copy(store_template, path)
        tools = StoreTools(StoreDB(make_engine(f"sqlite:///{path}")))
        for action in task["actions"]:
            if action["name"] in StoreTools.ACTIONS:
                tools.execute(tools.propose(action["name"], action["kwargs"], task["user_id"]))
                done += 1
        tools.db.engine.dispose()
    assert done >= 20


KILL_MID_TRANSACTION = textwrap.dedent(
    """
    import os, signal, sys
    from sqlalchemy import event
    from assistant.db import make_engine
    from assistant.store import StoreDB, StoreTools
    engine = make_engine(f"sqlite:///{sys.argv[1]}")
    tools = StoreTools(StoreDB(engine))
    # Die the moment the transaction is about to commit: order and audit row are written but not committed.
    event.listen(engine, "commit", lambda conn: os.kill(os.getpid(), signal.SIGKILL))
    tools.cancel_pending_order(sys.argv[2], "no longer needed", acting_user=sys.argv[3])
    """
)


def test_sigkill_mid_change_leaves_nothing_half_done(tools: StoreTools, db_path: Path) -> None:
    order = find_order(
        tools, lambda o: o.status == "pending" and o.payment_history[0].payment_method_id.startswith("gift_card")
    )
    user_before = tools.db.user(order.user_id)
    proc = subprocess.run(
        [sys.executable, "-c", KILL_MID_TRANSACTION, str(db_path), order.order_id, order.user_id],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    reopened = StoreDB(make_engine(f"sqlite:///{db_path}"))
    assert reopened.order(order.order_id) == order
    assert reopened.user(order.user_id) == user_before
    assert reopened.audit_log(target=order.order_id) == []
    # And the store still works: the same change now goes through whole.
    StoreTools(reopened).cancel_pending_order(order.order_id, "no longer needed", acting_user=order.user_id)
    assert reopened.order(order.order_id).status == "cancelled"


def test_concurrent_confirmations_apply_once(tools: StoreTools) -> None:
    """The same confirmed change executed by two threads at once (a double-clicked "yes"): one applies it, the
    other finds the order already changed. Ten orders, since a race shows only sometimes."""
    with tools.db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT order_id, user_id FROM store_orders WHERE status = 'pending' LIMIT 10")
        pending = list(rows)
    for order_id, user_id in pending:
        proposal = tools.propose("cancel_pending_order", {"order_id": order_id, "reason": "no longer needed"}, user_id)
        assert confirm_twice_at_once(tools, proposal) == ["done", "invalid_status"]
        assert len(tools.db.audit_log(target=order_id)) == 1
