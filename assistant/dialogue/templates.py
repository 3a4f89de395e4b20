"""Reply templates in English and Chinese: the complete answer when there is no model (`--llm none`), when the
model fails or times out, and for customer-service steps whose wording must carry exact details."""

from __future__ import annotations

from typing import Any

from assistant.store.models import STATUS_ZH

_T: dict[str, dict[str, str]] = {
    "ask_identity": {
        "en": "Before I can look at any order I need to verify your identity: please give me the email on your "
        "account, or your first and last name and zip code.",
        "zh": "在查看订单之前，我需要先核实您的身份：请提供账户邮箱，或您的姓名和邮编。",
    },
    "identity_not_found": {
        "en": "I couldn't find an account with those details. Please check the email, or give your first and last "
        "name and zip code.",
        "zh": "没有找到与这些信息匹配的账户。请核对邮箱，或提供您的姓名和邮编。",
    },
    "identity_not_caller": {
        "en": "Those details don't match the account you're signed in with. Please give the email on your account, "
        "or your first and last name and zip code.",
        "zh": "这些信息与您当前登录的账户不符。请提供您账户的邮箱，或您的姓名和邮编。",
    },
    "identity_locked": {
        "en": "Too many identity checks failed. For your security, please try again in {minutes} minutes, or ask "
        "for a human agent.",
        "zh": "身份核实失败次数过多。为了您的账户安全，请在 {minutes} 分钟后再试，或请求人工客服。",
    },
    "ask_step_up": {
        "en": "To change anything on your account I also need your first and last name and the zip code of your "
        "default address.",
        "zh": "要修改账户或订单，我还需要您的姓名和默认地址的邮编。",
    },
    "step_up_failed": {
        "en": "Those details don't match the account verified in this conversation, so I can't make changes.",
        "zh": "这些信息与本次对话中已核实的账户不符，因此无法进行修改。",
    },
    "identity_ok": {"en": "Thanks, {name}, you're verified.", "zh": "谢谢，{name}，身份已核实。"},
    "one_user_only": {
        "en": "I can only help with the account verified in this conversation ({name}); I can't access another "
        "customer's account or orders.",
        "zh": "本次对话只能处理已核实的账户（{name}），无法访问其他客户的账户或订单。",
    },
    "which_order": {
        "en": "Which order do you mean? Your orders: {orders}.",
        "zh": "请问是哪个订单？您的订单：{orders}。",
    },
    "no_orders": {"en": "I don't see any orders on your account.", "zh": "您的账户下没有订单。"},
    "order_status": {
        "en": "Order {order_id} is {status}. Items: {items}. Total {total}.{tracking}",
        "zh": "订单 {order_id} 的状态是：{status}。商品：{items}。合计 {total}。{tracking}",
    },
    "tracking": {"en": " Tracking number: {ids}.", "zh": "物流单号：{ids}。"},
    "ask_reason": {
        "en": "I can cancel order {order_id} (status: {status}). What is the reason: 'no longer needed' or "
        "'ordered by mistake'?",
        "zh": "订单 {order_id}（状态：{status}）可以取消。请问取消原因是“不再需要”（no longer needed）还是“下错单”"
        "（ordered by mistake）？",
    },
    "ask_items": {
        "en": "Which items of order {order_id} do you mean? It contains: {items}.",
        "zh": "订单 {order_id} 中的哪些商品？订单包含：{items}。",
    },
    "ask_new_options": {
        "en": "What should {item} become? Available options: {options}.",
        "zh": "{item} 要换成哪个选项？可选：{options}。",
    },
    "ask_address": {
        "en": "Please give the full new address: street, apartment or suite (if any), city, state and zip code, "
        "e.g. '123 Main Street, Apt 4, Austin, TX 78701'.",
        "zh": "请提供完整的新地址（英文）：街道、门牌/单元（可选）、城市、州和邮编，例如 “123 Main Street, Apt 4, "
        "Austin, TX 78701”。",
    },
    "propose": {
        "en": "Here is what I will do: {summary}. Shall I go ahead? Please answer yes or no.",
        "zh": "我将为您办理：{summary}。确认办理吗？请回答“是”或“否”。",
    },
    "reconfirm": {
        "en": "I need an explicit yes or no: {summary}. Shall I go ahead?",
        "zh": "请明确回答“是”或“否”：{summary}。确认办理吗？",
    },
    "done": {"en": "Done: {summary}.{after}", "zh": "已办理：{summary}。{after}"},
    "declined": {
        "en": "OK, I haven't changed anything. Is there anything else I can help with?",
        "zh": "好的，没有做任何更改。还有什么可以帮您？",
    },
    "refused": {"en": "I can't do that: {reason}", "zh": "无法办理：{reason}"},
    "how_can_i_help": {
        "en": "How can I help with your orders or account?",
        "zh": "请问订单或账户方面有什么可以帮您？",
    },
    "nothing_pending": {
        "en": "There's nothing waiting for your confirmation. How can I help?",
        "zh": "目前没有待确认的操作。请问有什么可以帮您？",
    },
    "handoff": {
        "en": "I'm transferring you to a human agent now (ticket {ticket}); they will see a summary of your request.",
        "zh": "正在为您转接人工客服（工单 {ticket}），客服会看到您的问题摘要。",
    },
    "search_results": {
        "en": 'Here is what I found for "{query}" ({n}):',
        "zh": "为您找到 {n} 件与“{query}”相关的商品：",
    },
    "compatible_results": {
        "en": 'Products whose data names "{model}" ({n}):',
        "zh": "资料中注明适用于“{model}”的商品（{n} 件）：",
    },
    "compatible_none": {
        "en": 'I couldn\'t find any product whose data names "{model}". Please check the model name, or search '
        "without it.",
        "zh": "没有找到资料中注明适用于“{model}”的商品。请核对型号，或不带型号再搜索。",
    },
    "gift_clarify": {
        "en": "Happy to help with a gift! What kind of thing would they like: {choices}? A budget helps too.",
        "zh": "很乐意帮您挑礼物！对方会喜欢哪一类：{choices}？告诉我预算也有帮助。",
    },
    "gift_clarify_open": {
        "en": "Happy to help with a gift! What are they into (gaming, music, photography, the office…), and what "
        "is your budget?",
        "zh": "很乐意帮您挑礼物！对方平时喜欢什么（游戏、音乐、摄影、办公……）？预算大概多少？",
    },
    "search_none": {
        "en": 'I couldn\'t find products matching "{query}". Try other words or a wider price range.',
        "zh": "没有找到与“{query}”匹配的商品，请换个说法或放宽价格范围。",
    },
    "search_unavailable": {
        "en": "Product search isn't available right now.",
        "zh": "商品搜索暂时不可用。",
    },
    "product_line": {"en": "{i}. {title} — {price}, {stock}", "zh": "{i}. {title} — {price}，{stock}"},
    "in_stock": {"en": "in stock", "zh": "有货"},
    "out_of_stock": {"en": "out of stock", "zh": "缺货"},
    "no_price": {"en": "price not listed", "zh": "未标价"},
    "which_product": {
        "en": "Which product do you mean? Search for something first, or say 'the first one', 'the second one'…",
        "zh": "请问是哪件商品？请先搜索商品，或说“第一个”“第二个”……",
    },
    "qa_answer": {"en": "{title}: {facts}.", "zh": "{title}：{facts}。"},
    "qa_unknown": {
        "en": "I don't know — the product data for {title} doesn't say.",
        "zh": "我不确定——{title} 的商品资料里没有这项信息。",
    },
    "spec_unknown": {
        "en": "The product data doesn't say more about that.",
        "zh": "商品资料里没有这方面的信息。",
    },
    "unconfirmed": {"en": "— the product data doesn't confirm that.", "zh": "——商品资料无法确认这一点。"},
    "compare_need_two": {
        "en": "To compare, show me at least two products first (search, then say 'compare the first two').",
        "zh": "比较需要至少两件商品：请先搜索，然后说“比较前两个”。",
    },
    "compare_not_found": {
        "en": "I couldn't find {names} among the products shown or in the catalog. Which products do you mean?",
        "zh": "在已展示的商品和目录中都没有找到{names}。请问您指的是哪几件商品？",
    },
    "compare_intro": {"en": "Comparison:", "zh": "对比："},
    "compare_cheapest": {"en": "Cheapest: {title} at {price}.", "zh": "最便宜的是 {title}，{price}。"},
    "recommend_intro": {"en": "Picked for you:", "zh": "为您挑选："},
    "policy_answer": {"en": "From the store policy: {text}", "zh": "根据本店政策：{text}"},
    "policy_unknown": {
        "en": "The store policy doesn't cover that; I can transfer you to a human agent if you like.",
        "zh": "本店政策没有涉及这一点；如有需要，我可以为您转接人工客服。",
    },
    "small_talk": {
        "en": "Hello! I can help you find and compare products, and with your orders (status, cancel, return, "
        "exchange, address changes).",
        "zh": "您好！我可以帮您查找和比较商品，也可以处理订单（查询状态、取消、退货、换货、修改地址）。",
    },
    "thanks": {"en": "You're welcome! Anything else?", "zh": "不客气！还有什么可以帮您？"},
    "out_of_scope": {
        "en": "Sorry, I can only help with shopping and orders in this store. If you need something else from the "
        "store, I can transfer you to a human agent.",
        "zh": "抱歉，我只能帮您处理本店的购物和订单问题。如需其他帮助，我可以为您转接人工客服。",
    },
    "image_received": {
        "en": "I received your image (I can't look at pictures, only check them). ",
        "zh": "已收到您的图片（我无法识别图片内容，只做安全检查）。",
    },
    "image_blocked": {
        "en": "I can't accept that image: {reason} ",
        "zh": "无法接受这张图片：{reason} ",
    },
}


def render(key: str, language: str, **values: Any) -> str:
    """The template `key` in `language` (English when there is no translation), filled with `values`."""
    texts = _T[key]
    return texts.get(language, texts["en"]).format(**values)


def money(value: float | None, currency: str = "USD", language: str = "en") -> str:
    if value is None:
        return render("no_price", language)
    symbol = {"USD": "$", "EUR": "€", "GBP": "£", "CNY": "¥"}.get(currency.upper())
    return f"{symbol}{value:,.2f}" if symbol else f"{value:,.2f} {currency}"


def stock(in_stock: bool, language: str) -> str:
    return render("in_stock" if in_stock else "out_of_stock", language)


def status_text(status: str, language: str) -> str:
    return STATUS_ZH.get(status, status) if language == "zh" else status
