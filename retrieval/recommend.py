"""Recommendations for a user: candidates from several signals, one blended score, diversity, and a `why` that
names each signal's share of the score.

Signals (each scaled to [0, 1] before weighting):
- history: the chance the user buys a product they bought or carted before again, from a logistic model of their
  recent and long-run engagement with it, their buying cadence, how much they buy in its category, how often the
  store's buyers buy it again (milk is re-bought, a TV is not) and how many buy it (`RepeatModel`, fitted on the
  completejourney training months);
- recent: what the user viewed or carted lately (short memory);
- similar: cosine between the user's interest vector and the product's vector;
- cooccur: products bought or viewed in the same sessions as the user's products (learned from all events);
- category / brand: the user's category and brand affinities (category weighted by the product's share of it);
- popular: store-wide trending (the whole list for a user with no history: cold start).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from retrieval.models import Product
from retrieval.privacy import Pseudonymizer
from retrieval.product_lookup import ProductLookup
from retrieval.profiles import DAY, ProfileStore, UserProfile
from retrieval.signals import BehaviourStats

Put = Callable[[str, str, float], None]  # (signal, product id, value in [0, 1])


@dataclass(frozen=True)
class RepeatModel:
    """Logistic coefficients of P(the user buys an item again within the next weeks). Fitted on completejourney
    (all households): features as of 2017-06-28 and 2017-08-30, labels from the nine weeks after each (all inside
    the training months), by `python -m assistant.evals.repeat_model_fit`."""

    bias: float = -4.632
    recent: float = 1.026  # log(1 + purchases in the last weeks, 14-day half-life)
    habit: float = 1.52  # log(1 + purchases over months, 180-day half-life)
    cadence: float = 0.122  # log(1 + days between purchases): a steady habit, not a burst
    repeat_rate: float = 0.338  # log(purchases per buyer, store-wide)
    popularity: float = 0.192  # log(1 + purchases of it, store-wide: 2,469 households in the fit)
    category: float = 0.169  # log(1 + the user's purchases in its category, 180-day half-life): a staple of theirs

    def probability(
        self, recent: float, habit: float, interval_days: float, repeat_rate: float, buys: int, category: float
    ) -> float:
        z = (
            self.bias
            + self.recent * math.log1p(recent)
            + self.habit * math.log1p(habit)
            + self.cadence * math.log1p(interval_days)
            + self.repeat_rate * math.log(max(repeat_rate, 1.0))
            + self.popularity * math.log1p(buys)
            + self.category * math.log1p(category)
        )
        return 1.0 / (1.0 + math.exp(-z))


@dataclass(frozen=True)
class RankWeights:
    """Blend weights, chosen on a validation split of the completejourney training months (history before
    2017-08-30, scored on the nine weeks after), never on the test weeks. `history` is a calibrated probability,
    and the chance that a household buys a product it never bought is small (about 1% for the store's 300 most
    bought products over nine weeks), so the weights of the signals for new products keep their sum below that:
    they order what the user has not bought without displacing what they will likely buy again. Among new products
    popularity counts most: on validation it filled the places left better than similarity or affinities."""

    history: float = 1.0
    recent: float = 0.6  # views and cart adds (no purchase yet): the live shop's strongest short-term signal
    similar: float = 0.002
    cooccur: float = 0.001
    category: float = 0.002
    brand: float = 0.001
    popular: float = 0.01
    repeat: RepeatModel = field(default_factory=RepeatModel)
    # At most this share of a list from one brand or one category: 0.4 cost 1% of recall on validation (a store
    # brand's staples), 0.5 nothing measurable.
    max_share: float = 0.5


@dataclass
class Recommendation:
    product: Product
    score: float
    why: list[str]
    signals: dict[str, float] = field(default_factory=dict)  # each signal's weighted contribution


class Recommender:
    def __init__(
        self,
        profiles: ProfileStore,
        stats: BehaviourStats,
        lookup: ProductLookup,
        pseudonymizer: Pseudonymizer,
        weights: RankWeights | None = None,
    ) -> None:
        self.profiles = profiles
        self.stats = stats
        self.lookup = lookup
        self.pseudonymizer = pseudonymizer
        self.weights = weights or RankWeights()

    def recommend(
        self, user_id: str, k: int = 20, now: float | None = None, exclude: set[str] | None = None
    ) -> list[Recommendation]:
        """Top-`k` products for the user, each with its reasons. A user with no history gets what is trending."""
        self.stats.refresh()
        profile = self.profiles.get(self.pseudonymizer.user_key(user_id))
        return self.rank(profile, k, now if now is not None else time.time(), exclude or set())

    def rank(self, profile: UserProfile | None, k: int, now: float, exclude: set[str]) -> list[Recommendation]:
        w = self.weights
        signals: dict[str, dict[str, float]] = {}
        anchors: dict[str, dict[str, str]] = {}  # signal -> candidate -> the user's product that explains it

        def put(signal: str, pid: str, value: float) -> None:
            if value > 0 and pid not in exclude:
                row = signals.setdefault(pid, {})
                row[signal] = max(row.get(signal, 0.0), value)

        for pid, rel in self.stats.trending_scores(max(50, 3 * k)):
            put("popular", pid, rel)
        if profile is not None:
            self._personal_signals(profile, k, now, put, anchors)
        if not signals:
            return []
        products = self.lookup.products(list(signals))
        if profile is not None:
            self._affinity_signals(profile, products, put)
        weighted = {
            pid: {name: getattr(w, name) * value for name, value in row.items()}
            for pid, row in signals.items()
            if pid in products
        }
        if profile is not None:
            for pid, row in weighted.items():
                row.setdefault("popular", w.popular * self.stats.trending_relative(pid))
        order = sorted(weighted, key=lambda pid: -sum(weighted[pid].values()))
        chosen = _diverse(order, products, k, w.max_share)
        return [
            Recommendation(
                product=products[pid],
                score=round(sum(weighted[pid].values()), 6),
                why=self._why(pid, weighted[pid], profile, anchors, products, now),
                signals={name: round(v, 6) for name, v in weighted[pid].items() if v > 0},
            )
            for pid in chosen
        ]

    def _personal_signals(
        self, profile: UserProfile, k: int, now: float, put: Put, anchors: dict[str, dict[str, str]]
    ) -> None:
        model = self.weights.repeat
        config = self.profiles.config
        owned = [pid for pid, stat in profile.items.items() if stat.purchases or stat.carts]  # views: "recent"
        categories = {pid: p.category for pid, p in self.lookup.products(owned).items()}
        for pid in owned:
            stat = profile.items[pid]
            recent, habit = profile.decayed(stat, now, config)
            category = profile.category_habit(categories[pid], now, config) if categories.get(pid) else 0.0
            put("history", pid, model.probability(
                recent, habit, stat.purchase_interval_days() or 0.0, self.stats.repeat_rate(pid),
                self.stats.purchase_count(pid), category,
            ))
        for pid, rel in profile.interest_scores().items():
            if profile.items[pid].purchases == 0:
                put("recent", pid, rel)
        # Co-occurrence from the user's strongest products.
        cooc: Counter[str] = Counter()
        cooc_anchor: dict[str, tuple[float, str]] = {}
        for anchor, rel in sorted(profile.interest_scores().items(), key=lambda kv: -kv[1])[:20]:
            for other, sim in self.stats.neighbours(anchor, 50):
                cooc[other] += rel * sim
                if rel * sim > cooc_anchor.get(other, (0.0, ""))[0]:
                    cooc_anchor[other] = (rel * sim, anchor)
        top_cooc = max(cooc.values(), default=1.0)
        for pid, value in cooc.items():
            put("cooccur", pid, value / top_cooc)
        anchors["cooccur"] = {pid: a for pid, (_, a) in cooc_anchor.items()}
        direction = profile.interest_vector()
        if direction is not None:
            for pid, sim in self.lookup.nearest(direction, max(50, 3 * k)):
                put("similar", pid, sim)
        for category, _ in sorted(profile.category_affinity().items(), key=lambda kv: -kv[1])[:5]:
            for pid in self.stats.top_in_category(category, 20):
                put("category", pid, 1e-9)  # a candidate; its value is set with the other affinities

    def _affinity_signals(self, profile: UserProfile, products: dict[str, Product], put: Put) -> None:
        categories = profile.category_affinity()
        brands = profile.brand_affinity()
        direction = profile.interest_vector()
        vectors = self.lookup.vectors(list(products)) if direction is not None else {}
        for pid, product in products.items():
            put("category", pid, categories.get(product.category, 0.0) * self.stats.category_share(pid))
            put("brand", pid, brands.get(product.brand, 0.0))
            if pid in vectors:
                put("similar", pid, float(vectors[pid] @ direction))

    def _why(
        self,
        pid: str,
        contributions: dict[str, float],
        profile: UserProfile | None,
        anchors: dict[str, dict[str, str]],
        products: dict[str, Product],
        now: float,
    ) -> list[str]:
        total = sum(contributions.values()) or 1.0
        ranked = sorted(((v, name) for name, v in contributions.items() if v > 0), reverse=True)
        reasons: list[str] = []
        for value, name in ranked:
            share = value / total
            if reasons and share < 0.1:
                break
            text = self._reason(name, pid, profile, anchors, products, now)
            if text:
                reasons.append(f"{text} ({share:.0%})")
        return reasons

    def _reason(
        self,
        signal: str,
        pid: str,
        profile: UserProfile | None,
        anchors: dict[str, dict[str, str]],
        products: dict[str, Product],
        now: float,
    ) -> str:
        product = products[pid]
        if signal == "popular" or profile is None:
            return "popular this week"
        stat = profile.items.get(pid)
        if signal == "history" and stat is not None:
            interval = stat.purchase_interval_days()
            if interval is not None:
                return f"you bought it {_times(stat.purchases)}, about every {max(round(interval), 1)} days"
            if stat.purchases:
                return f"you bought it {_times(stat.purchases)}"
            return f"you added it to your cart {_times(stat.carts)}"
        if signal == "recent" and stat is not None:
            return f"you {engagement_phrase(profile, pid, now)}"
        if signal == "cooccur":
            anchor = anchors.get("cooccur", {}).get(pid)
            return f"often bought with {self._title(anchor)}" if anchor else "often bought together"
        if signal == "similar":
            anchor = self._closest_recent(profile, pid)
            if anchor:
                return f"similar to {self._title(anchor)} you {engagement_phrase(profile, anchor, now)}"
            return "matches your interests"
        if signal == "brand":
            verb = "buy" if self._bought(profile, lambda p: p.brand == product.brand) else "look at"
            return f"you often {verb} brand {product.brand}"
        if signal == "category":
            verb = "buy" if self._bought(profile, lambda p: p.category == product.category) else "look at"
            return f"you often {verb} {product.category}"
        return ""

    def _bought(self, profile: UserProfile, matches: Callable[[Product], bool]) -> bool:
        bought = [pid for pid, stat in profile.items.items() if stat.purchases]
        return any(matches(p) for p in self.lookup.products(bought).values())

    def _closest_recent(self, profile: UserProfile, pid: str) -> str | None:
        recent = [p for p in dict.fromkeys(p for _, _, p in reversed(profile.recent)) if p != pid][:20]
        vectors = self.lookup.vectors([pid, *recent])
        if pid not in vectors:
            return None
        best = max(((float(vectors[p] @ vectors[pid]), p) for p in recent if p in vectors), default=None)
        return best[1] if best else None

    def _title(self, pid: str) -> str:
        product = self.lookup.products([pid]).get(pid)
        return f"'{product.title}'" if product else f"'{pid}'"


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def engagement_phrase(profile: UserProfile, pid: str, now: float) -> str:
    """What the user did with a product lately, e.g. "viewed twice today", "added to your cart this week"."""
    for window, label in ((DAY, " today"), (7 * DAY, " this week"), (math.inf, "")):
        since = now - window
        for kind, verb in (("purchase", "bought"), ("add_to_cart", "added to your cart"), ("view", "viewed")):
            count = profile.events_since(since, kind, pid)
            if count:
                return f"{verb} {_times(count)}{label}" if count > 1 else f"{verb}{label}"
    return "looked at"

def _diverse(order: list[str], products: dict[str, Product], k: int, max_share: float) -> list[str]:
    """Best-first, skipping a product whose brand or category already has its share of the list; the skipped
    ones fill any places left."""
    cap = max(2, math.ceil(k * max_share))
    brands: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    chosen: list[str] = []
    skipped: list[str] = []
    for pid in order:
        if len(chosen) == k:
            break
        product = products[pid]
        if (product.brand and brands[product.brand] >= cap) or (
            product.category and categories[product.category] >= cap
        ):
            skipped.append(pid)
            continue
        chosen.append(pid)
        brands[product.brand] += 1
        categories[product.category] += 1
    return chosen + skipped[: k - len(chosen)]

