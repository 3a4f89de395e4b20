"""Answers to a verified customer's questions about their own data and the policy (`AskInfo`), from the store.

    draft = StoreAnswers(StoreKnowledge(db)).answer(command, user_id=verified, language="zh", errand="cancel")

What the customer described ("the lamp", "the delivered one", "the cheapest one in blue", "a size larger") is
resolved with the store's knowledge; when it stays ambiguous the answer asks which, with the choices. Every answer
carries the facts it states (order ids and statuses, amounts) for the grounding guard, and a record of the read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from assistant.dialogue.commands import AskInfo, Errand
from assistant.dialogue.grounding import Facts, GroundedProduct
from assistant.dialogue.handlers.base import Draft
from assistant.dialogue.order_items import describe_item
from assistant.dialogue.references import descriptive_words
from assistant.dialogue.response import Action
from assistant.dialogue.templates import money, render, status_text, stock
from assistant.store.knowledge import (
    OrderDetails,
    OrderMatch,
    RefundRoute,
    StoreKnowledge,
    VariantQuery,
    VariantView,
    size_option,
    size_order,
    words,
)
from assistant.store.models import (
    CANCEL_REASONS,
    CANCEL_REASONS_ZH,
    CANCELLED,
    DELIVERED,
    EXCHANGE_REQUESTED,
    PENDING,
    PENDING_ITEM_MODIFIED,
    PROCESSED,
    RETURN_REQUESTED,
    Order,
    OrderItem,
    PaymentMethod,
    StoreProduct,
)
from assistant.store.policy import ACTION_STATUS, PolicyError

# The store action each errand is, for its limits and where its money goes.
ERRAND_ACTIONS: dict[str, str] = {
    "cancel": "cancel_pending_order",
    "modify": "modify_pending_order_items",
    "address_change": "modify_pending_order_address",
    "return": "return_delivered_order_items",
    "exchange": "exchange_delivered_order_items",
}
_ERRAND_WORDS: tuple[tuple[Errand, re.Pattern[str]], ...] = (
    ("cancel", re.compile(r"\bcancel|取消", re.I)),
    ("exchange", re.compile(r"\bexchang|\bswap|换货|调换|换成|换一", re.I)),
    ("return", re.compile(r"\breturn|退货", re.I)),  # not "refund": a cancellation refunds too
    ("modify", re.compile(r"\b(modify|change the items?|change items?)\b|修改|改成", re.I)),
    ("address_change", re.compile(r"\baddress\b|地址", re.I)),
)
# Words that describe an order by its status, not by what is in it.
_STATUS_WORDS = (
    (re.compile(r"\b(pending|not (yet )?shipped|unshipped|hasn'?t shipped)\b|待处理|未发货|还没发货", re.I),
     (PENDING, PENDING_ITEM_MODIFIED)),
    (re.compile(r"\b(processed|shipped|on (its|the) way|in transit)\b|已发货|运输中|在路上|已处理", re.I),
     (PROCESSED,)),
    (re.compile(r"\b(delivered|received|arrived|got it)\b|已送达|送达|收到|签收", re.I), (DELIVERED,)),
    (re.compile(r"\b(cancell?ed)\b|已取消", re.I), (CANCELLED,)),
    (re.compile(r"\breturn(ed| requested)\b|已申请退货", re.I), (RETURN_REQUESTED,)),
    (re.compile(r"\bexchange(d| requested)\b|已申请换货", re.I), (EXCHANGE_REQUESTED,)),
)  # fmt: skip
_ID_ENDING = re.compile(r"\bend(?:s|ing)?\s+(?:in|with)\s+(\d{1,7})\b|尾号(?:是|为)?\s*(\d{1,7})", re.I)
_RECENT = re.compile(r"\b(most recent|recent|latest|newest|last)\b|最近|最新|上一个|刚下的", re.I)
_CHEAPEST = re.compile(r"\b(cheapest|cheaper|lowest[- ]priced?|least expensive|cheap)\b|最便宜|便宜", re.I)
_PRICIEST = re.compile(r"\b(most expensive|priciest|pricier|dearest)\b|最贵|贵的", re.I)
_LARGER = re.compile(r"\b(larger|bigger|size up|up a size|one size up)\b|大一|更大|大号一点", re.I)
_SMALLER = re.compile(r"\b(smaller|size down|down a size|one size down)\b|小一|更小", re.I)
_IN_STOCK = re.compile(r"\b(in stock|available)\b|有货|现货", re.I)
# Product and size words customers write in Chinese, as the store's English words, for matching.
_ZH_WORDS = {
    "台灯": "lamp", "灯泡": "bulb", "灯": "lamp", "耳机": "headphones earbuds", "耳塞": "earbuds", "水壶": "kettle",
    "水杯": "bottle", "水瓶": "bottle", "保温杯": "bottle", "跑鞋": "running shoes", "运动鞋": "sneakers",
    "鞋": "shoes sneakers boots", "靴": "boots", "手表": "watch", "智能手表": "smart watch", "键盘": "keyboard",
    "鼠标": "mouse", "相机": "camera", "摄像头": "camera", "背包": "backpack", "拼图": "puzzle", "手机": "smartphone",
    "笔记本电脑": "laptop", "电脑": "laptop", "平板": "tablet", "阅读器": "reader", "充电宝": "charger",
    "充电器": "charger", "音箱": "speaker", "咖啡机": "coffee maker espresso machine", "T恤": "t-shirt",
    "夹克": "jacket", "外套": "jacket", "书架": "bookshelf", "椅子": "chair", "头盔": "helmet", "自行车": "bicycle",
    "行李箱": "luggage", "伞": "umbrella", "净化器": "purifier", "吸尘器": "vacuum", "香水": "perfume",
    "滑板": "skateboard", "烤架": "grill", "瑜伽垫": "yoga mat", "哑铃": "dumbbell", "枕头": "pillow",
    "毯子": "blanket", "毛毯": "blanket", "笔记本": "notebook", "太阳镜": "sunglasses", "牙刷": "toothbrush",
    "挂钟": "clock", "钟": "clock", "水管": "hose", "宠物床": "pet bed", "化妆": "makeup", "恒温器": "thermostat",
    "大号": "large", "中号": "medium", "小号": "small",
}  # fmt: skip
_MAX_LINES = 8


def english_words(text: str) -> str:
    """`text` with the store's English words for the Chinese product, colour and size words in it appended."""
    extra = [en for zh, en in _ZH_WORDS.items() if zh in text] + descriptive_words(text)
    return f"{text} {' '.join(extra)}" if extra else text


