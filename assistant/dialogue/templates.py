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
    # --- the dialogue manager: a question asked a second time comes with choices, a third time with a person ---
    "ask_step_up_choices": {
        "en": "Before I change anything, please type your first name, last name and zip code, like 'John Smith 12345'.",
        "zh": "在修改之前，请输入您的名、姓和邮编，例如 “John Smith 12345”。",
    },
    "brief_step_up": {"en": "your first and last name and zip code?", "zh": "您的姓名和邮编？"},
    "ask_identity_choices": {
        "en": "To find your account I need one of these: the email on your account (like name@example.com), or your "
        "first name, last name and zip code (like 'John Smith 12345').",
        "zh": "为了找到您的账户，请提供以下任意一项：账户邮箱（如 name@example.com），"
        "或姓名加邮编（如 “John Smith 12345”）。",
    },
    "which_order_choices": {
        "en": "Please pick one order — its number, or an item in it: {choices}.",
        "zh": "请选择一个订单——说订单号，或订单里的某件商品即可：{choices}。",
    },
    "ask_reason_choices": {
        "en": "Please pick one reason for cancelling order {order_id}: 1) no longer needed, or 2) ordered by mistake.",
        "zh": "请为取消订单 {order_id} 选择一个原因：1）不再需要（no longer needed）；"
        "2）下错单（ordered by mistake）。",
    },
    "ask_items_choices": {
        "en": "Please name the items by number or name: {choices}. Say 'all' for every item.",
        "zh": "请用编号或名称说明是哪些商品：{choices}。全部请说“全部”。",
    },
    "same_item_unavailable": {
        "en": "A new {item} exactly like yours is not available any more. Which option should it become instead? "
        "Available: {options}.",
        "zh": "与您这件完全相同的 {item} 目前已无货。请问要换成哪个选项？可选：{options}。",
    },
    "items_not_in_order": {
        "en": "I couldn't find {names} in order {order_id}; it contains: {items}. Which items do you mean?",
        "zh": "订单 {order_id} 里没有找到 {names}；该订单包含：{items}。请问您指的是哪些商品？",
    },
    "ask_new_options_choices": {
        "en": "Which one should {item} become? For example: {choices}.",
        "zh": "{item} 要换成哪一款？例如：{choices}。",
    },
    "ask_address_choices": {
        "en": "I still need the new address. Write it as street, city, state and zip (like '123 Main Street, Austin, "
        "TX 78701'), or say 'my default address' ({default}), or 'the same address as order #W…'.",
        "zh": "我还需要新地址。请按 街道、城市、州、邮编 的格式写（如 “123 Main Street, Austin, TX 78701”），或说"
        "“用默认地址”（{default}），或“和订单 #W… 的地址一样”。",
    },
    "ask_what_to_change": {
        "en": "OK, I haven't changed anything. What should be different — {choices}? Or say 'never mind' to drop "
        "this request.",
        "zh": "好的，没有做任何更改。请问哪里需要改——{choices}？如果不办了，请说“算了”。",
    },
    "ask_what_to_change_choices": {
        "en": "Nothing has been changed. Tell me the corrected detail (for example {choices}), or say 'never mind' "
        "and I'll drop it.",
        "zh": "目前没有任何更改。请告诉我要更正的内容（例如{choices}），或说“算了”取消这个请求。",
    },
    "change_choices": {
        "en": "other items, another option, another payment method, the reason or the order",
        "zh": "换别的商品、别的选项、别的支付方式、原因或订单",
    },
    "offer_person": {
        "en": "I'm sorry, I still can't tell what you'd like here. Shall I connect you with a person? Say 'yes' for a "
        "human agent, or 'start over' to begin again.",
        "zh": "抱歉，我还是没能明白您的意思。需要为您转接人工客服吗？需要请回答“是”，或说“重新开始”。",
    },
    "refused_again": {
        "en": "As I said, I can't do that: {reason} I can help with something else on your orders, or connect you with "
        "a person.",
        "zh": "如前所述，无法办理：{reason} 我可以帮您处理订单的其他事项，或为您转接人工客服。",
    },
    "refused_offer_person": {
        "en": "The store's policy doesn't let me do that, and I can't make an exception. Shall I connect you with a "
        "person? Say 'yes' for a human agent, or tell me what else I can do.",
        "zh": "本店政策不允许这样办理，我也无法破例。需要为您转接人工客服吗？需要请回答“是”，或告诉我还能帮您做什么。",
    },
    "going_in_circles": {
        "en": "We seem to be going in circles, sorry. Shall I connect you with a person? Say 'yes' for a human agent, "
        "or 'start over' to begin again.",
        "zh": "抱歉，我们好像在绕圈子。需要为您转接人工客服吗？需要请回答“是”，或说“重新开始”。",
    },
    "resume": {"en": "Back to your request: {question}", "zh": "回到您的请求：{question}"},
    "errand_dropped": {
        "en": "OK, I've dropped that request — nothing was changed. What would you like to do?",
        "zh": "好的，已放弃这个请求，没有做任何更改。请问还需要什么帮助？",
    },
    "errand_dropped_next": {
        "en": "OK, I've dropped that request — nothing was changed. Next: {next}",
        "zh": "好的，已放弃这个请求，没有做任何更改。下一项：{next}",
    },
    "next_errand": {"en": "Next: {next}", "zh": "下一项：{next}"},
    "queued": {"en": "After this: {errands}.", "zh": "之后还要办理：{errands}。"},
    "switched_errand": {
        "en": "Order {order_id} is {status}, so what I can do is {errand} instead.",
        "zh": "订单 {order_id} 的状态是{status}，可以改为办理：{errand}。",
    },
    "errand_cancel": {"en": "cancel order {order_id}", "zh": "取消订单 {order_id}"},
    "errand_return": {"en": "return items of order {order_id}", "zh": "退回订单 {order_id} 的商品"},
    "errand_exchange": {"en": "exchange items of order {order_id}", "zh": "换货（订单 {order_id}）"},
    "errand_modify": {"en": "change items of order {order_id}", "zh": "修改订单 {order_id} 的商品"},
    "errand_address_change": {"en": "change the address of order {order_id}", "zh": "修改订单 {order_id} 的地址"},
    "errand_order_status": {"en": "the status of order {order_id}", "zh": "查询订单 {order_id} 的状态"},
    "errand_cancel_some": {"en": "cancel an order", "zh": "取消一个订单"},
    "errand_return_some": {"en": "return items of an order", "zh": "退回一个订单的商品"},
    "errand_exchange_some": {"en": "exchange items of an order", "zh": "换货（另一订单）"},
    "errand_modify_some": {"en": "change items of an order", "zh": "修改一个订单的商品"},
    "errand_address_change_some": {"en": "change an address", "zh": "修改地址"},
    "errand_order_status_some": {"en": "the status of an order", "zh": "查询订单状态"},
    "limit_exchange": {
        "en": "Please note: an order can be exchanged only once, so list everything you want to exchange now.",
        "zh": "请注意：每个订单只能换货一次，请现在一次列出所有要换的商品。",
    },
    "limit_modify": {
        "en": "Please note: an order's items can be changed only once, so list every item you want to change now.",
        "zh": "请注意：订单商品只能修改一次，请现在一次列出所有要修改的商品。",
    },
    "brief_identity": {"en": "your email, or name and zip code?", "zh": "您的邮箱，或姓名和邮编？"},
    "brief_order": {"en": "which order?", "zh": "是哪个订单？"},
    "brief_reason": {
        "en": "the reason for cancelling {order_id}: no longer needed or ordered by mistake?",
        "zh": "取消 {order_id} 的原因：不再需要还是下错单？",
    },
    "brief_items": {"en": "which items of order {order_id}?", "zh": "订单 {order_id} 中的哪些商品？"},
    "brief_options": {"en": "what should {item} become?", "zh": "{item} 要换成哪一款？"},
    "brief_address": {"en": "the new address?", "zh": "新地址是什么？"},
    "brief_confirm": {"en": "shall I go ahead: {summary}?", "zh": "是否确认：{summary}？"},
    "brief_person": {"en": "shall I connect you with a person?", "zh": "需要为您转接人工客服吗？"},
    "brief_change": {"en": "what should be different?", "zh": "哪里需要改？"},
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
    # Answers from what the store knows (assistant/dialogue/store_answers.py).
    "info_orders": {"en": "Your orders: {orders}.", "zh": "您的订单：{orders}。"},
    "info_order_line": {"en": "{order_id} ({status}): {items}", "zh": "{order_id}（{status}）：{items}"},
    "info_orders_matching": {
        "en": 'Your orders matching "{about}": {orders}.',
        "zh": "与“{about}”相符的订单：{orders}。",
    },
    "info_no_match": {
        "en": 'I don\'t see an order matching "{about}" on your account. Your orders: {orders}.',
        "zh": "您的账户中没有与“{about}”相符的订单。您的订单：{orders}。",
    },
    "info_which_order": {
        "en": 'Several of your orders match "{about}": {orders}. Which one do you mean?',
        "zh": "有多个订单与“{about}”相符：{orders}。请问是哪一个？",
    },
    "info_ships_to": {"en": "Order {order_id} ships to {address}.", "zh": "订单 {order_id} 的收货地址：{address}。"},
    "info_paid_with": {
        "en": "Payments of order {order_id}: {payments}.",
        "zh": "订单 {order_id} 的付款记录：{payments}。",
    },
    "info_paid_line": {"en": "{amount} paid with {method}", "zh": "{method} 支付 {amount}"},
    "info_refunded_line": {"en": "{amount} refunded to {method}", "zh": "{amount} 已退回 {method}"},
    "info_default_address": {"en": "Your default address is {address}.", "zh": "您的默认地址：{address}。"},
    "info_payment_methods": {"en": "Your payment methods: {methods}.", "zh": "您的支付方式：{methods}。"},
    "info_refund_cancel": {
        "en": "If you cancel order {order_id}, {refunds}.",
        "zh": "如果取消订单 {order_id}，{refunds}。",
    },
    "info_refund_part": {"en": "{amount} goes back to {method} {timing}", "zh": "{amount} 将{timing}退回 {method}"},
    "info_timing_now": {"en": "at once", "zh": "立即"},
    "info_timing_days": {"en": "within 5 to 7 business days", "zh": "在 5 到 7 个工作日内"},
    "info_refund_return": {
        "en": "A refund for items of order {order_id} goes to the original payment method, {original}{gift_cards}.",
        "zh": "订单 {order_id} 的退货款退回原支付方式 {original}{gift_cards}。",
    },
    "info_refund_or_gift": {"en": ", or to a gift card: {cards}", "zh": "，也可以退至礼品卡：{cards}"},
    "info_refund_swap": {
        "en": "A price difference on order {order_id} is paid with, or refunded to, a payment method you choose: "
        "{methods}. A gift card must cover what it pays.",
        "zh": "订单 {order_id} 的差价由您选择的支付方式支付或退回：{methods}。用礼品卡支付时余额须足够。",
    },
    "info_limit_cancel": {
        "en": "Order {order_id} is {status}, so you can cancel it; the reason must be {reasons}.",
        "zh": "订单 {order_id} 的状态是{status}，可以取消；取消原因须为{reasons}。",
    },
    "info_limit_modify": {
        "en": "Order {order_id} is {status}, so its items can be changed to other available options of the same "
        "products, once only: after that no further change or cancellation is possible, so name every item you "
        "want to change at once.",
        "zh": "订单 {order_id} 的状态是{status}，可以把商品改为同一商品的其他有货选项，但只能修改一次：之后订单不能再"
        "取消或修改，请一次说明所有要修改的商品。",
    },
    "info_limit_exchange": {
        "en": "Order {order_id} is {status}, so its items can be exchanged for other available options of the same "
        "products. Only one exchange is possible per order, so name every item you want to exchange at once.",
        "zh": "订单 {order_id} 的状态是{status}，可以把商品换成同一商品的其他有货选项。每个订单只能换货一次，请一次说明"
        "所有要换的商品。",
    },
    "info_limit_return": {
        "en": "Order {order_id} is {status}, so its items can be returned.",
        "zh": "订单 {order_id} 的状态是{status}，可以退货。",
    },
    "info_limit_address": {
        "en": "Order {order_id} is {status}, so its shipping address can be changed.",
        "zh": "订单 {order_id} 的状态是{status}，可以修改收货地址。",
    },
    "info_limit_open": {
        "en": "Order {order_id} is {status}. What I can do with it: {errands}.",
        "zh": "订单 {order_id} 的状态是{status}。可以办理：{errands}。",
    },
    "info_limit_closed": {
        "en": "Order {order_id} is {status}, so no cancellation, change, return or exchange is possible for it.",
        "zh": "订单 {order_id} 的状态是{status}，已不能取消、修改、退货或换货。",
    },
    "info_errand_cancel_pending_order": {"en": "cancel it", "zh": "取消订单"},
    "info_errand_modify_pending_order_items": {"en": "change its items (once only)", "zh": "修改商品（仅一次）"},
    "info_errand_modify_pending_order_address": {"en": "change its shipping address", "zh": "修改收货地址"},
    "info_errand_modify_pending_order_payment": {"en": "change its payment method", "zh": "更换支付方式"},
    "info_errand_return_delivered_order_items": {"en": "return items", "zh": "退货"},
    "info_errand_exchange_delivered_order_items": {"en": "exchange items (once only)", "zh": "换货（仅一次）"},
    "info_variants": {"en": "{product} options{wanted} ({n}):", "zh": "{product} 的款式{wanted}（{n} 个）："},
    "info_wanted": {"en": " matching {wanted}", "zh": "（符合：{wanted}）"},
    "info_variant_line": {
        "en": "{i}. {options} (item {item_id}) — {price}, ",
        "zh": "{i}. {options}（商品编号 {item_id}）— {price}，",
    },
    "info_more": {"en": "…and {n} more.", "zh": "……另有 {n} 个。"},
    "info_variants_none": {
        "en": "No {product} option matches {wanted}.",
        "zh": "没有符合“{wanted}”的 {product} 款式。",
    },
    "info_no_step": {
        "en": "Your {product} is {option} {value}; the store has no {direction} {option}.",
        "zh": "您的 {product} 是 {option} {value}；本店没有更{direction}的{option}。",
    },
    "info_larger": {"en": "larger", "zh": "大"},
    "info_smaller": {"en": "smaller", "zh": "小"},
    "info_which_product": {
        "en": "Which product do you mean: {choices}?",
        "zh": "请问是哪件商品：{choices}？",
    },
    "info_product_unknown": {
        "en": "I couldn't find \"{about}\" among your orders or the store's products. Which product do you mean?",
        "zh": "在您的订单和本店商品中没有找到“{about}”。请问是哪件商品？",
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
