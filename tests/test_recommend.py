"""Recommendations and personalized search: an event changes the next answer with the reason shown; cold start;
repeat purchases; co-occurrence; diversity; the saved store-wide model across processes; the eval's metrics."""

from __future__ import annotations

import math
import time
from collections import Counter

import pandas as pd
import pytest

from assistant.config import Settings
from assistant.evals.recommend import metrics, repeat_ceiling
from assistant.evals.repeat_model_fit import repeat_features
from assistant.runtime import Runtime
from retrieval.models import Product
from retrieval.profiles import ProfileConfig
from retrieval.recommend import RepeatFeatures, diverse
from retrieval.search import ProductSearcher

DAY = 86_400.0


def _ids(recs) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.product.id for r in recs]


def test_empty_store_recommends_nothing(personal_runtime) -> None:  # type: ignore[no-untyped-def]
    assert personal_runtime.personalization.recommender.recommend("nobody") == []


def test_cold_start_gets_what_is_trending(personal_runtime) -> None:  # type: ignore[no-untyped-def]
    p = personal_runtime.personalization
    now = time.time()
    events = [{"user_id": f"u{i}", "type": "purchase", "product_id": "coffee", "ts": now - 3600} for i in range(4)]
    events += [{"user_id": "u9", "type": "view", "product_id": "mouse", "ts": now - 3600}]
    events += [{"user_id": "u8", "type": "purchase", "product_id": "milk", "ts": now - 60 * DAY}]
    p.events.ingest(events)
    recs = p.recommender.recommend("newcomer", k=3)
    assert _ids(recs) == ["coffee", "mouse", "milk"]  # recent purchases beat a recent view beat an old purchase
    assert all(r.why == ["popular this week (100%)"] for r in recs)
    assert recs[0].score > recs[1].score > recs[2].score


def test_a_view_changes_the_next_recommendation_with_the_reason(personal_runtime) -> None:  # type: ignore[no-untyped-def]
    p = personal_runtime.personalization
    p.events.ingest([{"user_id": f"u{i}", "type": "purchase", "product_id": "coffee"} for i in range(3)])
    before = p.recommender.recommend("gina", k=5)
    assert _ids(before)[0] == "coffee"
    p.events.ingest([{"user_id": "gina", "type": "view", "product_id": "cam-nikon"} for _ in range(2)])
    after = p.recommender.recommend("gina", k=5)
    assert _ids(after)[0] == "cam-nikon"
    assert after[0].why[0].startswith("you viewed twice today")
    assert "recent" in after[0].signals
    # Other cameras come up as similar to the camera she looked at, and say so.
    similar = [r for r in after if r.product.id in {"cam-sony", "cam-canon"}]
    assert similar and any("similar to 'Nikon Z6 II mirrorless camera' you viewed twice today" in w
                           for r in similar for w in r.why)


def test_repeat_purchases_and_brand_affinity(personal_runtime) -> None:  # type: ignore[no-untyped-def]
    p = personal_runtime.personalization
    now = time.time()
    p.events.ingest(
        [{"user_id": "hana", "type": "purchase", "product_id": "milk", "ts": now - d * DAY} for d in (20, 13, 6)]
        + [{"user_id": "hana", "type": "purchase", "product_id": "hp-sony", "ts": now - 30 * DAY}]
    )
    recs = p.recommender.recommend("hana", k=6)
    assert _ids(recs)[0] == "milk"
    assert recs[0].why[0].startswith("you bought it 3 times, about every 7 days")
    reasons = [w for r in recs for w in r.why]
    assert any(w.startswith("you often buy brand Sony") for w in reasons)


def test_a_product_from_a_category_the_user_keeps_buying_is_likelier_bought_again(personal_runtime) -> None:  # type: ignore[no-untyped-def]
    p = personal_runtime.personalization
    now = time.time()
    once = now - 10 * DAY  # a camera and a pair of headphones, bought once together, both Sony
    p.events.ingest(
        [{"user_id": "nora", "type": "purchase", "product_id": pid, "ts": once} for pid in ("cam-sony", "hp-sony")]
        + [{"user_id": "nora", "type": "purchase", "product_id": "hp-bose", "ts": now - d * DAY} for d in (30, 20, 5)]
    )
    recs = {r.product.id: r for r in p.recommender.recommend("nora", k=6)}
    # Same history, same store-wide figures: only her habit of buying headphones sets them apart.
    assert recs["hp-sony"].signals["history"] > recs["cam-sony"].signals["history"]
    assert recs["hp-sony"].why[0].startswith("you bought it once")