def statuses_named(text: str) -> tuple[str, ...]:
    """The order statuses a description names ("the delivered one", "还没发货的")."""
    return tuple(s for pattern, statuses in _STATUS_WORDS if pattern.search(text) for s in statuses)


def errand_named(text: str) -> Errand | None:
    """The errand a question names ("can I still cancel it?", "能换货吗"), if any."""
    return next((errand for errand, pattern in _ERRAND_WORDS if pattern.search(text)), None)


def _contents(text: str) -> str:
    """What a description says about an order's contents, without its status, recency and price words."""
    patterns = (*(p for p, _ in _STATUS_WORDS), _ID_ENDING, _RECENT, _CHEAPEST, _PRICIEST, _LARGER, _SMALLER, _IN_STOCK)
    for pattern in patterns:
        text = pattern.sub(" ", text)
    return english_words(text)


class StoreAnswers:
    def __init__(self, knowledge: StoreKnowledge) -> None:
        self.knowledge = knowledge
        self._topics: dict[str, Callable[[AskInfo, _Ask], Draft]] = {
            "list_orders": self._list_orders,
            "order_details": self._order_details,
            "order_address": self._order_address,
            "order_payment": self._order_payment,
            "refund_destination": self._refund_destination,
            "payment_methods": self._payment_methods,
            "default_address": self._default_address,
            "variants": self._variants,
            "policy_limit": self._policy_limit,
        }

    def answer(
        self,
        command: AskInfo,
        *,
        user_id: str | None,
        language: str,
        errand: Errand | None = None,
        order_id: str | None = None,
    ) -> Draft:
        """The answer to `command` for the verified `user_id`; `errand` and `order_id` are the errand in progress
        (what a question without its own order or errand is about). A refusal of the store (no identity, an order
        not on the account) is the answer, with the refused read recorded."""
        ask = _Ask(user_id or "", language, errand, order_id)
        try:
            return self._topics[command.topic](command, ask)
        except PolicyError as exc:
            draft = Draft(exc.text(language))
            arguments = {"topic": command.topic, "order_id": command.order_id or order_id}
            draft.actions.append(
                Action(name=f"info_{command.topic}", arguments=arguments, status="refused", result=exc.to_dict())
            )
            return draft

    # --- orders --------------------------------------------------------------------------------------------------
    def _list_orders(self, command: AskInfo, ask: _Ask) -> Draft:
        lang, about = ask.language, command.about or ""
        every = self.knowledge.orders(ask.user_id, acting_user=ask.user_id)
        if not every:
            return Draft(render("no_orders", lang))
        # "my orders" describes none in particular; "the delivered one", "the lamp", "my latest" do.
        if not (statuses_named(about) or words(_contents(about)) or _RECENT.search(about) or _ID_ENDING.search(about)):
            about = ""
        matches = self._matches(ask, about)
        if about and not matches:
            found, text = every, render("info_no_match", lang, about=about, orders=_order_lines(every, lang))
        elif about:
            found = [m.order for m in matches]
            if _RECENT.search(about):
                found = found[:1]
            text = render("info_orders_matching", lang, about=about, orders=_order_lines(found, lang))
        else:
            found, text = every, render("info_orders", lang, orders=_order_lines(every, lang))
        return _draft(text, "find_orders", {"about": about}, found, result={"orders": [o.order_id for o in found]})

    def _order_details(self, command: AskInfo, ask: _Ask) -> Draft:
        order = self._order(command, ask)
        if isinstance(order, Draft):
            return order
        details = self.knowledge.order_details(order.order_id, acting_user=ask.user_id)
        lang = ask.language
        tracking = render("tracking", lang, ids=", ".join(details.tracking)) if details.tracking else ""
        text = " ".join(
            (
                render(
                    "order_status",
                    lang,
                    order_id=order.order_id,
                    status=status_text(order.status, lang),
                    items=_list((describe_item(i) for i in order.items), lang),
                    total=money(order.total),
                    tracking=tracking,
                ).strip(),
                render("info_ships_to", lang, order_id=order.order_id, address=order.address.one_line()),
                _payments_text(details, lang),
            )
        )
        draft = _draft(text, "get_order_details", {"order_id": order.order_id}, [order], {"status": order.status})
        draft.facts.amounts |= _payment_facts(details)
        return draft

    def _order_address(self, command: AskInfo, ask: _Ask) -> Draft:
        order = self._order(command, ask)
        if isinstance(order, Draft):
            return order
        text = render("info_ships_to", ask.language, order_id=order.order_id, address=order.address.one_line())
        return _draft(text, "get_order_details", {"order_id": order.order_id}, [order], {"address": "shown"})

    def _order_payment(self, command: AskInfo, ask: _Ask) -> Draft:
        order = self._order(command, ask)
        if isinstance(order, Draft):
            return order
        details = self.knowledge.order_details(order.order_id, acting_user=ask.user_id)
        draft = _draft(
            _payments_text(details, ask.language),
            "get_order_details",
            {"order_id": order.order_id},
            [order],
            {"payment_methods": [t.payment_method_id for t in order.payment_history]},
        )
        draft.facts.amounts |= _payment_facts(details)
        return draft

    # --- money ---------------------------------------------------------------------------------------------------
    def _refund_destination(self, command: AskInfo, ask: _Ask) -> Draft:
        order = self._order(command, ask)
        if isinstance(order, Draft):
            return order
        action = self._action(command, ask, order)
        lang = ask.language
        limits = self.knowledge.errand_limits(order.order_id, action, acting_user=ask.user_id)
        if not limits.allowed or limits.refund is None:
            text = limits.refusal_zh if lang == "zh" else limits.refusal
            return _draft(text or "", "errand_limits", {"order_id": order.order_id, "action": action}, [order])
        draft = _draft(
            _refund_text(limits.refund, lang),
            "refund_route",
            {"order_id": order.order_id, "action": action},
            [order],
            {"refunds": {p.method_id: p.amount for p in limits.refund.refunds}},
        )
        draft.facts.amounts |= {p.amount for p in limits.refund.refunds}
        draft.facts.amounts |= _balances(limits.refund.choices)
        draft.facts.policy_text = self.knowledge.db.policy() or ""
        return draft

    def _payment_methods(self, command: AskInfo, ask: _Ask) -> Draft:
        methods = self.knowledge.payment_methods(ask.user_id, acting_user=ask.user_id)
        text = render(
            "info_payment_methods",
            ask.language,
            methods=_list((_method(m, ask.language) for m in methods), ask.language),
        )
        draft = _draft(text, "get_user_details", {"user_id": ask.user_id}, [], {"payment_methods": len(methods)})
        draft.facts.amounts |= _balances(methods)
        return draft

    def _default_address(self, command: AskInfo, ask: _Ask) -> Draft:
        address = self.knowledge.default_address(ask.user_id, acting_user=ask.user_id)
        text = render("info_default_address", ask.language, address=address.one_line())
        return _draft(text, "get_user_details", {"user_id": ask.user_id}, [], {"address": "shown"})

    # --- the policy ----------------------------------------------------------------------------------------------
    def _policy_limit(self, command: AskInfo, ask: _Ask) -> Draft:
        order = self._order(command, ask)
        if isinstance(order, Draft):
            return order
        lang, status = ask.language, status_text(order.status, ask.language)
        errand = errand_named(command.about or "") or ask.errand
        arguments = {"order_id": order.order_id}
        if errand is None:
            allowed = [
                a
                for a in ACTION_STATUS
                if self.knowledge.errand_limits(order.order_id, a, acting_user=ask.user_id).allowed
            ]
            if not allowed:
                text = render("info_limit_closed", lang, order_id=order.order_id, status=status)
            else:
                errands = _list((render(f"info_errand_{a}", lang) for a in allowed), lang)
                text = render("info_limit_open", lang, order_id=order.order_id, status=status, errands=errands)
            return _draft(text, "errand_limits", arguments, [order], {"allowed": allowed})
        action = ERRAND_ACTIONS[errand]
        limits = self.knowledge.errand_limits(order.order_id, action, acting_user=ask.user_id)
        arguments["action"] = action
        if not limits.allowed:
            text = limits.refusal_zh if lang == "zh" else limits.refusal
            return _draft(text or "", "errand_limits", arguments, [order], {"allowed": False})
        values = {"order_id": order.order_id, "status": status}
        if errand == "cancel":
            text = render("info_limit_cancel", lang, **values, reasons=_reasons(lang))
        elif errand == "modify":
            text = render("info_limit_modify", lang, **values)
        elif errand == "exchange":
            text = render("info_limit_exchange", lang, **values)
        elif errand == "address_change":
            text = render("info_limit_address", lang, **values)
        else:
            text = render("info_limit_return", lang, **values)
        draft = _draft(text, "errand_limits", arguments, [order], {"allowed": True})
        if limits.refund is not None and errand in ("cancel", "return"):
            draft.reply = f"{draft.reply} {_refund_text(limits.refund, lang)}"
            draft.facts.amounts |= {p.amount for p in limits.refund.refunds} | _balances(limits.refund.choices)
            draft.facts.policy_text = self.knowledge.db.policy() or ""
        return draft

    # --- variants ------------------------------------------------------------------------------------------------
    def _variants(self, command: AskInfo, ask: _Ask) -> Draft:
        lang, about = ask.language, command.about or ""
        found = self._product_for(command, ask)
        if isinstance(found, Draft):
            return found
        product, current = found
        query = _variant_query(about, product, current)
        arguments = {"product_id": product.product_id, "about": about}
        if (
            query.step_option
            and current is not None
            and not self.knowledge.variants(
                product.product_id, VariantQuery(step=query.step, step_option=query.step_option), current=current
            )
        ):
            option = query.step_option
            text = render(
                "info_no_step",
                lang,
                product=product.name,
                option=option,
                value=current.options.get(option, ""),
                direction=render("info_larger" if query.step > 0 else "info_smaller", lang),
            )
            return _draft(text, "get_product_details", arguments, [], {"variants": 0})
        views = self.knowledge.variants(product.product_id, query, current=current)
        if not views:
            text = render("info_variants_none", lang, product=product.name, wanted=_wanted(query, views) or about)
            return _draft(text, "get_product_details", arguments, [], {"variants": 0})
        head = render(
            "info_variants", lang, product=product.name, wanted=_wanted_text(query, views, lang), n=len(views)
        )
        # A colour the product does not come in: say so before what it does come in.
        missing = [c for c in descriptive_words(about) if c not in _values(product)]
        if missing:
            none = render("info_variants_none", lang, product=product.name, wanted=", ".join(missing))
            head = f"{none} {head}"
        lines = [
            render("info_variant_line", lang, i=i, options=_options(v), item_id=v.item_id, price=money(v.price))
            + stock(v.available, lang)
            for i, v in enumerate(views[:_MAX_LINES], start=1)
        ]
        if len(views) > _MAX_LINES:
            lines.append(render("info_more", lang, n=len(views) - _MAX_LINES))
        draft = _draft("\n".join([head, *lines]), "get_product_details", arguments, [], {"variants": len(views)})
        draft.facts.products = [_grounded(v) for v in views[:_MAX_LINES]]
        draft.facts.amounts |= {v.price for v in views[:_MAX_LINES]}
        return draft

    def _product_for(self, command: AskInfo, ask: _Ask) -> Draft | tuple[StoreProduct, OrderItem | None]:
        """The product a variants question is about, and the customer's item of it when they have one: an item of
        the named order (or of their orders) that the description names, else a product type it names, else the
        only item of the errand's order."""
        about = _contents(command.about or "")
        order_id = command.order_id or ask.order_id
        items: list[OrderItem] = []
        if order_id and about.strip():
            items = self.knowledge.find_items(order_id, acting_user=ask.user_id, about=about)
        if not items and about.strip() and ask.user_id:
            items = [i for m in self._matches(ask, command.about or "") for i in m.items]
        by_item = {i.item_id: i for i in items}
        if len({i.product_id for i in items}) == 1:
            if len(by_item) == 1:
                return self._product(items[0].product_id), items[0]
            # Two of the customer's items of one product: its variants fit both; a size step needs one of them.
            if not (_LARGER.search(command.about or "") or _SMALLER.search(command.about or "")):
                return self._product(items[0].product_id), None
        if not items:
            products = self.knowledge.find_products(about) if about.strip() else []
            if len(products) == 1:
                return products[0], None
            if not products and order_id:
                only = self.knowledge.find_items(order_id, acting_user=ask.user_id)
                if len({i.product_id for i in only}) == 1:
                    return self._product(only[0].product_id), only[0]
            choices = [p.name for p in products] if products else []
        else:
            choices = [describe_item(i) for i in by_item.values()]
        if choices:
            return Draft(render("info_which_product", ask.language, choices=_list(choices, ask.language)))
        return Draft(render("info_product_unknown", ask.language, about=command.about or ""))

    def _product(self, product_id: str) -> StoreProduct:
        product = self.knowledge.db.product(product_id)
        if product is None:
            raise PolicyError(
                "product_not_found", f"I can't find product {product_id}.", f"没有找到商品 {product_id}。"
            )
        return product

    # --- resolving -----------------------------------------------------------------------------------------------
    def _matches(self, ask: _Ask, about: str) -> list[OrderMatch]:
        """The customer's orders a description names, by contents and status; newest first."""
        ending = _ID_ENDING.search(about)
        return self.knowledge.find_orders(
            ask.user_id,
            acting_user=ask.user_id,
            about=_contents(about),
            statuses=statuses_named(about),
            id_ending=next(g for g in ending.groups() if g) if ending else None,
        )

    def _order(self, command: AskInfo, ask: _Ask) -> Order | Draft:
        """The order a question is about: the one it names, else the one its description picks out, else the
        errand's, else the customer's only order; otherwise a question back listing the candidates."""
        if command.order_id:
            return self.knowledge.order_details(command.order_id, acting_user=ask.user_id).order
        lang, about = ask.language, command.about or ""
        matches = self._matches(ask, about) if about else []
        if matches and (len(matches) == 1 or _RECENT.search(about)):
            return matches[0].order
        every = self.knowledge.orders(ask.user_id, acting_user=ask.user_id)
        narrowed = 0 < len(matches) < len(every)
        if ask.order_id and not narrowed:
            return self.knowledge.order_details(ask.order_id, acting_user=ask.user_id).order
        if len(every) == 1:
            return every[0]
        if not every:
            return Draft(render("no_orders", lang))
        if narrowed:
            orders = [m.order for m in matches]
            text = render("info_which_order", lang, about=about, orders=_order_lines(orders, lang))
        else:
            orders = every
            text = render("which_order", lang, orders=_order_lines(orders, lang))
        return _draft(text, "find_orders", {"about": about}, orders, {"orders": [o.order_id for o in orders]})

    def _action(self, command: AskInfo, ask: _Ask, order: Order) -> str:
        """The errand a refund question is about: the one it names, the one in progress, else the one the order's
        status allows (a pending order is cancelled, a delivered one returned)."""
        errand = errand_named(command.about or "") or ask.errand
        if errand is not None and errand != "address_change":
            return ERRAND_ACTIONS[errand]
        return ERRAND_ACTIONS["return" if order.status == DELIVERED else "cancel"]


