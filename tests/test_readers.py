"""Every catalog reader, on small files written here and on the real shared files where present."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from retrieval.models import Product, RejectedRow
from retrieval.readers import CatalogFormatError, detect_format, read_catalog


def _split(rows: list[Product | RejectedRow]) -> tuple[list[Product], list[RejectedRow]]:
    return [r for r in rows if isinstance(r, Product)], [r for r in rows if isinstance(r, RejectedRow)]


def test_jsonl_reads_products_and_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "catalog.jsonl"
    path.write_text(
        "\n".join([
            json.dumps({"id": 1, "title": "Red Mug", "price": "12.50", "brand": "Acme", "colour": "red"}),
            "{not json",
            json.dumps({"id": 3, "title": "", "price": 3}),
            json.dumps({"sku": "X-4", "name": "Blue Mug", "price": -2}),
            json.dumps({"product_id": "5", "name": "Green Mug", "stock": 0, "category": "mugs"}),
        ]) + "\n",
        encoding="utf-8",
    )
    products, rejected = _split(list(read_catalog(path)))
    assert [p.id for p in products] == ["1", "5"]
    assert products[0].price == 12.5 and products[0].brand == "Acme" and products[0].attributes == {"colour": "red"}
    assert products[1].in_stock is False and products[1].category == "mugs"
    assert [r.row for r in rejected] == [2, 3, 4]
    assert "JSON" in rejected[0].error and "title" in rejected[1].error and "price" in rejected[2].error


def test_csv_row_numbers_are_file_lines(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(
        "id,title,price,brand,in_stock\n1,USB cable,4.99,Acme,yes\n2,HDMI cable,abc,Acme,yes\n"
        "3,Mouse,9,Logi,no\n,Nameless,1,,\n",
        encoding="utf-8",
    )
    assert detect_format(path) == "csv"
    products, rejected = _split(list(read_catalog(path)))
    assert [(p.id, p.price, p.in_stock) for p in products] == [("1", 4.99, True), ("3", 9.0, False)]
    assert [(r.row, "price" in r.error or "id" in r.error) for r in rejected] == [(3, True), (5, True)]


def test_icecat_zip_and_list(tmp_path: Path) -> None:
    records = [
        {"id": "10", "title": "Xerox toner cartridge Black", "supplier": "Xerox", "price": 4995,
         "short_description": "Toner", "attr_t_printing_colours": "Black", "ean": ["123"]},
        {"id": "11", "title": "Broken", "supplier": "X", "price": "free"},
    ]
    zipped = tmp_path / "products-1.json.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("1.json", json.dumps(records))
    assert detect_format(zipped) == "icecat"
    products, rejected = _split(list(read_catalog(zipped)))
    assert products[0].price == 49.95 and products[0].brand == "Xerox"
    assert products[0].attributes["t_printing_colours"] == "Black" and products[0].attributes["ean"] == "123"
    assert rejected[0].row == 2 and "price" in rejected[0].error
    assert detect_format(tmp_path) == "icecat"
    assert len(list(read_catalog(tmp_path, "icecat"))) == 2


def test_dummyjson_and_retail_store(tmp_path: Path) -> None:
    dummy = tmp_path / "products.json"
    dummy.write_text(json.dumps({"products": [
        {"id": 1, "title": "Mascara", "brand": "Essence", "category": "beauty", "price": 9.99, "stock": 0,
         "tags": ["beauty"], "thumbnail": "t.png"},
        {"id": 2, "price": 1},
    ]}), encoding="utf-8")
    assert detect_format(dummy) == "dummyjson"
    products, rejected = _split(list(read_catalog(dummy)))
    assert products[0].in_stock is False and products[0].attributes["tags"] == "beauty"
    assert rejected[0].row == 2

    store = tmp_path / "store"
    store.mkdir()
    (store / "orders.json").write_text("{}", encoding="utf-8")
    (store / "products.json").write_text(json.dumps({"p1": {"name": "T-Shirt", "product_id": "p1", "variants": {
        "i1": {"item_id": "i1", "options": {"color": "red", "size": "M"}, "available": False, "price": 20.0},
        "i2": {"item_id": "i2", "options": {"color": "blue", "size": "L"}, "available": True, "price": 18.5},
    }}}), encoding="utf-8")
    assert detect_format(store) == "retail-store"
    (product,) = list(read_catalog(store))
    assert isinstance(product, Product)
    assert product.price == 18.5 and product.in_stock and [v.id for v in product.variants] == ["i1", "i2"]
    assert "color: blue, red" in product.description


def test_unknown_paths_and_formats_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CatalogFormatError, match="no such file"):
        list(read_catalog(tmp_path / "missing.csv"))
    odd = tmp_path / "catalog.xml"
    odd.write_text("<x/>", encoding="utf-8")
    with pytest.raises(CatalogFormatError, match="--format"):
        list(read_catalog(odd))
    with pytest.raises(CatalogFormatError, match="unknown format"):
        list(read_catalog(odd, "xml"))


def test_real_shared_catalogs(shared_data: Path) -> None:
    icecat = list(read_catalog(shared_data / "icecat"))
    assert len(icecat) == 19406 and all(isinstance(p, Product) for p in icecat)
    dummy = list(read_catalog(shared_data / "dummyjson" / "products.json"))
    assert len(dummy) == 194 and all(isinstance(p, Product) for p in dummy)
    store = list(read_catalog(shared_data / "retail-store"))
    assert len(store) == 50 and sum(len(p.variants) for p in store if isinstance(p, Product)) == 591
