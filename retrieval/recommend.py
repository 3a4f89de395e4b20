"""Recommendations for a user: candidates from several signals, one blended score, diversity, and a `why` that
names each signal's share of the score.

Signals (each scaled to [0, 1] before weighting):
- history: the chance the user buys a product they bought or carted before again, from a logistic model of their
  recent and long-run engagement with it, their buying cadence, how much they buy in its category, how often the
  store's buyers buy it again (milk is re-bought, a TV is not), how many buy it, and how loyal the user is to it
  among their products in its category (`RepeatModel`, fitted on the completejourney training months);
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
from typing import Any

from retrieval.models import Product
from retrieval.privacy import Pseudonymizer
from retrieval.product_lookup import ProductLookup
from retrieval.profiles import DAY, ProfileConfig, ProfileStore, UserProfile
from retrieval.signals import BehaviourStats

Put = Callable[[str, str, float], None]  # (signal, product id, value in [0, 1])


@dataclass(frozen=True)
class RepeatFeatures:
    """What the repeat model knows of one product a user bought (or carted) before, in the units it was fitted in."""

    recent: float  # purchases in the last weeks (14-day half-life), in purchase units
    habit: float  # purchases over months (180-day half-life)
    interval_days: float  # mean days between its purchases (0 before a second one)
    repeat_rate: float  # purchases per buyer, store-wide
    buys: int  # purchases of it, store-wide
    category: float  # the user's purchases in its category (180-day half-life)
    # Loyalty within the category, from the user's products that share it (all 1 / False / 1 without a category):
    share: float = 1.0  # its part of the user's habit in the category: the usual choice or an occasional one
    recent_share: float = 1.0  # the same over the last weeks
    switched: bool = False  # the user's latest purchase in the category is another product
    variety: int = 1  # how many of the user's products are in the category

    @classmethod
    def of(
        cls, profile: UserProfile, owned: list[str], categories: dict[str, str], stats: BehaviourStats, now: float,
        config: ProfileConfig,
    ) -> dict[str, RepeatFeatures]:
        """The features of each of the user's `owned` products (`categories`: product id -> its category)."""
        decayed = {pid: profile.decayed(profile.items[pid], now, config) for pid in owned}
        # Per category (shelf): the user's recent and long-run buying there, its latest purchase, how many products.
        shelves: dict[str, tuple[float, float, float, int]] = {}
        for pid in owned:
            if category := categories.get(pid):
                recent, habit, last, items = shelves.get(category, (0.0, 0.0, 0.0, 0))
                shelves[category] = (
                    recent + decayed[pid][0], habit + decayed[pid][1], max(last, profile.items[pid].last_bought),
                    items + 1,
                )
        out: dict[str, RepeatFeatures] = {}
        for pid in owned:
            stat = profile.items[pid]
            recent, habit = decayed[pid]
            loyalty: dict[str, Any] = {}
            if shelf := shelves.get(categories.get(pid, "")):
                shelf_recent, shelf_habit, shelf_last, variety = shelf
                loyalty = {
                    "share": habit / max(shelf_habit, 1e-12),
                    "recent_share": recent / shelf_recent if shelf_recent > 1e-12 else 1.0,
                    "switched": stat.last_bought < shelf_last,
                    "variety": variety,
                }
            out[pid] = cls(
                recent=recent,
                habit=habit,
                interval_days=stat.purchase_interval_days() or 0.0,
                repeat_rate=stats.repeat_rate(pid),
                buys=stats.purchase_count(pid),
                category=profile.category_habit(categories[pid], now, config) if categories.get(pid) else 0.0,
                **loyalty,
            )
        return out


@dataclass(frozen=True)
class RepeatModel:
    """Logistic coefficients of P(the user buys an item again within the next weeks). Fitted on completejourney
    (all households): features as of 2017-06-28 and 2017-08-30, labels from the nine weeks after each (all inside
    the training months), by `python -m assistant.evals.repeat_model_fit`."""

    bias: float = -4.479
    recent: float = 1.031  # log(1 + recent)
    habit: float = 1.488  # log(1 + habit)
    cadence: float = 0.126  # log(1 + interval_days): a steady habit, not a burst
    repeat_rate: float = 0.314  # log(repeat_rate)
    popularity: float = 0.187  # log(1 + buys): 2,469 households in the fit
    category: float = 0.319  # log(1 + category): a staple of theirs
    # Loyalty, fitted jointly with habit and category (share is their ratio), so one sign alone says little: each
    # product on a shelf the user buys many products from is less likely; a large part of its recent buying, more.
    share: float = -0.674
    recent_share: float = 0.45
    switched: float = 0.285
    variety: float = -0.321  # log(variety)

    def probability(self, f: RepeatFeatures) -> float:
        z = (
            self.bias
            + self.recent * math.log1p(f.recent)
            + self.habit * math.log1p(f.habit)
            + self.cadence * math.log1p(f.interval_days)
            + self.repeat_rate * math.log(max(f.repeat_rate, 1.0))
            + self.popularity * math.log1p(f.buys)
            + self.category * math.log1p(f.category)
            + self.share * f.share
            + self.recent_share * f.recent_share
            + self.switched * f.switched
            + self.variety * math.log(max(f.variety, 1))
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
    # At most this share of a list from one brand or one category (15 of 20): a household's staples often share
    # one manufacturer (the store brand), and on validation (all households, nine weeks from 2017-08-02 and from
    # 2017-08-30) a cap of 0.5 cost 0.6% of recall, 0.6 0.1%, 0.75 under 0.02%.
    max_share: float = 0.75


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
        chosen = diverse(order, products, k, w.max_share)
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
        for pid, features in RepeatFeatures.of(profile, owned, categories, self.stats, now, config).items():
            put("history", pid, model.probability(features))
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

def diverse(order: list[str], products: dict[str, Product], k: int, max_share: float) -> list[str]:
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