@dataclass(frozen=True)
class _Ask:
    """Who asks, in which language, during which errand on which order."""

    user_id: str
    language: str
    errand: Errand | None
    order_id: str | None


def _variant_query(about: str, product: StoreProduct, current: OrderItem | None) -> VariantQuery:
    """The option values, size step, price and stock wishes a description states for this product. Values the
    customer's item already has describe that item ("the black mouse in white"), not the one wanted."""
    text = english_words(about).lower()
    have = set(current.options.values()) if current else set()
    values = sorted(
        {
            value
            for variant in product.variants.values()
            for value in variant.options.values()
            if value not in have and re.search(rf"(?<![\w-]){re.escape(value.lower())}(?![\w-])", text)
        }
    )
    # A size step needs the customer's item to step from and a product whose sizes order.
    option = size_option(product) if current is not None else None
    option = option if option and size_order(product, option) else None
    step = (1 if _LARGER.search(about) else -1 if _SMALLER.search(about) else 0) if option else 0
    return VariantQuery(
        values=values,
        step=step,
        step_option=option if step else None,
        available_only=bool(_IN_STOCK.search(about)) and not _CHEAPEST.search(about),
        cheapest=bool(_CHEAPEST.search(about)),
    )


def _wanted(query: VariantQuery, views: list[VariantView]) -> str:
    """What the customer asked for, in the store's words ("blue", "size XL")."""
    parts = list(query.values)
    if query.step_option and views:
        parts.append(f"{query.step_option} {views[0].options.get(query.step_option, '')}")
    return ", ".join(parts)


