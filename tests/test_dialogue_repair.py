"""The dialogue manager on the real retail store (SQLite) and engine, `--llm none`: no question is asked a third time
in the same words, "no" keeps the errand open, "never mind" ends it, corrections re-propose, side questions are
answered and the errand resumes, errands asked for together are done one after the other, and limits are said
before the customer chooses. English and Chinese."""

from __future__ import annotations

from pathlib import Path

from assistant.dialogue.commands import StartErrand, Understanding
from assistant.dialogue.handlers.base import Turn
from assistant.dialogue.intents import Intent, Routed
from assistant.dialogue.slots import extract
from assistant.sessions import DialogueState
from tests.dialogue_helpers import none_runtime, talk


def test_an_unanswered_question_is_rephrased_then_a_person_is_offered_then_taken(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    before = runtime.store.db.order("#W8770097")
    asked, again, offer, transfer = talk(
        runtime,
        "Please change the shipping address of order #W8770097, my email is ivan.santos3158@example.com",
        "hmm I'm not sure",
        "what?",
        "I really don't know",
    )
    assert "full new address" in asked.reply
    # Rephrased with the choices the store knows of: the default address, another order's.
    assert "full new address" not in again.reply and "'my default address' (477 Park Avenue" in again.reply
    assert "connect you with a person" in offer.reply and not offer.handoff
    assert len({asked.reply, again.reply, offer.reply}) == 3
    assert transfer.handoff and [(a.name, a.status) for a in transfer.actions] == [("transfer_to_human_agents", "done")]
    assert runtime.store.db.order("#W8770097") == before


def test_yes_to_the_offer_of_a_person_hands_off_and_changes_nothing(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    proposed, _, offer, yes = talk(
        runtime, "cancel order #W2079779, I ordered it by mistake. amelia.patel6926@example.com", "hmm", "hmm", "yes"
    )
    assert proposed.actions[0].status == "proposed" and "connect you with a person" in offer.reply
    assert yes.handoff and [(a.name, a.status) for a in yes.actions] == [("transfer_to_human_agents", "done")]
    assert runtime.store.db.order("#W2079779").status == "pending"


def test_a_refusal_asked_again_is_said_differently_then_a_person_is_offered(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    replies = talk(
        runtime,
        "cancel order #W3400144, I ordered it by mistake. yara.li6570@example.com",
        "but I want to cancel order #W3400144, ordered by mistake",
        "cancel #W3400144 please, it was a mistake",
    )
    assert [a.status for r in replies[:2] for a in r.actions] == ["refused", "refused"]
    assert "As I said" in replies[1].reply and "Shall I connect you with a person" in replies[2].reply
    assert len({r.reply for r in replies}) == 3
    [zh, again] = talk(
        runtime, "取消订单 #W4277243，买错了，邮箱 isabella.sanchez6218@example.com", "我就是要取消订单 #W4277243"
    )
    assert "无法办理" in zh.reply and "如前所述" in again.reply


def test_chinese_questions_never_come_back_word_for_word(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    replies = [r.reply for r in talk(runtime, "我要取消订单 #W2493472，邮箱 ivan.kim1689@example.com", "嗯", "这个嘛")]
    assert "不再需要" in replies[0] and "选择一个原因" in replies[1] and "转接人工客服" in replies[2]
    assert len(set(replies)) == 3


def test_no_keeps_the_errand_open_and_a_correction_reproposes(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    proposed, denied, corrected, done = talk(
        runtime,
        "I'd like to return the Smartphone from order #W2693718, email harper.brown3965@example.com",
        "no",
        "sorry, I meant the puzzle, not the phone",
        "yes",
    )
    order = runtime.store.db.order("#W2693718")
    phone = next(i.item_id for i in order.items if i.name == "Smartphone")
    puzzle = next(i.item_id for i in order.items if i.name == "Jigsaw Puzzle")
    assert proposed.actions[0].arguments["item_ids"] == [phone]
    assert not denied.actions and "haven't changed" in denied.reply and "What should be different" in denied.reply
    [again] = corrected.actions
    assert again.status == "proposed" and again.arguments["item_ids"] == [puzzle]
    assert [(a.name, a.status) for a in done.actions] == [("return_delivered_order_items", "done")]
    assert runtime.store.db.order("#W2693718").return_items == [puzzle]


def test_never_mind_ends_the_errand_and_clears_its_details(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    proposed, dropped, after = talk(
        runtime, "取消订单 #W8557584，买错了，邮箱 omar.kim8981@example.com", "算了", "是的"
    )
    assert proposed.actions[0].status == "proposed"
    assert "已放弃这个请求" in dropped.reply and not dropped.actions
    state = runtime.sessions.load_or_create(dropped.session_id, None).state
    assert state.pending_action is None and state.pending_intent is None and state.open_question is None
    assert "reason" not in state.slots and "request_text" not in state.slots
    assert not any(a.status == "done" for a in after.actions)
    assert runtime.store.db.order("#W8557584").status == "pending"


def test_two_cancellations_in_one_message_are_done_one_after_the_other(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    chat = runtime.dialogue.chat
    first = chat("cancel orders #W5183325 and #W3913498, I ordered them by mistake. ivan.santos3158@example.com")
    assert [(a.name, a.status, a.arguments["order_id"]) for a in first.actions] == [
        ("cancel_pending_order", "proposed", "#W5183325")
    ]
    assert "After this: cancel order #W3913498" in first.reply
    second = chat("yes", session_id=first.session_id)
    assert runtime.store.db.order("#W3913498").status == "pending"  # the second waits for its own yes
    third = chat("yes", session_id=first.session_id)
    assert [(a.status, a.arguments["order_id"]) for a in second.actions] == [
        ("done", "#W5183325"),
        ("proposed", "#W3913498"),
    ]
    assert [(a.status, a.arguments["order_id"]) for a in third.actions] == [("done", "#W3913498")]
    assert {runtime.store.db.order(o).status for o in ("#W5183325", "#W3913498")} == {"cancelled"}


def test_typed_commands_queue_a_return_and_an_exchange(retail_data_dir: Path) -> None:
    """Two errands of two kinds from one message, as the understanding gives them: one store action each."""
    runtime = none_runtime(retail_data_dir)
    session = runtime.sessions.load_or_create(None, None)
    text = (
        "return the Tea Kettle of #W9710999 and exchange the Bluetooth Speaker of #W6564160, liam.lee9297@example.com"
    )
    understanding = Understanding(
        commands=[
            StartErrand(errand="return", order_id="#W9710999", items=["Tea Kettle"]),
            StartErrand(errand="exchange", order_id="#W6564160", items=["Bluetooth Speaker"]),
        ]
    )
    turn = Turn(
        text=text,
        redacted=text,
        language="en",
        session=session,
        routed=Routed(Intent.RETURN, 1.0, ()),
        slots=extract(text),
        understanding=understanding,
    )
    draft = runtime.dialogue.handlers[Intent.RETURN].handle(turn)
    [proposed] = draft.actions
    kettle = next(i.item_id for i in runtime.store.db.order("#W9710999").items if i.name == "Tea Kettle")
    assert proposed.name == "return_delivered_order_items" and proposed.arguments["item_ids"] == [kettle]
    assert "After this: exchange items of order #W6564160" in draft.reply
    assert [q.errand for q in session.state.agenda] == ["exchange"]


def test_a_side_question_is_answered_and_the_errand_resumes(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    proposed, side, done = talk(
        runtime,
        "I want to return the Garden Hose from order #W6893533, email ivan.santos3158@example.com",
        "before I confirm, can you tell me the status of my other order #W8770097?",
        "yes",
    )
    assert proposed.actions[0].status == "proposed"
    assert [(a.name, a.status) for a in side.actions] == [("get_order_details", "done")]
    assert "Office Chair" in side.reply and "Back to your request" in side.reply
    assert [(a.name, a.status) for a in done.actions] == [("return_delivered_order_items", "done")]


def test_a_digression_is_answered_and_the_question_repeated_once_briefly(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    _, search = talk(
        runtime,
        "修改订单 #W7111824 的收货地址，邮箱 omar.kim8981@example.com",
        "有没有蓝牙耳机",
    )
    assert search.products and search.reply.endswith("回到您的请求：新地址是什么？")


def test_limits_are_said_before_the_customer_chooses(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    [en] = talk(runtime, "I want to exchange an item from order #W1504875, email ava.nguyen3664@example.com")
    assert "list everything you want to exchange now" in en.reply and "Which items" in en.reply
    [zh] = talk(runtime, "我想修改订单 #W7752859 的商品，邮箱 mason.lopez8921@example.com")
    assert "只能修改一次" in zh.reply


def test_the_default_address_or_another_orders_fills_the_address(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    _, default = talk(
        runtime,
        "change the shipping address of order #W1302858, email yusuf.ahmed5476@example.com",
        "use my default address",
    )
    assert default.actions[0].arguments["address1"] == "409 Elm Street"
    _, other = talk(
        runtime,
        "change the shipping address of order #W2040365, fatima.muller6448@example.com",
        "ship it to the same address as order #W6851636",
    )
    assert other.actions[0].arguments["order_id"] == "#W2040365"
    assert other.actions[0].arguments["address1"] == "377 River Road"


def test_an_order_is_found_by_what_is_in_it(retail_data_dir: Path) -> None:
    runtime = none_runtime(retail_data_dir)
    [found] = talk(
        runtime, "cancel the order with the Running Shoes, I no longer need it. fatima.muller6448@example.com"
    )
    assert found.actions[0].arguments["order_id"] == "#W6851636"


def test_sessions_saved_before_the_agenda_still_load() -> None:
    old = '{"language": "en", "slots": {"order_id": "#W1"}, "pending_intent": "cancel"}'
    state = DialogueState.model_validate_json(old)
    assert state.agenda == [] and state.asked == {} and state.open_question is None


def test_no_open_question_makes_a_loop(retail_data_dir: Path) -> None:
    """Whatever the question waiting (identity, order, reason, items, options, address, a yes), six messages that
    answer nothing never get the same reply three times in a row, and nothing in the store changes."""
    runtime = none_runtime(retail_data_dir)
    openers = [
        "I want to return something",
        "I want to cancel an order, email olivia.jackson2465@example.com",
        "cancel order #W5663445, email olivia.jackson2465@example.com",
        "return some items of order #W3895186, email olivia.jackson2465@example.com",
        "exchange the Smart Watch of order #W3895186, email olivia.jackson2465@example.com",
        "change the address of order #W2090453, email olivia.jackson2465@example.com",
        "cancel order #W6116680, ordered by mistake, email olivia.jackson2465@example.com",
        "我要取消订单 #W6975922，邮箱 olivia.jackson2465@example.com",
    ]
    before = {o: runtime.store.db.order(o) for o in ("#W5663445", "#W3895186", "#W2090453", "#W6116680", "#W6975922")}
    for opener in openers:
        replies = [r.reply for r in talk(runtime, opener, *["hmm"] * 6)]
        for n in range(len(replies) - 2):
            assert len(set(replies[n : n + 3])) > 1, (opener, replies[n])
    assert {o: runtime.store.db.order(o) for o in before} == before
