"""Which items and which variant a message names (assistant/dialogue/order_items.py), on the real retail store
(../shared/data/retail-store) and the sample store: items by a distinctive word or "all of them", names that match
nothing reported, option values written bare or in part, several at once, and a new unit of the same item."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.db import make_engine
from assistant.dialogue.order_items import (
    asks_same_item,
    items_not_in_order,
    match_items,
    match_variant,
    same_item_unavailable,
    same_variant,
    unmatched_mentions,
    variant_examples,
)
from assistant.store import StoreDB, import_store
from assistant.store.loading import SAMPLE_STORE_DIR
from assistant.store.models import OrderItem


def _store(folder: Path, path: Path) -> StoreDB:
    db = StoreDB(make_engine(f"sqlite:///{path}"))
    import_store(db, folder)
    return db


@pytest.fixture(scope="module")
def retail(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> StoreDB:
    return _store(shared_data / "retail-store", tmp_path_factory.mktemp("retail-items") / "store.db")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> StoreDB:
    return _store(SAMPLE_STORE_DIR, tmp_path_factory.mktemp("sample-items") / "store.db")


def _names(items: list[OrderItem]) -> list[str]:
    return [i.name for i in items]


def _item(db: StoreDB, order_id: str, name: str) -> OrderItem:
    order = db.order(order_id)
    assert order is not None
    return next(i for i in order.items if i.name == name)


def _variant(db: StoreDB, order_id: str, name: str, text: str) -> list[dict[str, str]]:
    item = _item(db, order_id, name)
    product = db.product(item.product_id)
    assert product is not None
    return [v.options for v in match_variant(text, item, product, [item])]


# --- items -----------------------------------------------------------------------------------------------------
def test_items_are_named_by_a_distinctive_word_or_all_of_them(retail: StoreDB) -> None:
    order = retail.order("#W7128968")  # Bookshelf, Pet Bed, Vacuum Cleaner, Bluetooth Speaker
    assert order is not None
    every = ["Bookshelf", "Pet Bed", "Vacuum Cleaner", "Bluetooth Speaker"]
    assert _names(match_items("all of them. vacuum, speaker, pet bed, bookshelf", order)) == every
    assert _names(match_items("vacuum, speaker, pet bed, bookshelf", order)) == every
    assert _names(match_items("return everything", order)) == every
    assert _names(match_items("all items please", order)) == every
    assert _names(match_items("全部退货", order)) == every
    assert _names(match_items("the speakers and the bookshelves", order)) == ["Bookshelf", "Bluetooth Speaker"]
    assert _names(match_items("the vacuum only", order)) == ["Vacuum Cleaner"]
    assert _names(match_items("退吸尘器和音箱", order)) == ["Vacuum Cleaner", "Bluetooth Speaker"]
    # "everything except ..." is not every item.
    assert _names(match_items("everything except the vacuum", order)) != every
    hose = retail.order("#W6304490")
    assert hose is not None and _names(match_items("the hose", hose)) == ["Garden Hose"]
    kettle = retail.order("#W4817420")
    assert kettle is not None and _names(match_items("the kettles", kettle)) == ["Electric Kettle"]


def test_a_named_item_the_order_lacks_is_reported_not_dropped(retail: StoreDB, sample: StoreDB) -> None:
    order = retail.order("#W7128968")
    assert order is not None
    assert unmatched_mentions("vacuum, speaker, desk lamp, bookshelf", order) == ["desk lamp"]
    assert unmatched_mentions("all of them. vacuum, speaker, pet bed, bookshelf", order) == []
    assert unmatched_mentions("the speaker and the bookshelf, thanks", order) == []
    assert unmatched_mentions("音箱，台灯", order) == ["台灯"]
    mia = sample.order("#S8963198")
    assert mia is not None and unmatched_mentions("the air fryer and the toaster", mia) == ["the toaster"]


# --- variants --------------------------------------------------------------------------------------------------
def test_bare_option_values_pick_the_variant(retail: StoreDB) -> None:
    # Keyboard linear, RGB, 80%: "no backlight" is backlight none, "80%" is kept.
    assert _variant(retail, "#W8032761", "Mechanical Keyboard", "clicky, no backlight, 80%") == [
        {"switch type": "clicky", "backlight": "none", "size": "80%"}
    ]
    assert _variant(retail, "#W8032761", "Mechanical Keyboard", "clicky, without backlight, full-size") == [
        {"switch type": "clicky", "backlight": "none", "size": "full size"}
    ]
    # Tactile, none, full size is not available: the variants naming two of the three tie, for asking back.
    assert len(_variant(retail, "#W8032761", "Mechanical Keyboard", "tactile, no backlight, full size")) > 1
    assert _variant(retail, "#W3069600", "Skateboard", "bamboo, 31 inch, plain") == [
        {"deck material": "bamboo", "length": "31 inch", "design": "plain"}
    ]
    assert _variant(retail, "#W3069600", "Skateboard", "plain, 31-inch, bamboo") == [
        {"deck material": "bamboo", "length": "31 inch", "design": "plain"}
    ]


def test_several_option_values_at_once(retail: StoreDB) -> None:
    want = {"color": "black", "storage": "128GB", "RAM": "4GB", "screen size": "6.5-inch"}
    for text in (
        "could the smartphone become black, 128GB storage, 4GB RAM, 6.5-inch screen?",
        "black. 128 GB storage. 4GB RAM. 6.5 inch screen",
        "黑色，128GB，4GB RAM，6.5-inch",
    ):
        assert _variant(retail, "#W7613749", "Smartphone", text) == [want], text
    # "rose gold" is rose gold, not gold as well.
    assert all(v["color"] == "rose gold" for v in _variant(retail, "#W7007896", "Smartphone", "rose gold"))


def test_a_tie_asks_back_with_the_tied_choices(retail: StoreDB) -> None:
    item = _item(retail, "#W8032761", "Mechanical Keyboard")
    product = retail.product(item.product_id)
    assert product is not None
    tied = match_variant("tactile", item, product, [item])
    assert len(tied) >= 1 and all(v.options["switch type"] == "tactile" for v in tied)
    examples = variant_examples(item, product, among=tied)
    assert examples and "linear" not in examples


@pytest.mark.parametrize(
    "text", ["the same one", "the exact same", "identical", "same model", "a replacement", "a new one of the same",
             "换一个一样的", "同款"]
)  # fmt: skip
def test_the_same_item_resolves_to_its_own_variant(retail: StoreDB, text: str) -> None:
    item = _item(retail, "#W4817420", "Electric Kettle")
    product = retail.product(item.product_id)
    assert product is not None and asks_same_item(text)
    own = same_variant(item, product)
    if own is None:
        assert match_variant(text, item, product, [item]) == []
    else:
        assert [v.item_id for v in match_variant(text, item, product, [item])] == [item.item_id]
    # The same, but black: the options asked win.
    assert all(v.options["color"] == "black" for v in match_variant(f"{text} but black", item, product, [item]))


def test_the_same_item_unavailable_gives_nothing(retail: StoreDB) -> None:
    for order_id in ("#W7128968", "#W4817420", "#W3069600", "#W8032761", "#W7613749", "#W7007896", "#W6304490"):
        order = retail.order(order_id)
        assert order is not None
        for item in order.items:
            product = retail.product(item.product_id)
            assert product is not None
            own = product.variants[item.item_id]
            got = [v.item_id for v in match_variant("the same one", item, product, [item])]
            assert got == ([item.item_id] if own.available else [])
    # A keyboard whose own variant is sold out: nothing, for saying it is not available.
    keyboard = _item(retail, "#W3113816", "Mechanical Keyboard")
    product = retail.product(keyboard.product_id)
    assert product is not None and same_variant(keyboard, product) is None
    assert match_variant("the exact same", keyboard, product, [keyboard]) == []
    assert not asks_same_item("I want a bigger one")


def test_sample_store_values_and_items(sample: StoreDB) -> None:
    order = sample.order("#S8963198")
    assert order is not None
    assert "Clicker Pro Wireless Mouse" in _names(match_items("the mouse", order))
    assert "Steamwell Air Fryer 5L" in _names(match_items("the fryer", order))


def test_what_to_say_when_the_same_item_is_sold_out_or_a_listed_item_is_missing(retail: StoreDB) -> None:
    keyboard = _item(retail, "#W3113816", "Mechanical Keyboard")
    product = retail.product(keyboard.product_id)
    assert product is not None
    en = same_item_unavailable("the exact same one", keyboard, product, "en")
    zh = same_item_unavailable("同款", keyboard, product, "zh")
    assert en and "not available" in en and "switch type" in en
    assert zh and "无货" in zh
    assert same_item_unavailable("clicky, no backlight, full size", keyboard, product, "en") is None
    kettle = _item(retail, "#W4817420", "Electric Kettle")
    kettle_product = retail.product(kettle.product_id)
    assert kettle_product is not None and same_item_unavailable("the same one", kettle, kettle_product, "en") is None
    order = retail.order("#W7128968")
    assert order is not None
    said = items_not_in_order("vacuum, speaker, desk lamp", order, "en")
    assert said and "'desk lamp'" in said and "Vacuum Cleaner" in said
    assert items_not_in_order("all of them. vacuum, speaker, pet bed, bookshelf", order, "en") is None
    assert "台灯" in (items_not_in_order("音箱和台灯", order, "zh") or "")


# --- through the engine ----------------------------------------------------------------------------------------
def test_the_engine_proposes_what_the_players_asked_for(retail_data_dir: Path) -> None:
    from assistant.config import Settings
    from assistant.runtime import Runtime

    runtime = Runtime(Settings(data_dir=retail_data_dir, llm="none"))

    def proposed(*messages: str) -> dict:
        session_id = None
        for message in messages:
            response = runtime.dialogue.chat(message, session_id=session_id)
            session_id = response.session_id
        [action] = response.actions
        assert action.status == "proposed", response.reply
        return action.arguments

    every = proposed(
        "I want to return items from order #W7128968, my email is yusuf.jackson4654@example.com",
        "all of them. vacuum, speaker, pet bed, bookshelf",
    )
    assert every["item_ids"] == ["7539442683", "7729002517", "6259501109", "2652637226"]
    keyboard = proposed(
        "I want to exchange the keyboard in order #W3113816, email emma.santos7683@example.com",
        "clicky, no backlight, 80%",
    )
    assert keyboard["new_item_ids"] == ["9665000388"]
    phone = proposed("修改订单 #W7613749 的手机，邮箱 olivia.silva3776@example.com", "黑色，128GB，4GB RAM，6.5-inch")
    assert phone["new_item_ids"] == ["5339029584"]
    same = proposed("I want to exchange the kettle in order #W4817420, email ava.moore6020@example.com", "the same one")
    assert same["item_ids"] == same["new_item_ids"] == ["9624127908"]
    # Proposals only: nothing changed without a yes.
    assert runtime.store.db.order("#W7128968").status == "delivered"


def test_closing_words_and_small_words_name_nothing(retail: StoreDB) -> None:
    order = retail.order("#W7128968")
    assert order is not None
    # "that's everything" closes a list; it does not ask for every item.
    assert _names(match_items("the vacuum, that's everything", order)) == ["Vacuum Cleaner"]
    assert _names(match_items("just the speaker, nothing else. thats everything", order)) == ["Bluetooth Speaker"]
    makeup = _item(retail, "#W3069600", "Makeup Kit")  # dark, professional, Brand B
    product = retail.product(makeup.product_id)
    assert product is not None
    # "a" is not "Brand A".
    assert all(
        v.options["brand"] == makeup.options["brand"]
        for v in match_variant("a professional kit, light skin tone", makeup, product, [makeup])
    )
