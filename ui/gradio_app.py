"""The Gradio chat at `/`: streamed replies, product cards with view / add-to-cart buttons, image upload (moderated
by the engine), a user picker with the demo users and a live profile panel, thumbs up/down stored as events.
English and Chinese.

The user picker is for the local demo only (no API key configured, loopback only): it chats as any shopper and
shows their activity. With keys configured the page is open to the world, so everyone on it is an anonymous
shopper: no picker, no profile, no events, whatever a crafted Gradio API call sends as the user.

It talks to the same `Runtime` as the HTTP API, in process: the dialogue engine for turns, the event ingestor for
behaviour, the profile store and recommender for the panel.
"""

from __future__ import annotations

import html
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI
from starlette.middleware import Middleware

from assistant.runtime import Runtime
from assistant.store.loading import SAMPLE_STORE_DIR
from ui.api.middleware import PerIpRateLimit

log = logging.getLogger(__name__)

LANGS = {"English": "en", "中文": "zh"}
GUEST = "guest"

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Shopping assistant",
        "chat": "Conversation",
        "placeholder": "Ask for products, compare them, or ask about an order… (you can attach a photo)",
        "user": "Shopping as",
        "new": "New conversation",
        "profile": "Live profile",
        "recent": "Recent activity",
        "brands": "Brands",
        "categories": "Categories",
        "price": "Usual price range",
        "recs": "Recommended for you",
        "nothing": "No activity yet: view or add a product to see the profile change.",
        "guest": "Pick a shopper to see their profile.",
        "view": "View",
        "cart": "Add to cart",
        "in_stock": "In stock",
        "out": "Out of stock",
        "viewed": "Recorded: viewed",
        "carted": "Recorded: added to cart",
        "liked": "Thanks! Recorded your rating of",
        "no_rating": "Thanks for the feedback.",
        "need_user": "Pick a shopper first: events belong to a user.",
        "image": "(photo attached)",
        "error": "Sorry, that did not work:",
        "handoff": "A human colleague will take over this conversation.",
    },
    "zh": {
        "title": "购物助手",
        "chat": "对话",
        "placeholder": "查找、比较商品，或咨询订单……（可附上照片）",
        "user": "当前用户",
        "new": "新对话",
        "profile": "实时画像",
        "recent": "最近行为",
        "brands": "品牌偏好",
        "categories": "品类偏好",
        "price": "常见价格区间",
        "recs": "为你推荐",
        "nothing": "还没有行为：查看或加购商品，画像会随之变化。",
        "guest": "选择一位用户以查看画像。",
        "view": "查看",
        "cart": "加入购物车",
        "in_stock": "有货",
        "out": "缺货",
        "viewed": "已记录：查看",
        "carted": "已记录：加入购物车",
        "liked": "谢谢！已记录您对以下商品的评价：",
        "no_rating": "感谢您的反馈。",
        "need_user": "请先选择用户：行为事件属于某个用户。",
        "image": "（已附照片）",
        "error": "抱歉，操作失败：",
        "handoff": "人工客服将接手此对话。",
    },
}

EVENT_NAMES = {
    "en": {
        "view": "viewed",
        "search": "searched",
        "add_to_cart": "added to cart",
        "purchase": "bought",
        "rate": "rated",
    },
    "zh": {"view": "查看", "search": "搜索", "add_to_cart": "加购", "purchase": "购买", "rate": "评价"},
}

CSS = """
.product-card {border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px; height: 100%;
  display: flex; flex-direction: column; gap: 4px; background: var(--background-fill-primary);}
.product-card .thumb {height: 96px; border-radius: 8px; display: flex; align-items: center; justify-content: center;
  font-size: 34px; font-weight: 700; color: #fff; overflow: hidden; position: relative;}
.product-card .thumb img {position: absolute; inset: 0; width: 100%; height: 100%; object-fit: cover;}
.product-card h4 {margin: 4px 0 0; font-size: 14px; line-height: 1.3;}
.product-card .price {font-weight: 700; font-size: 15px;}
.product-card .stock-yes {color: #1a7f37;} .product-card .stock-no {color: #b42318;}
.product-card ul {margin: 2px 0 0; padding-left: 16px; font-size: 12px; color: var(--body-text-color-subdued);}
.profile-bar {display: inline-block; height: 8px; background: var(--color-accent); border-radius: 4px;
  vertical-align: middle; margin-right: 6px;}
"""