def test_loyalty_features_live_match_the_fit(personal_runtime) -> None:  # type: ignore[no-untyped-def]
    """The recommender's repeat features for a user equal those `repeat_model_fit` fits the model on."""
    p = personal_runtime.personalization
    now = time.time()
    bought = [("hp-sony", 40), ("hp-bose", 20), ("hp-bose", 10), ("cam-sony", 15), ("hp-bose", 3)]
    p.events.ingest(
        [{"user_id": "olga", "type": "purchase", "product_id": pid, "ts": now - d * DAY} for pid, d in bought]
    )
    p.stats.refresh()
    profile = p.profiles.get(p.user_key("olga"))
    owned = ["hp-sony", "hp-bose", "cam-sony"]
    categories = {pid: prod.category for pid, prod in p.lookup.products(owned).items()}
    live = RepeatFeatures.of(profile, owned, categories, p.stats, now, p.profiles.config)
    assert live["hp-sony"].switched and live["hp-sony"].variety == 2  # she moved to the Bose ones
    assert not live["hp-bose"].switched and live["hp-bose"].share > 0.5 > live["hp-sony"].share
    assert (live["cam-sony"].share, live["cam-sony"].variety, live["cam-sony"].switched) == (1.0, 1, False)

    purchases = pd.DataFrame(
        {"uid": "olga", "pid": [pid for pid, _ in bought], "ts": [now - d * DAY for _, d in bought]}
    )
    fitted = repeat_features(purchases, now, pd.Series(categories), ProfileConfig()).set_index("pid")
    for pid, f in live.items():
        row = fitted.loc[pid]
        assert row["recent"] == pytest.approx(math.log1p(f.recent))
        assert row["habit"] == pytest.approx(math.log1p(f.habit))
        assert row["category"] == pytest.approx(math.log1p(f.category))
        assert row["share"] == pytest.approx(f.share)
        assert row["recent_share"] == pytest.approx(f.recent_share)
        assert row["switched"] == float(f.switched)
        assert row["variety"] == pytest.approx(math.log(f.variety))
    # The recommender's repeat signal is the model's probability on exactly these features.
    model = p.recommender.weights.repeat
    recs = {r.product.id: r for r in p.recommender.recommend("olga", k=6, now=now)}
    for pid in owned:
        assert recs[pid].signals["history"] == pytest.approx(model.probability(live[pid]), abs=1e-6)


def test_co_occurrence_learned_from_other_users(personal_runtime) -> None:  # type: ignore[no-untyped-def]
    p = personal_runtime.personalization
    now = time.time()
    basket = []
    for i in range(5):  # five shoppers buy a camera and a tripod together
        basket += [
            {"user_id": f"s{i}", "type": "purchase", "product_id": "cam-canon", "ts": now - 3 * DAY},
            {"user_id": f"s{i}", "type": "purchase", "product_id": "tripod", "ts": now - 3 * DAY + 60},
        ]
    p.events.ingest(basket)
    p.events.ingest([{"user_id": "ivan", "type": "purchase", "product_id": "cam-canon"}])
    recs = {r.product.id: r for r in p.recommender.recommend("ivan", k=10)}
    assert "tripod" in recs and "cooccur" in recs["tripod"].signals
    assert any(w.startswith("often bought with 'Canon EOS R8 mirrorless camera'") for w in recs["tripod"].why)


def test_no_brand_or_category_fills_the_list(personal_runtime) -> None:  # type: ignore[no-untyped-def]
    p = personal_runtime.personalization
    p.events.ingest([{"user_id": "jo", "type": "purchase", "product_id": pid} for pid in ("cam-sony", "lens-sony")])
    p.events.ingest([{"user_id": "jo", "type": "view", "product_id": "hp-sony"}])
    recs = p.recommender.recommend("jo", k=5)
    assert len(recs) == 5
    cap = math.ceil(5 * p.recommender.weights.max_share)
    assert max(Counter(r.product.brand for r in recs).values()) <= cap
    assert max(Counter(r.product.category for r in recs).values()) <= cap


def test_the_cap_keeps_one_brand_from_filling_the_list() -> None:
    products = {f"a{i}": Product(id=f"a{i}", title=f"a{i}", brand="A", category=f"c{i}") for i in range(6)}
    products |= {f"b{i}": Product(id=f"b{i}", title=f"b{i}", brand="B", category=f"c{i}") for i in range(2)}
    order = ["a0", "a1", "a2", "a3", "b0", "a4", "b1", "a5"]
    assert diverse(order, products, k=4, max_share=0.75) == ["a0", "a1", "a2", "b0"]
    assert diverse(order, products, k=4, max_share=0.5) == ["a0", "a1", "b0", "b1"]
    # Skipped products fill the places nothing else can.
    assert diverse(order[:5], products, k=5, max_share=0.5) == ["a0", "a1", "a2", "b0", "a3"]