def _wanted_text(query: VariantQuery, views: list[VariantView], lang: str) -> str:
    wanted = _wanted(query, views)
    return render("info_wanted", lang, wanted=wanted) if wanted else ""


def _values(product: StoreProduct) -> set[str]:
    return {value.lower() for variant in product.variants.values() for value in variant.options.values()}


def _options(view: VariantView) -> str:
    return ", ".join(f"{key} {value}" for key, value in view.options.items())


def _refund_text(route: RefundRoute, lang: str) -> str:
    if route.action == "cancel_pending_order":
        parts = [
            render(
                "info_refund_part",
                lang,
                amount=money(p.amount),
                method=_method(p.method, lang) if p.method else p.method_id,
                timing=render("info_timing_now" if p.immediate else "info_timing_days", lang),
            )
            for p in route.refunds
        ]
        return render("info_refund_cancel", lang, order_id=route.order_id, refunds=_list(parts, lang))
    if route.action == "return_delivered_order_items":
        cards = [m for m in route.choices if m.source == "gift_card" and m != route.original]
        extra = (
            render("info_refund_or_gift", lang, cards=_list((_method(m, lang) for m in cards), lang)) if cards else ""
        )
        original = _method(route.original, lang) if route.original else ""
        return render("info_refund_return", lang, order_id=route.order_id, original=original, gift_cards=extra)
    methods = _list((_method(m, lang) for m in route.choices), lang)
    return render("info_refund_swap", lang, order_id=route.order_id, methods=methods)