_PALETTE = ("#3b6fd8", "#d8703b", "#3bb08f", "#8e5bd8", "#d83b7a", "#5b8ed8", "#a0a03b")


def demo_users() -> list[tuple[str, str]]:
    """The sample store's shoppers (name and id), plus an anonymous guest."""
    users: list[tuple[str, str]] = [("Guest", GUEST)]
    path = SAMPLE_STORE_DIR / "users.json"
    if path.is_file():
        for user_id, record in json.loads(path.read_text(encoding="utf-8")).items():
            name = record.get("name", {})
            users.append((f"{name.get('first_name', '')} {name.get('last_name', '')} ({user_id})".strip(), user_id))
    return users


def _price(value: float | None, currency: str) -> str:
    if value is None:
        return ""
    symbol = {"USD": "$", "EUR": "€", "GBP": "£", "CNY": "¥"}.get(currency, "")
    return f"{symbol}{value:,.2f}" if symbol else f"{value:,.2f} {currency}"


def card_html(card: dict[str, Any], image_url: str | None, lang: str) -> str:
    """One product card; every value comes from the chat response (the catalog), escaped."""
    t = TEXT[lang]
    title = html.escape(card.get("title", ""))
    colour = _PALETTE[sum(map(ord, card.get("id", ""))) % len(_PALETTE)]
    # The initial shows when there is no image or it cannot load (offline catalog images are often unreachable).
    image = f'<img src="{html.escape(image_url)}" alt="" onerror="this.remove()">' if image_url else ""
    why = card.get("why") or []
    why_items = "".join(f"<li>{html.escape(str(w))}</li>" for w in (why if isinstance(why, list) else [why])[:3])
    stock = (
        f'<span class="stock-yes">{t["in_stock"]}</span>'
        if card.get("in_stock")
        else f'<span class="stock-no">{t["out"]}</span>'
    )
    return (
        f'<div class="product-card" data-product-id="{html.escape(card.get("id", ""))}">'
        f'<div class="thumb" style="background:{colour}">{html.escape(title[:1])}{image}</div>'
        f"<h4>{title}</h4>"
        f'<div class="price">{html.escape(_price(card.get("price"), card.get("currency", "USD")))}</div>'
        f"<div>{stock}</div><ul>{why_items}</ul></div>"
    )


