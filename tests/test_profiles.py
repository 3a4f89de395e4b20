"""Live user profiles: read-your-writes, decay, affinities, the Chroma mirror, cross-process freshness."""

from __future__ import annotations

import time

import numpy as np
import pytest

from assistant.config import Settings
from assistant.runtime import Runtime
from retrieval.privacy import Pseudonymizer, load_or_create_key
from retrieval.profiles import PROFILE_COLLECTION

DAY = 86_400.0


def test_each_event_updates_the_profile_at_once(personal_runtime) -> None:  # type: ignore[no-untyped-def]
    p = personal_runtime.personalization
    key = p.user_key("alice")
    assert p.profiles.get(key) is None
    p.events.ingest([{"user_id": "alice", "type": "view", "product_id": "hp-sony"}])
    first = p.profiles.get(key)
    assert first is not None and first.version == 1
    assert first.brand_affinity() == {"Sony": 1.0}
    p.events.ingest([{"user_id": "alice", "type": "purchase", "product_id": "hp-bose", "quantity": 1}])
    p.events.ingest([{"user_id": "alice", "type": "search", "query": "noise cancelling"}])
    second = p.profiles.get(key)
    assert second.version == 3
    assert second.brand_affinity()["Bose"] == 1.0 and second.brand_affinity()["Sony"] < 1.0  # purchase > view
    assert second.category_affinity() == {"headphones": 1.0}
    low, high = second.price_band()
    assert 280 < low < 299 < high < 349  # geometric mean ± 1 sd, weighted toward the purchase
    assert [q for _, q in second.queries] == ["noise cancelling"]
    assert second.items["hp-bose"].purchases == 1 and second.items["hp-sony"].views == 1


def test_decay_prefers_recent_engagement(personal_runtime) -> None:  # type: ignore[no-untyped-def]
    p = personal_runtime.personalization
    now = time.time()
    p.events.ingest(
        [
            {"user_id": "dana", "type": "view", "product_id": "phone-apple", "ts": now - 60 * DAY},
            {"user_id": "dana", "type": "view", "product_id": "phone-apple", "ts": now - 59 * DAY},
            {"user_id": "dana", "type": "view", "product_id": "cam-nikon", "ts": now - 60},
        ]
    )
    profile = p.profiles.get(p.user_key("dana"))
    # Two views two months ago weigh less than one view a minute ago (14-day half-life: 2 * 2**-4.2 < 1).
    assert profile.interest_scores()["cam-nikon"] == 1.0
    assert profile.interest_scores()["phone-apple"] < 0.2
    vectors = p.lookup.vectors(["phone-apple", "cam-nikon"])
    direction = profile.interest_vector()
    assert float(direction @ vectors["cam-nikon"]) > float(direction @ vectors["phone-apple"])


def test_event_order_does_not_change_the_profile(personal_runtime) -> None:  # type: ignore[no-untyped-def]
    p = personal_runtime.personalization
    now = time.time()
    events = [
        {"type": "view", "product_id": "cam-sony", "ts": now - 5 * DAY},
        {"type": "purchase", "product_id": "lens-sony", "ts": now - 2 * DAY},
        {"type": "rate", "product_id": "tripod", "value": 1, "ts": now - DAY},
        {"type": "add_to_cart", "product_id": "hp-sony", "ts": now - 3600},
    ]
    p.events.ingest([{"user_id": "in-order", **e} for e in events])
    for e in reversed(events):
        p.events.ingest([{"user_id": "shuffled", **e}])
    a, b = p.profiles.get(p.user_key("in-order")), p.profiles.get(p.user_key("shuffled"))
    np.testing.assert_allclose(a.interest_vector(), b.interest_vector(), atol=1e-5)
    assert a.history_scores() == pytest.approx(b.history_scores())
    assert [(t, pid) for _, t, pid in a.recent] == [(t, pid) for _, t, pid in b.recent]
    # A one-star rating pushes the tripod out of the interests instead of adding to them.
    assert "tripod" not in a.interest_scores()


