"""Shopping sense without a model: categories read from the Icecat titles, the category a request names (English
and Chinese), compatibility requests and the products a comparison names."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.dialogue.handlers.compare import named_parts
from assistant.dialogue.handlers.shopping import compatibility_model, names_all
from retrieval.categories import CategoryVocabulary, same_kind
from retrieval.models import Product
from retrieval.readers import read_catalog


@pytest.fixture(scope="module")
def icecat(shared_data: Path) -> tuple[CategoryVocabulary, dict[str, Product]]:
    products = [p for p in read_catalog(shared_data / "icecat") if isinstance(p, Product)]
    return CategoryVocabulary.build(products), {p.title: p for p in products}


def test_icecat_products_get_the_category_their_titles_name(icecat: tuple[CategoryVocabulary, dict]) -> None:
    vocabulary, by_title = icecat
    kind = {title: vocabulary.category(product) for title, product in by_title.items()}
    assert kind["Lexmark 08A0476 toner cartridge Original Black 1 pc(s)"] == "toner cartridge"
    notebooks = [t for t in kind if t.startswith("HP ProBook") and " Notebook " in t]
    assert notebooks and all(kind[t] == "notebook" for t in notebooks)
    assert kind['Targus CN313 notebook case 34 cm (13.4") Briefcase Black'] == "notebook case"
    assert kind["Philips SHC1300 Wireless Headphone"] == "headphones/headset"  # singular, capitalised
    privacy = [t for t in kind if t.startswith("Urban Factory Privacy and Protection Cover for Laptop/Notebook")]
    assert privacy and all(kind[t] != "notebook" for t in privacy)  # what it is for is not what it is


def test_a_request_names_its_category(icecat: tuple[CategoryVocabulary, dict]) -> None:
    vocabulary, _ = icecat
    asked = vocabulary.asked
    assert asked("a laptop") == asked("笔记本电脑") == asked("gaming notebook with a big screen") == "notebook"
    assert asked("laptop case") == "notebook case"
    assert asked("激光打印机的硒鼓") == asked("black toner for a laser printer") == "toner cartridge"
    assert same_kind(asked("电脑显示器") or "", "monitor")
    assert asked("a UPS to protect my computer from power cuts") == "uninterruptible power supply"
    # A category word that is not the request's head names no category.
    assert asked("computer desk") is None and asked("nintendo switch") is None


def test_compatibility_requests_name_a_model() -> None:
    assert compatibility_model("toner for HP LaserJet P1102") == "HP LaserJet P1102"
    assert compatibility_model("ink cartridges compatible with Epson Stylus C64 please") == "Epson Stylus C64"
    assert compatibility_model("适用于 HP LaserJet P1102 的硒鼓") == "HP LaserJet P1102"
    assert compatibility_model("P1102用的硒鼓") == "P1102"
    for plain in ("toner for my printer", "headphones for 100 dollars", "a gift for my brother who likes gaming"):
        assert compatibility_model(plain) is None, plain
    toner = Product(id="t", title="HP 85A Toner", attributes={"t_compatibility": "LaserJet Pro P1102, P1102w"})
    assert names_all(toner, ["p1102"]) and not names_all(toner, ["m1212nf"])


def test_a_comparison_names_its_products() -> None:
    assert named_parts("compare the HP ProBook and the Dell Latitude") == ["the HP ProBook", "the Dell Latitude"]
    assert named_parts("比较一下第一个和第三个") == ["第一个", "第三个"]
    assert named_parts("Auralis Q7 vs Sonic X2") == ["Auralis Q7", "Sonic X2"]
    assert len(named_parts("compare them")) < 2 and len(named_parts("compare the first two")) < 2