class ChatUI:
    """Binds the Gradio page to one runtime."""

    def __init__(self, runtime: Runtime, *, pick_users: bool = True) -> None:
        self.runtime = runtime
        self.pick_users = pick_users

    def _user(self, user: str | None) -> str | None:
        """The shopper this page acts for: the picked one on the local demo, nobody once keys are configured."""
        if not self.pick_users:
            return None
        return user if user and user != GUEST else None

    # --- turns -----------------------------------------------------------------------------------------------
    def respond(
        self,
        box: dict[str, Any] | None,
        history: list[dict[str, Any]],
        state: dict[str, Any],
        user: str,
        lang: str,
        request: gr.Request | None = None,  # filled in by Gradio: the client's address limits identity attempts
    ) -> Iterator[tuple[Any, ...]]:
        t = TEXT[lang]
        text = ((box or {}).get("text") or "").strip()
        files = [f for f in (box or {}).get("files") or [] if f]
        if not text and not files:
            yield gr.update(), history, state, gr.update(), gr.update()
            return
        path = (files[0] if isinstance(files[0], str) else files[0].get("path")) if files else None
        image = Path(path).read_bytes() if path else None
        history = [*history]
        if path:
            history.append({"role": "user", "content": {"path": path}})
        history.append({"role": "user", "content": text or t["image"]})
        history.append({"role": "assistant", "content": "…"})
        yield gr.update(value=None), history, state, gr.update(), gr.update()

        streamed = ""
        done: dict[str, Any] | None = None
        try:
            events = self.runtime.dialogue.stream(
                text or t["image"],
                session_id=state.get("session_id"),
                user_id=self._user(user),
                image=image,
                client=request.client.host if request and request.client else None,
            )
            for event in events:
                if event.event == "token":
                    streamed += event.data["text"]
                    history[-1] = {"role": "assistant", "content": streamed}
                    yield gr.update(), history, state, gr.update(), gr.update()
                elif event.event == "products":  # cards before the reply is generated: show them at once
                    yield gr.update(), history, state, event.data["products"], gr.update()
                elif event.event == "done":
                    done = event.data
        except ValueError as exc:  # input the engine refuses (an unreadable image, ...)
            history[-1] = {"role": "assistant", "content": f"{t['error']} {exc}"}
            yield gr.update(), history, state, gr.update(), gr.update()
            return
        if done is None:
            raise gr.Error(t["error"])
        reply = done["reply"] + (f"\n\n_{t['handoff']}_" if done.get("handoff") else "")
        history[-1] = {"role": "assistant", "content": reply}
        products = done.get("products") or []
        state = {
            **state,
            "session_id": done["session_id"],
            "rated": {**state.get("rated", {}), str(len(history) - 1): [p["id"] for p in products]},
        }
        cards = products or gr.update()
        yield gr.update(), history, state, cards, self.profile(user, lang)

    def new_conversation(self, user: str, lang: str) -> tuple[Any, ...]:
        return [], {"session_id": None, "rated": {}}, [], self.profile(user, lang), ""

    # --- behaviour events ------------------------------------------------------------------------------------
    def record(self, kind: str, product_id: str, title: str, user: str, lang: str) -> tuple[str, str]:
        t = TEXT[lang]
        if not self._user(user):
            return self.profile(user, lang), t["need_user"]
        result = self.runtime.events.ingest([{"user_id": user, "type": kind, "product_id": product_id}])
        if result.rejected:
            return self.profile(user, lang), f"{t['error']} {result.rejected[0].error}"
        label = t["viewed"] if kind == "view" else t["carted"]
        return self.profile(user, lang), f"{label}: {title}"

    def rate(self, state: dict[str, Any], user: str, lang: str, like: gr.LikeData) -> tuple[str, str]:
        """Thumbs up/down on a reply is a rating (5 or 1) of the top product that reply showed."""
        t = TEXT[lang]
        index = like.index if isinstance(like.index, int) else like.index[0]
        shown = state.get("rated", {}).get(str(index)) or []
        if not shown:
            return self.profile(user, lang), t["no_rating"]
        if not self._user(user):
            return self.profile(user, lang), t["need_user"]
        liked = like.liked is True or like.liked == "Like"
        result = self.runtime.events.ingest(
            [{"user_id": user, "type": "rate", "product_id": shown[0], "value": 5 if liked else 1}]
        )
        if result.rejected:
            return self.profile(user, lang), f"{t['error']} {result.rejected[0].error}"
        product = self.runtime.catalog.get(shown[0])
        thumb = "👍" if liked else "👎"
        return self.profile(user, lang), f"{t['liked']} {product.title if product else shown[0]} ({thumb})"

    # --- profile panel ---------------------------------------------------------------------------------------
    def profile(self, user: str, lang: str) -> str:
        t = TEXT[lang]
        if not self._user(user):
            return f"### {t['profile']}\n{t['guest']}"
        personalization = self.runtime.personalization
        profile = self.runtime.profiles.get(personalization.user_key(user))
        lines = [f"### {t['profile']}"]
        if profile is None or not profile.version:
            lines.append(t["nothing"])
        else:
            summary = profile.summary()
            lines.append(f"**{t['recent']}**")
            for entry in reversed(summary["recent"][-5:]):
                product = self.runtime.catalog.get(entry["product_id"]) if entry["product_id"] else None
                when = time.strftime("%H:%M:%S", time.localtime(entry["ts"]))
                name = EVENT_NAMES[lang].get(entry["type"], entry["type"])
                lines.append(f"- {when} · {name} · {html.escape(product.title if product else entry['product_id'])}")
            for heading, scores in (
                (t["brands"], profile.brand_affinity()),
                (t["categories"], profile.category_affinity()),
            ):
                top = sorted(scores.items(), key=lambda kv: -kv[1])[:3]
                if top:
                    lines.append(f"\n**{heading}**")
                    lines += [
                        f'<span class="profile-bar" style="width:{int(60 * v) + 4}px"></span>'
                        f"{html.escape(k)} {v:.0%}<br>"
                        for k, v in top
                    ]
            if summary["price_band"]:
                low, high = summary["price_band"]
                lines.append(f"\n**{t['price']}**: ${low:,.0f} – ${high:,.0f}")
        recs = self.runtime.recommender.recommend(user, k=3)
        if recs:
            lines.append(f"\n**{t['recs']}**")
            lines += [f"- {html.escape(r.product.title)} — _{html.escape(r.why[0]) if r.why else ''}_" for r in recs]
        return "\n".join(lines)

    def relabel(self, lang_name: str, user: str) -> tuple[Any, ...]:
        lang = LANGS[lang_name]
        t = TEXT[lang]
        picker = (gr.update(label=t["user"]),) if self.pick_users else ()
        return (
            lang,
            gr.update(label=t["chat"]),
            gr.update(placeholder=t["placeholder"]),
            *picker,
            gr.update(value=t["new"]),
            f"## 🛍️ {t['title']}",
            self.profile(user, lang),
        )

    # --- layout ----------------------------------------------------------------------------------------------
    def build(self) -> gr.Blocks:
        t = TEXT["en"]
        users = demo_users()
        with gr.Blocks(title="commerce-assistant") as blocks:
            lang = gr.State("en")
            state = gr.State({"session_id": None, "rated": {}})
            cards = gr.State([])
            with gr.Row():
                heading = gr.Markdown(f"## 🛍️ {t['title']}")
                lang_pick = gr.Radio(
                    list(LANGS), value="English", show_label=False, container=False, elem_id="lang-pick"
                )
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label=t["chat"], height=460, elem_id="chatbot", feedback_options=("Like", "Dislike")
                    )
                    box = gr.MultimodalTextbox(
                        placeholder=t["placeholder"],
                        file_types=["image"],
                        sources=["upload"],
                        show_label=False,
                        elem_id="chat-input",
                        file_count="single",
                    )
                    note = gr.Markdown(elem_id="event-note")

                    @gr.render(inputs=[cards, lang])
                    def product_cards(shown: list[dict[str, Any]], code: str) -> None:
                        if not shown:
                            return
                        products = {p.id: p for p in self.runtime.catalog.get_many([c["id"] for c in shown])}
                        with gr.Row(elem_id="product-cards"):
                            for card in shown[:4]:
                                product = products.get(card["id"])
                                with gr.Column(min_width=170):
                                    gr.HTML(card_html(card, product.image_url if product else None, code))
                                    with gr.Row():
                                        view = gr.Button(TEXT[code]["view"], size="sm", elem_classes=["card-view"])
                                        cart = gr.Button(
                                            TEXT[code]["cart"], size="sm", variant="primary", elem_classes=["card-cart"]
                                        )
                                    pid, title = card["id"], card["title"]
                                    view.click(
                                        lambda u, c, p=pid, n=title: self.record("view", p, n, u, c),
                                        [user, lang],
                                        [profile, note],
                                    )
                                    cart.click(
                                        lambda u, c, p=pid, n=title: self.record("add_to_cart", p, n, u, c),
                                        [user, lang],
                                        [profile, note],
                                    )

                with gr.Column(scale=1, min_width=260):
                    user: gr.Dropdown | gr.State
                    if self.pick_users:
                        user = gr.Dropdown(
                            choices=users,
                            value=users[1][1] if len(users) > 1 else GUEST,
                            label=t["user"],
                            allow_custom_value=True,
                            elem_id="user-pick",
                        )
                    else:
                        user = gr.State(GUEST)  # server-side: a client cannot set it
                    new = gr.Button(t["new"], elem_id="new-chat")
                    profile = gr.Markdown(elem_id="profile-panel")

            # Gradio runs one event of a kind at a time by default; chats of different users may overlap.
            box.submit(
                self.respond,
                [box, chatbot, state, user, lang],
                [box, chatbot, state, cards, profile],
                concurrency_limit=4,
            )
            chatbot.like(self.rate, [state, user, lang], [profile, note])
            new.click(self.new_conversation, [user, lang], [chatbot, state, cards, profile, note])
            if self.pick_users:
                user.change(self.new_conversation, [user, lang], [chatbot, state, cards, profile, note])
            relabelled = [lang, chatbot, box, *([user] if self.pick_users else []), new, heading, profile]
            lang_pick.change(self.relabel, [lang_pick, user], relabelled)
            blocks.load(self.profile, [user, lang], [profile])
        return blocks


def mount_gradio(app: FastAPI, runtime: Runtime) -> None:
    """Mounts the chat at `/` (after every other route, so they keep precedence). The user picker only on the
    keyless local demo: with keys configured, anonymous shoppers only."""
    chat = ChatUI(runtime, pick_users=not runtime.settings.keys_configured)
    # The page's chat turns count against the same per-IP limit as the API's (`app.state.ip_limiter`).
    limits = [Middleware(PerIpRateLimit, limiter=app.state.ip_limiter)]
    gr.mount_gradio_app(app, chat.build(), path="/", css=CSS, footer_links=["api"], app_kwargs={"middleware": limits})
