"""`commerce-assistant store import / order / audit` through the real CLI, in a fresh data dir."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.runtime import Runtime
from assistant.store.loading import SAMPLE_STORE_DIR, ensure_sample_store
from assistant.store.models import ORDER_STATUSES

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_import_real_store_then_show_an_order(data_dir: Path, shared_data: Path) -> None:
    done = cli("store", "import", str(shared_data / "retail-store"))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["users"], result["orders"], result["products"], result["policy"]) == (500, 1000, 50, True)
    assert result["catalog"]["ingested"] == 50 and result["rejected"] == []

    shown = cli("store", "order", "#W2611340", "--json")
    assert shown.returncode == 0, shown.stderr
    order = json.loads(shown.stdout)
    assert order["order_id"] == "#W2611340" and order["user_id"] == "james_li_5688"
    assert order["status"] == "processed" and order["address"]["zip"] == "10083"
    assert [i["item_id"] for i in order["items"]] == ["6469567736", "8426249116"]
    assert order["total"] == pytest.approx(536.65)

    again = json.loads(cli("store", "import", str(shared_data / "retail-store")).stdout)
    assert again["catalog"] == {"ingested": 0, "updated": 0, "unchanged": 50, "rejected": []}


def test_unknown_order_and_bad_folder_are_clean_errors(data_dir: Path, tmp_path: Path) -> None:
    missing = cli("store", "order", "#W0000000", "--json")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.strip() == "error: unknown order '#W0000000'"
    (tmp_path / "users.json").write_text("{}")
    bad = cli("store", "import", str(tmp_path))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "orders.json" in bad.stderr and "products.json" in bad.stderr


def test_import_a_zipped_store(data_dir: Path, tmp_path: Path) -> None:
    """A zip of the folder (files at the top, or inside one folder) imports like the folder and leaves no scratch."""
    nested = tmp_path / "nested.zip"
    with zipfile.ZipFile(nested, "w") as archive:
        for file in SAMPLE_STORE_DIR.iterdir():
            if file.suffix in (".json", ".md"):
                archive.write(file, f"my-store/{file.name}")
    done = cli("store", "import", str(nested))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["users"], result["orders"], result["products"], result["policy"]) == (8, 20, 40, True)
    assert result["catalog"]["ingested"] == 40
    assert not list(data_dir.glob("store-import-*"))

    flat = tmp_path / "flat.zip"
    with zipfile.ZipFile(flat, "w") as archive:
        for name in ("users.json", "orders.json", "products.json"):
            archive.write(SAMPLE_STORE_DIR / name, name)
    again = json.loads(cli("store", "import", str(flat)).stdout)
    assert again["policy"] is False and again["catalog"]["unchanged"] == 40


def test_bad_store_archives_are_clean_errors(data_dir: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial.zip"
    with zipfile.ZipFile(partial, "w") as archive:
        archive.write(SAMPLE_STORE_DIR / "users.json", "users.json")
    not_zip = tmp_path / "store.zip"
    not_zip.write_text("not an archive")
    unsafe = tmp_path / "unsafe.zip"
    with zipfile.ZipFile(unsafe, "w") as archive:
        archive.writestr("../users.json", "{}")
    for path, says in (
        (partial, "lacks"),
        (not_zip, "neither a folder nor a zip"),
        (SAMPLE_STORE_DIR / "users.json", "neither a folder nor a zip"),
        (tmp_path / "missing", "does not exist"),
        (unsafe, "unsafe path"),
    ):
        bad = cli("store", "import", str(path))
        assert bad.returncode == 1 and "Traceback" not in bad.stderr, bad.stderr
        assert bad.stderr.startswith("error: ") and says in bad.stderr, bad.stderr
    assert not (tmp_path.parent / "users.json").exists()


def test_changes_show_in_order_and_audit(data_dir: Path) -> None:
    runtime = Runtime(Settings())
    assert ensure_sample_store(runtime, progress=False) is True
    assert ensure_sample_store(runtime, progress=False) is False
    orders = json.loads((SAMPLE_STORE_DIR / "orders.json").read_text())
    pending = next(o for o in orders.values() if o["status"] == "pending")
    tools = runtime.store
    tools.cancel_pending_order(pending["order_id"], "ordered by mistake", acting_user=pending["user_id"])
    runtime.db.dispose()

    shown = json.loads(cli("store", "order", pending["order_id"], "--json").stdout)
    assert shown["status"] == "cancelled" and shown["cancel_reason"] == "ordered by mistake"
    audit = [
        json.loads(line)
        for line in cli("store", "audit", "--target", pending["order_id"], "--json").stdout.splitlines()
    ]
    assert [(e["action"], e["actor"]) for e in audit] == [("cancel_pending_order", pending["user_id"])]


def test_sample_store_is_well_formed(data_dir: Path) -> None:
    """The demo store: ~40 products of several types and brands, some sold out, ~8 users, orders in every state."""
    runtime = Runtime(Settings())
    ensure_sample_store(runtime, progress=False)
    products = runtime.store.db.products()
    assert len(products) == 40
    assert len({p.category for p in products}) >= 8 and len({p.brand for p in products}) >= 15
    assert any(not any(v.available for v in p.variants.values()) for p in products)
    assert runtime.catalog.count() == 40
    statuses = {o["status"] for o in json.loads((SAMPLE_STORE_DIR / "orders.json").read_text()).values()}
    assert statuses == set(ORDER_STATUSES)
    assert runtime.store.db.counts() == {"users": 8, "orders": 20, "products": 40}
