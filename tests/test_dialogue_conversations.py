"""Real conversations over the real retail store (SQLite) and its catalog (Chroma), with `--llm none`, a model that
stalls (the turn still answers) and a model that streams."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.runtime import Runtime
from assistant.store import PolicyError
from tests.openai_standin import StandInServer


def _runtime(data_dir: Path, llm: str = "none", timeout_s: float = 30.0) -> Runtime:
    return Runtime(Settings(data_dir=data_dir, llm=llm, llm_timeout_s=timeout_s))


def test_confirmation_flow_cancels_only_after_yes(retail_data_dir: Path) -> None:
    runtime = _runtime(retail_data_dir)
    chat = runtime.dialogue.chat
    first = chat("I want to cancel order #W6460787")
    assert first.intent == "cancel" and not first.actions and "verify your identity" in first.reply
    second = chat("emma.brown5032@example.com", session_id=first.session_id)
    assert "ordered by mistake" in second.reply and not second.actions
    third = chat("I ordered it by mistake", session_id=first.session_id)
    [proposed] = third.actions
    assert proposed.status == "proposed" and proposed.arguments == {
        "order_id": "#W6460787",
        "reason": "ordered by mistake",
    }
    assert runtime.store.db.order("#W6460787").status == "pending"  # nothing happens on a proposal
    unclear = chat("hmm, what happens to my money?", session_id=first.session_id)
    assert all(a.status != "done" for a in unclear.actions)
    assert runtime.store.db.order("#W6460787").status == "pending"
    done = chat("yes", session_id=first.session_id)
    assert [(a.name, a.status) for a in done.actions] == [("cancel_pending_order", "done")]
    assert runtime.store.db.order("#W6460787").status == "cancelled"
    assert "cancelled" in done.reply and "$202.13" in done.reply


def test_policy_refusal_carries_the_reason(retail_data_dir: Path) -> None:
    runtime = _runtime(retail_data_dir)
    # A processed order: no errand fits it (a delivered one would be offered a return instead).
    response = runtime.dialogue.chat(
        "cancel order #W3400144 please, email yara.li6570@example.com, I don't need it anymore"
    )
    [refused] = response.actions
    assert refused.name == "cancel_pending_order" and refused.status == "refused"
    assert refused.result["code"] == "invalid_status" and "processed" in refused.result["reason"]
    assert "processed" in response.reply
    assert runtime.store.db.order("#W3400144").status == "processed"


def test_chinese_refusals_give_the_policy_reason_in_chinese(retail_data_dir: Path) -> None:
    runtime = _runtime(retail_data_dir)
    chat = runtime.dialogue.chat
    cancel = chat("取消订单 #W3400144，邮箱 yara.li6570@example.com，不需要了")
    [refused] = cancel.actions
    assert refused.status == "refused" and refused.result["code"] == "invalid_status"
    assert "订单 #W3400144 的状态是" in cancel.reply and "只有待处理（pending）的订单才能取消。" in cancel.reply
    assert refused.result["reason"] in cancel.reply
    assert "only pending" not in cancel.reply and "can be" not in cancel.reply
    other = chat("查询订单 #W6310710 的状态", session_id=cancel.session_id)
    assert [(a.name, a.status) for a in other.actions] == [("get_order_details", "refused")]
    assert "您的账户下没有找到订单 #W6310710" in other.reply and "find" not in other.reply
    # Every policy reason the store can give has its Chinese rendering.
    ascii_only = re.compile(r"^[\x00-\x7f]*$")
    for exc in _policy_errors(runtime):
        assert exc.text("zh") == exc.message_zh and not ascii_only.match(exc.message_zh), exc.code
        assert exc.text("en") == exc.message


def test_chinese_proposals_describe_the_payment_in_chinese(retail_data_dir: Path) -> None:
    response = _runtime(retail_data_dir).dialogue.chat("我要退货，订单 #W6378322，邮箱 raj.anderson6756@example.com")
    [proposed] = response.actions
    assert proposed.status == "proposed" and "退至 礼品卡 gift_card_6662365（余额 $59.00）" in response.reply
    assert "gift card" not in response.reply and "refunded" not in response.reply


def _policy_errors(runtime: Runtime) -> list[PolicyError]:
    """One refusal of each kind the tools raise, provoked through the tools themselves."""
    tools, user = runtime.store, "yara_li_8961"
    attempts = [
        lambda: tools.get_order_details("#W2497857", acting_user=None),
        lambda: tools.get_order_details("#W0000000", acting_user=user),
        lambda: tools.get_order_details("#W6310710", acting_user=user),
        lambda: tools.get_user_details("anya_garcia_3271", acting_user=user),
        lambda: tools.find_user_id_by_email("nobody@example.com"),
        lambda: tools.find_user_id_by_name_zip("No", "Body", "00000"),
        lambda: tools.get_product_details("0"),
        lambda: tools.propose("cancel_pending_order", {"order_id": "#W2497857", "reason": "x"}, user),
        lambda: tools.propose("fly_to_the_moon", {}, user),
        lambda: tools.propose("cancel_pending_order", {}, user),
    ]
    found: list[PolicyError] = []
    for attempt in attempts:
        with pytest.raises(PolicyError) as caught:
            attempt()
        found.append(caught.value)
    return found


def test_another_customers_order_stays_hidden(retail_data_dir: Path) -> None:
    runtime = _runtime(retail_data_dir)
    chat = runtime.dialogue.chat
    before = runtime.store.db.order("#W2497857").model_dump()
    hello = chat("hi, my email is raj.anderson6756@example.com")
    peek = chat("what's the status of order #W2497857?", session_id=hello.session_id)
    assert [(a.name, a.status) for a in peek.actions] == [("get_order_details", "refused")]
    for leaked in ("delivered", "Luggage", "Smart Watch", "yara"):
        assert leaked.lower() not in peek.reply.lower()
    cancel = chat("then cancel #W2497857, no longer needed", session_id=hello.session_id)
    assert all(a.status == "refused" for a in cancel.actions)
    switch = chat("ok I'm yara.li6570@example.com then", session_id=hello.session_id)
    assert [(a.name, a.status) for a in switch.actions] == [("verify_identity", "refused")]
    assert chat("yes", session_id=hello.session_id).actions == []
    assert runtime.store.db.order("#W2497857").model_dump() == before


def test_caller_user_id_still_needs_verification_once_and_binds_the_account(retail_data_dir: Path) -> None:
    """The policy verifies by email or name + zip "even when the user already provides the user id"."""
    runtime = _runtime(retail_data_dir)
    chat = runtime.dialogue.chat
    ask = chat("what's the status of order #W4689314?", user_id="sofia_li_9219")
    assert ask.actions == [] and "verify your identity" in ask.reply and "delivered" not in ask.reply
    own = chat("sofia.li7352@example.com", session_id=ask.session_id, user_id="sofia_li_9219")
    assert [(a.name, a.status) for a in own.actions] == [("get_order_details", "done")]
    assert "delivered" in own.reply
    # Once per session: the next request is served without asking again.
    again = chat("what is the status of order #W8855135?", session_id=ask.session_id, user_id="sofia_li_9219")
    assert [(a.name, a.status) for a in again.actions] == [("get_order_details", "done")]
    other = chat("status of order #W6310710 please", session_id=ask.session_id, user_id="sofia_li_9219")
    assert [(a.name, a.status) for a in other.actions] == [("get_order_details", "refused")]
    assert "processed" not in other.reply

    # Signed in as Daiki, verifying with Anya's email: refused exactly like unknown details.
    signed_in = "daiki_moore_8567"
    first = chat("cancel order #W6310710, I no longer need it", user_id=signed_in)
    claim = chat("anya.garcia2061@example.com", session_id=first.session_id, user_id=signed_in)
    unknown = chat("nobody.at.all@example.com", session_id=first.session_id, user_id=signed_in)
    assert claim.actions == [] and claim.reply == unknown.reply and "Anya" not in claim.reply
    assert chat("yes", session_id=first.session_id, user_id=signed_in).actions == []
    assert runtime.store.db.order("#W6310710").status == "processed"


def test_conversation_resumes_after_a_restart(retail_data_dir: Path) -> None:
    first = _runtime(retail_data_dir).dialogue.chat(
        "Please cancel my order #W5801125, I no longer need it. My email is ivan.santos5925@example.com"
    )
    assert [(a.name, a.status) for a in first.actions] == [("cancel_pending_order", "proposed")]
    restarted = _runtime(retail_data_dir)  # a new process: new engine, same data dir
    done = restarted.dialogue.chat("yes, go ahead", session_id=first.session_id)
    assert [(a.name, a.status) for a in done.actions] == [("cancel_pending_order", "done")]
    assert restarted.store.db.order("#W5801125").status == "cancelled"
    assert restarted.sessions.message_count(first.session_id) == 4


def test_shopping_references_and_grounded_answers(retail_data_dir: Path) -> None:
    runtime = _runtime(retail_data_dir)
    chat = runtime.dialogue.chat
    found = chat("show me kettles")
    titles = [p.title for p in found.products]
    assert {"Electric Kettle", "Tea Kettle"} <= set(titles)
    for card in found.products:
        product = runtime.catalog.get(card.id)
        assert (card.price, card.in_stock) == (product.price, product.in_stock)
        assert f"${card.price:,.2f}" in found.reply
    compared = chat("compare the first two", session_id=found.session_id)
    assert compared.intent == "compare" and [p.id for p in compared.products] == [p.id for p in found.products[:2]]
    second = found.products[1]
    about = chat("what materials does the second one come in?", session_id=found.session_id)
    assert about.intent == "product_question" and about.products[0].id == second.id
    materials = {v.options["material"] for v in runtime.catalog.get(second.id).variants}
    assert all(m in about.reply for m in materials)
    unknown = chat("is it dishwasher safe?", session_id=found.session_id)
    assert "don't know" in unknown.reply
    capped = chat("show me headphones under $400")
    assert capped.products and all(p.price <= 400 for p in capped.products)


def test_chinese_turns_answer_in_chinese(retail_data_dir: Path) -> None:
    runtime = _runtime(retail_data_dir)
    response = runtime.dialogue.chat("我想买一个蓝牙音箱")
    assert response.language == "zh" and "Bluetooth Speaker" in [p.title for p in response.products]
    assert "为您找到" in response.reply
    handoff = runtime.dialogue.chat("转人工")
    assert handoff.handoff and handoff.actions[0].name == "transfer_to_human_agents"


def test_a_stalled_model_still_answers_from_templates(retail_data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    with StandInServer() as server:
        # The stand-in answers only after 3 s; the turn's model deadline is 1 s.
        runtime = _runtime(retail_data_dir, llm=f"openai:{server.base_url}#stall", timeout_s=1.0)
        with caplog.at_level(logging.WARNING, logger="assistant.dialogue"):
            response = runtime.dialogue.chat("I'm looking for a water bottle")
        assert any("LLMTimeout" in r.getMessage() for r in caplog.records)
        assert response.products and response.products[0].title == "Water Bottle"
        assert "Water Bottle" in response.reply and f"${response.products[0].price:,.2f}" in response.reply
        assert response.prompt_version is None and response.model_id == "none"


def test_a_streaming_model_is_guarded_and_recorded(retail_data_dir: Path) -> None:
    with StandInServer() as server:
        runtime = _runtime(retail_data_dir, llm=f"openai:{server.base_url}#echo")
        events = list(runtime.dialogue.stream("I'm looking for a water bottle"))
        kinds = [e.event for e in events]
        assert kinds[0] == "products" and kinds[-1] == "done" and kinds.count("token") >= 2
        done = events[-1].data
        assert done["prompt_version"] == "shopping_reply.v1" and done["model_id"] == "echo"
        # The echo model repeats the prompt: the product line it repeats carries the catalog's own price.
        price = done["products"][0]["price"]
        assert f"${price:,.2f}" in done["reply"]


@pytest.mark.llm
def test_bundled_model_phrases_a_grounded_reply(retail_data_dir: Path) -> None:
    from assistant.llm.bundled_model import BundledModelError, resolve_bundled_model

    settings = Settings(data_dir=retail_data_dir, llm="auto").ensure_dirs()
    try:
        resolve_bundled_model(settings.models_dir)
    except BundledModelError as exc:
        pytest.skip(str(exc))
    runtime = Runtime(settings)
    response = runtime.dialogue.chat("I'm looking for a water bottle")
    assert response.model_id != "none" and response.products
    assert f"${response.products[0].price:,.2f}" in response.reply


def test_something_for_me_reflects_the_shoppers_events(retail_data_dir: Path) -> None:
    runtime = _runtime(retail_data_dir)
    water_bottle = "8310926033"
    runtime.events.ingest(
        [
            {"user_id": "shopper-7", "type": "view", "product_id": water_bottle},
            {"user_id": "shopper-7", "type": "add_to_cart", "product_id": water_bottle},
        ]
    )
    response = runtime.dialogue.chat("推荐点适合我的", user_id="shopper-7")
    assert response.intent == "recommendation" and response.language == "zh"
    assert response.products[0].id == water_bottle and response.products[0].why
    assert "cart" in response.reply.split("\n")[1]  # the reason is shown with the product, not only on the card