def _list(parts: Iterable[str], lang: str) -> str:
    return ("；" if lang == "zh" else "; ").join(parts)


def _payments_text(details: OrderDetails, lang: str) -> str:
    lines = [
        render(
            "info_paid_line" if p.transaction_type == "payment" else "info_refunded_line",
            lang,
            amount=money(p.amount),
            method=_method(p.method, lang) if p.method else p.payment_method_id,
        )
        for p in details.payments
    ]
    return render("info_paid_with", lang, order_id=details.order.order_id, payments=_list(lines, lang))


def _payment_facts(details: OrderDetails) -> set[float]:
    """The amounts a payments text states: the transactions, and the balance of a gift card it names."""
    return {p.amount for p in details.payments} | _balances([p.method for p in details.payments if p.method])


def _method(method: PaymentMethod, lang: str) -> str:
    return method.describe_zh() if lang == "zh" else method.describe()


def _balances(methods: list[PaymentMethod]) -> set[float]:
    return {m.balance for m in methods if m.balance is not None}


def _reasons(lang: str) -> str:
    if lang == "zh":
        return "或".join(f"“{CANCEL_REASONS_ZH[r]}”（{r}）" for r in CANCEL_REASONS)
    return " or ".join(f"'{r}'" for r in CANCEL_REASONS)


