"""The grounding guard on specifications, feature claims, currency, the cards and the token limit: hand-written model
outputs (the guard is our code; the model's text is its input), in English and Chinese."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai_standin import StandInServer

from assistant.config import Settings
from assistant.dialogue.engine import GenerationSettings
from assistant.dialogue.grounding import Facts, SentenceGuard, guard_text
from assistant.dialogue.handlers.shopping import grounded
from assistant.llm import make_llm
from assistant.llm.metered import MeteredLLM
from assistant.runtime import Runtime
from assistant.store.loading import ensure_sample_store
from retrieval.models import Product, Variant

LAPTOP = Product(
    id="1",
    title='HP ProBook 450 G5 Notebook 39.6 cm (15.6") 8th gen Intel Core i5 8 GB DDR4-SDRAM 256 GB SSD Wi-Fi 5',
    description="HP ProBook 450 G5, Intel Core i5-8250U, 8 GB DDR4, 256 GB SSD, Windows 10 Pro",
    brand="HP",
    price=899.0,
    attributes={"n_internal_memory": 8.0, "n_weight": 2100.0, "b_bluetooth": False, "b_wi_fi": True},
)
TONER = Product(
    id="2",
    title="HP 85A Black Original LaserJet Toner Cartridge",
    description="Toner for HP LaserJet Pro P1102 and P1102w printers, 1600 pages",
    brand="HP",
    price=63.5,
    attributes={"t_compatibility": "HP LaserJet Pro P1102, P1102w", "n_black_toner_page_yield": 1600.0},
)
EARBUDS = Product(
    id="3",
    title="Auralis Q7 Wireless Noise-Cancelling Headphones",
    description="Over-ear headphones with active noise cancelling, 30-hour battery and USB-C charging.",
    brand="Auralis",
    attributes={"battery_hours": "30", "wireless": "yes"},
    variants=[Variant(id="v1", options={"color": "black"}, price=248.99)],
)


def facts(*products: Product, language: str = "en", listing: bool = True) -> Facts:
    return grounded(list(products), language=language, listing=listing)


def shown(text: str, f: Facts) -> str:
    return guard_text(text, f)[0]


def test_numbers_with_units_must_be_in_the_product_data() -> None:
    f = facts(LAPTOP)
    ok = "The HP ProBook 450 G5 has 8 GB of RAM, a 256 GB SSD and a 15.6-inch screen."
    assert shown(ok, f) == ok
    assert shown("It has 8GB of memory.", f) == "It has 8GB of memory."  # "internal memory: 8" in the attributes
    for invented in (
        "It has 16GB of RAM.",
        "Its battery lasts 10 hours.",
        "It weighs 1.5 kg.",
        "It has a 60.0mAh battery.",
    ):
        text, report = guard_text(invented, f)
        assert text == "The product data doesn't say more about that.", invented
        assert report.removed == 1
    # "Windows 10" is no 10-hour battery life; a number only counts with its unit (or under a name that measures it).
    assert shown("The HP ProBook 450 G5 runs Windows 10 Pro.", f) == "The HP ProBook 450 G5 runs Windows 10 Pro."
    assert shown("Its battery lasts 30 hours.", facts(EARBUDS)) == "Its battery lasts 30 hours."


def test_the_unknown_note_is_given_once_and_later_claims_are_removed() -> None:
    text, report = guard_text("It has 16 GB of RAM. It charges in 2 hours. It is a solid pick.", facts(LAPTOP))
    assert text == "The product data doesn't say more about that. It is a solid pick."
    assert report.removed == 2


def test_feature_and_compatibility_claims_must_be_in_the_data() -> None:
    f = facts(LAPTOP)
    assert shown("It supports Wi-Fi.", f) == "It supports Wi-Fi."
    for invented in (
        "It supports USB-C and fast charging.",
        "It has Bluetooth.",  # the data marks Bluetooth absent
        "It comes with a carrying case.",
        "It is compatible with HP LaserJet P1102.",
    ):
        assert shown(invented, f) == "The product data doesn't say more about that.", invented
    toner = facts(TONER)
    assert shown("The HP 85A is compatible with the HP LaserJet P1102.", toner).startswith("The HP 85A is compatible")
    assert shown("It works with the HP LaserJet P2055.", toner) == "The product data doesn't say more about that."
    assert shown("It prints about 1600 pages.", toner) == "It prints about 1600 pages."
    assert shown("It prints about 2500 pages.", toner) == "The product data doesn't say more about that."
    # Saying the data is silent, or asking, is no claim.
    assert shown("The data doesn't say whether it supports USB-C.", f).startswith("The data doesn't say")
    assert shown("Do you need USB-C?", f) == "Do you need USB-C?"


def test_chinese_specs_and_claims() -> None:
    f = facts(LAPTOP, language="zh")
    assert shown("这款笔记本内存 8 GB，屏幕 15.6 英寸。", f) == "这款笔记本内存 8 GB，屏幕 15.6 英寸。"
    for invented in ("这款笔记本支持快充。", "它的电池续航 10 小时。", "它兼容各种打印机。", "它有蓝牙。"):
        assert shown(invented, f) == "商品资料里没有这方面的信息。", invented
    assert (
        shown("这款耳机支持降噪，续航 30 小时。", facts(EARBUDS, language="zh")) == "这款耳机支持降噪，续航 30 小时。"
    )
    assert shown("它支持 USB-C 充电。", facts(EARBUDS, language="zh")) == "它支持 USB-C 充电。"


def test_prices_are_stated_in_the_catalog_currency() -> None:
    f = facts(LAPTOP, language="zh")
    assert shown("价格是899元。", f) == "价格是$899.00。"
    assert shown("It costs 899 RMB.", f) == "It costs $899.00."
    assert shown("It costs $899.", f) == "It costs $899."
    assert shown("只要 899 美元。", f) == "只要 899 美元。"


def test_text_never_denies_what_the_cards_show() -> None:
    f = facts(LAPTOP)
    text, report = guard_text("We don't have any 15-inch laptops right now. The first one is a good pick.", f)
    assert text == "The first one is a good pick." and report.removed == 1
    assert shown("Sorry, there are no laptops available in that range.", f) == ""
    assert shown("抱歉，暂无符合条件的笔记本电脑。这款很实用。", facts(LAPTOP, language="zh")) == "这款很实用。"
    # An answer about one product (no list of cards) may say what it lacks.
    assert shown("It doesn't have a touchscreen.", facts(LAPTOP, listing=False)) != ""


def test_streamed_claims_are_held_and_a_shown_start_is_closed_off() -> None:
    guard = SentenceGuard(facts(LAPTOP))
    pieces = [
        guard.feed(t) for t in ["This", " laptop", " is", " light", " and", " has", " 16GB", " RAM", ".", " Enjoy"]
    ]
    pieces.append(guard.flush())
    text = "".join(pieces)
    assert "16GB" not in text and text.startswith("This laptop is light and ")
    assert text.endswith("— the product data doesn't confirm that. Enjoy")
    guard = SentenceGuard(facts(LAPTOP, language="zh"))
    text = "".join(
        [guard.feed(t) for t in ["这款", "笔记本", "支持", "快充", "。", "很", "好用", "。"]] + [guard.flush()]
    )
    assert "快充" not in text and text.endswith("很好用。")


def test_an_unfinished_last_sentence_at_the_token_limit_is_dropped() -> None:
    guard = SentenceGuard(facts(LAPTOP))
    guard.hold = True  # the engine holds from the budget on
    text = "".join(
        guard.feed(t) for t in ["It", " is", " a", " good", " pick.", " It", " is", " within", " the", " budg"]
    )
    assert guard.flush(cut=True) == "" and text == "It is a good pick. "
    guard = SentenceGuard(facts(LAPTOP))
    assert guard.feed("It is light") == "It is " and guard.flush() == "light"  # the model ended there itself


# --- the whole turn, with a model that says what it is scripted to say ------------------------------------------
@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[Runtime, StandInServer]]:
    """The sample store behind the engine, its model an OpenAI-compatible stand-in that streams a script word by
    word (and stops at max_tokens words, as a real server does)."""
    with tempfile.TemporaryDirectory() as tmp:
        runtime = Runtime(Settings(data_dir=Path(tmp) / "data", llm="none"))
        ensure_sample_store(runtime, progress=False)
        with StandInServer() as server:
            runtime.llm = MeteredLLM(
                make_llm(f"openai:{server.base_url}#script", runtime.settings), runtime.token_meter
            )
            yield runtime, server


def test_a_turn_shows_no_invented_spec_no_wrong_currency_and_no_cut_sentence(
    scripted: tuple[Runtime, StandInServer],
) -> None:
    runtime, server = scripted
    runtime.dialogue.generation = GenerationSettings(max_tokens=24, sentence_grace_tokens=6)
    server.app.state.script = (
        "The Auralis Q7 has a 40-hour battery and supports fast charging. It costs 248.99元. "
        "It is a great choice for travel because it is within the budget you gave and it folds flat for your bag"
    )
    response = runtime.dialogue.chat("Show me Auralis Q7 headphones")
    reply = response.reply
    assert response.products and response.prompt_version, response
    assert "40-hour" not in reply and "fast charging" not in reply and "元" not in reply
    assert reply.startswith("The product data doesn't say more about that. It costs $248.99.")
    assert "within the" not in reply  # the sentence the limit cut is not shown at all
    assert "Auralis Q7 Wireless Noise-Cancelling Headphones —" in reply  # the list still follows the words


def test_a_chinese_turn_is_grounded_too(scripted: tuple[Runtime, StandInServer]) -> None:
    runtime, server = scripted
    runtime.dialogue.generation = GenerationSettings()
    server.app.state.script = "这款耳机支持快充，续航 40 小时。 它的价格是 248.99 元。 续航 30 小时。"
    reply = runtime.dialogue.chat("Auralis Q7 耳机").reply
    assert reply.startswith("商品资料里没有这方面的信息。 它的价格是 $248.99。 续航 30 小时。"), reply


def test_a_sentence_about_a_product_is_held_from_its_name() -> None:
    # What the bundled 1.5B model wrote for "我想要降噪耳机，续航多久？支持快充吗？": nothing of it may show.
    guard = SentenceGuard(facts(EARBUDS, language="zh"))
    tokens = ["Auralis", " Q7", " 降噪耳机，", "续航时间约3小时，", "支持快充。"]
    assert "".join(guard.feed(t) for t in tokens) + guard.flush() == "商品资料里没有这方面的信息。"
    guard = SentenceGuard(facts(EARBUDS))
    assert guard.feed("Great pick: the Auralis") == "Great pick: the "  # words before the name still go at once