def test_profile_vector_mirrored_in_chroma_under_the_pseudonym(personal_runtime) -> None:  # type: ignore[no-untyped-def]
    p = personal_runtime.personalization
    p.events.ingest([{"user_id": "erin", "type": "view", "product_id": "cam-canon"}])
    p.close()
    key = p.user_key("erin")
    stored = personal_runtime.chroma.get_collection(PROFILE_COLLECTION).get(ids=[key], include=["embeddings"])
    assert stored["ids"] == [key]
    np.testing.assert_allclose(stored["embeddings"][0], p.profiles.get(key).interest_vector(), atol=1e-6)
    assert personal_runtime.chroma.get_collection(PROFILE_COLLECTION).get(ids=["erin"])["ids"] == []


def test_another_process_sees_new_events(personal_runtime, catalog_data_dir) -> None:  # type: ignore[no-untyped-def]
    writer = personal_runtime.personalization
    reader = Runtime(Settings(data_dir=catalog_data_dir, llm="none")).personalization
    key = writer.user_key("fred")
    writer.events.ingest([{"user_id": "fred", "type": "view", "product_id": "mouse"}])
    assert reader.profiles.get(key).version == 1  # and now cached in the reader
    writer.events.ingest([{"user_id": "fred", "type": "purchase", "product_id": "coffee"}])
    seen = reader.profiles.get(key)
    assert seen.version == 2 and seen.items["coffee"].purchases == 1
    reader.close()


def test_two_processes_writing_one_profile_lose_no_event(personal_runtime, catalog_data_dir) -> None:  # type: ignore[no-untyped-def]
    first = personal_runtime.personalization
    second = Runtime(Settings(data_dir=catalog_data_dir, llm="none")).personalization
    key = first.user_key("gus")
    for writer, product in ((first, "mouse"), (first, "coffee"), (second, "milk"), (first, "mouse")):
        writer.events.ingest([{"user_id": "gus", "type": "purchase", "product_id": product}])
    # The first writer's cached copy was one version behind at its last event: it must not overwrite milk.
    for reader in (first, second):
        profile = reader.profiles.get(key)
        assert profile.version == 4
        assert {pid: s.purchases for pid, s in profile.items.items()} == {"mouse": 2, "coffee": 1, "milk": 1}
    second.close()


def test_pseudonyms_are_stable_per_key_and_differ_across_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = load_or_create_key(tmp_path / "a")
    assert load_or_create_key(tmp_path / "a") == key
    assert Pseudonymizer(key).user_key("alice") == Pseudonymizer(key).user_key("alice")
    other = Pseudonymizer(load_or_create_key(tmp_path / "b"))
    assert other.user_key("alice") != Pseudonymizer(key).user_key("alice")
    assert (tmp_path / "a" / "pseudonym.key").stat().st_mode & 0o077 == 0


class _FailingSink:
    """A further sink whose write fails, as a full disk or a lost database connection would."""

    def apply(self, events, conn) -> None:  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    def committed(self, events) -> None:  # type: ignore[no-untyped-def]
        raise AssertionError("never reached")

    def discard(self, events) -> None:  # type: ignore[no-untyped-def]
        pass


def test_a_failed_transaction_changes_nothing(personal_runtime) -> None:  # type: ignore[no-untyped-def]
    p = personal_runtime.personalization
    p.events.ingest([{"user_id": "gus", "type": "view", "product_id": "mouse"}])
    key = p.user_key("gus")
    p.events.sinks.append(_FailingSink())
    with pytest.raises(OSError, match="disk full"):
        p.events.ingest([{"user_id": "gus", "type": "purchase", "product_id": "coffee"}])
    p.events.sinks.pop()
    profile = p.profiles.get(key)
    assert profile.version == 1 and "coffee" not in profile.items
    assert p.log.count(key) == 1
    p.events.ingest([{"user_id": "gus", "type": "purchase", "product_id": "coffee"}])
    assert p.profiles.get(key).version == 2