def _order_lines(orders: list[Order], lang: str) -> str:
    lines = (
        render(
            "info_order_line",
            lang,
            order_id=o.order_id,
            status=status_text(o.status, lang),
            items=", ".join(i.name for i in o.items),
        )
        for o in orders
    )
    return _list(lines, lang)


def _grounded(view: VariantView) -> GroundedProduct:
    # Titled by the item id its line shows: the guard ties each line's price and stock to that variant alone.
    # Its options are its data: a line may name them ("backlight none") without being an unfounded claim.
    data = f"{view.product_name} " + " ".join(f"{name} {value}" for name, value in view.options.items())
    return GroundedProduct(id=view.item_id, title=view.item_id, price=view.price, in_stock=view.available, data=data)


def _draft(
    text: str, action: str, arguments: dict[str, object], orders: list[Order], result: dict[str, object] | None = None
) -> Draft:
    """The answer with the orders it names (ids, statuses, item prices, totals) as facts, and the read it made."""
    facts = Facts(
        orders={o.order_id: o.status for o in orders},
        amounts={i.price for o in orders for i in o.items} | {o.total for o in orders},
    )
    draft = Draft(text, facts=facts)
    draft.actions.append(Action(name=action, arguments=dict(arguments), status="done", result=result or {}))
    return draft