def test_an_event_changes_the_next_search_ranking(personal_runtime) -> None:  # type: ignore[no-untyped-def]
    p = personal_runtime.personalization
    searcher = p.searcher(ProductSearcher(personal_runtime.catalog, personal_runtime.settings.data_dir / "search"))
    plain = searcher.search("mirrorless camera", k=3, user_id="kim")
    assert {h.product.id for h in plain} == {"cam-sony", "cam-canon", "cam-nikon"}
    last = plain[-1].product.id
    assert not any(w.startswith("for you") for h in plain for w in h.why)
    p.events.ingest([{"user_id": "kim", "type": "view", "product_id": last} for _ in range(2)])
    tilted = searcher.search("mirrorless camera", k=3, user_id="kim")
    assert tilted[0].product.id == last
    assert any(w.startswith("for you: you viewed twice today") for w in tilted[0].why)
    # Another user's search is unchanged.
    assert [h.product.id for h in searcher.search("mirrorless camera", k=3, user_id="lee")] == [
        h.product.id for h in plain
    ]


def test_eval_metrics_on_a_hand_computed_case() -> None:
    recs = {"a": ["x", "y", "z"], "b": ["x", "q", "r"]}
    truth = {"a": {"y", "w"}, "b": {"x"}}
    got = metrics(recs, truth, catalog_size=10, category={"x": "c1", "y": "c1", "z": "c2"}, k=3)
    assert got["recall@3"] == pytest.approx((0.5 + 1.0) / 2)
    ndcg_a = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert got["ndcg@3"] == pytest.approx((ndcg_a + 1.0) / 2)
    assert got["coverage"] == pytest.approx(5 / 10)
    assert got["diversity"] == pytest.approx((2 / 3 + 3 / 3) / 2)


def test_repeat_ceiling_on_a_hand_computed_case() -> None:
    train = pd.DataFrame({"household_id": [1, 1, 1, 2], "product_id": [10, 11, 12, 10]})
    truth = {"1": {"10", "11", "99", "98"}, "2": {"11"}}
    got = repeat_ceiling(train, truth, k=1)
    assert got["test_items_bought_before"] == pytest.approx((2 / 4 + 0) / 2)
    assert got["oracle_repeat_recall@1"] == pytest.approx((1 / 4 + 0) / 2)  # one place: one of its two repeats


def _co_purchases(p, n: int, prefix: str) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    p.events.ingest(
        [
            {"user_id": f"{prefix}{i}", "type": "purchase", "product_id": pid, "ts": now - 3 * DAY + j * 60}
            for i in range(n)
            for j, pid in enumerate(("cam-canon", "tripod"))
        ]
    )


def test_a_new_process_starts_from_the_saved_behaviour_model(personal_runtime, catalog_data_dir) -> None:  # type: ignore[no-untyped-def]
    writer = personal_runtime.personalization
    _co_purchases(writer, 5, "s")
    writer.close()  # a bulk load ends by saving the store-wide model
    assert writer.stats.saved_id == writer.log.last_id() == 10
    reader = Runtime(Settings(data_dir=catalog_data_dir, llm="none")).personalization
    assert reader.stats.refresh() == 0  # loaded, not rebuilt: no event read from the log
    assert reader.stats.neighbours("cam-canon", 5) == writer.stats.neighbours("cam-canon", 5)
    assert reader.stats.repeat_rate("tripod") == 1.0 and reader.stats.purchase_count("tripod") == 5
    _co_purchases(writer, 2, "t")
    assert reader.stats.refresh() == 4  # then it catches up with the newer events only
    assert reader.stats.purchase_count("tripod") == 7
    reader.close()


def test_an_erasure_in_another_process_voids_every_saved_model(personal_runtime, catalog_data_dir) -> None:  # type: ignore[no-untyped-def]
    eraser = personal_runtime.personalization
    eraser.events.ingest([{"user_id": "alice", "type": "view", "product_id": p} for p in ("cam-sony", "lens-sony")])
    eraser.events.ingest([{"user_id": "bob", "type": "purchase", "product_id": "lens-sony"}])
    other = Runtime(Settings(data_dir=catalog_data_dir, llm="none")).personalization
    other.stats.refresh()
    assert "cam-sony" in dict(other.stats.neighbours("lens-sony", 10))
    eraser.erase_user("alice")
    assert not other.stats.save()  # a model built before the erasure can no longer be saved
    other.stats.refresh()  # sees the new epoch and rebuilds without alice
    assert "cam-sony" not in dict(other.stats.neighbours("lens-sony", 10))
    assert other.stats.purchase_count("lens-sony") == 1
    other.close()
