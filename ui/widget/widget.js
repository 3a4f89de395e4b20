/*
 * commerce-assistant chat widget. Embed with one tag:
 *   <script src="https://shop.example/widget.js" data-api-key="PUBLISHABLE_KEY" data-user-id="u1"
 *           data-user-hash="HMAC" data-lang="en|zh" data-color="#0b5fff" defer></script>
 * data-user-id and data-user-hash go together: the hash is the lowercase hex HMAC-SHA256 of the user id under
 * COMMERCE_ASSISTANT_IDENTITY_SECRET, computed by the store's server for the signed-in shopper (leave both out
 * for an anonymous shopper). Optional: data-api-base (default: the script's own origin), data-title.
 * No dependencies. Everything lives in a shadow root, so the host page's styles and ours never mix.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__commerceAssistantWidget) return;
  window.__commerceAssistantWidget = true;

  var cfg = {
    apiKey: script.getAttribute("data-api-key") || "",
    userId: script.getAttribute("data-user-id") || "",
    userHash: script.getAttribute("data-user-hash") || "",
    lang: (script.getAttribute("data-lang") || navigator.language || "en").toLowerCase().indexOf("zh") === 0 ? "zh" : "en",
    color: script.getAttribute("data-color") || "#0b5fff",
    apiBase: (script.getAttribute("data-api-base") || new URL(script.src, location.href).origin).replace(/\/$/, ""),
    title: script.getAttribute("data-title") || ""
  };

  var TEXT = {
    en: {
      open: "Open shopping assistant", close: "Close assistant", title: "Shopping assistant",
      placeholder: "Ask about products or your order…", send: "Send", label: "Your message",
      hello: "Hi! I can help you find products or with an order.", inStock: "In stock", outOfStock: "Out of stock",
      view: "View", cart: "Add to cart", added: "Added to cart", error: "Sorry, something went wrong: ",
      newChat: "New conversation", handoff: "A human colleague will take over this conversation.",
      thinking: "Thinking…", products: "Products"
    },
    zh: {
      open: "打开购物助手", close: "关闭助手", title: "购物助手",
      placeholder: "咨询商品或订单…", send: "发送", label: "您的消息",
      hello: "您好！我可以帮您找商品或处理订单。", inStock: "有货", outOfStock: "缺货",
      view: "查看", cart: "加入购物车", added: "已加入购物车", error: "抱歉，出错了：",
      newChat: "新对话", handoff: "人工客服将接手此对话。",
      thinking: "思考中…", products: "商品"
    }
  }[cfg.lang];

  var storeKey = "commerce-assistant:" + cfg.apiBase + ":" + (cfg.userId || "anonymous");
  var saved = load();

  function load() {
    try {
      var value = JSON.parse(localStorage.getItem(storeKey) || "null");
      if (value && Array.isArray(value.messages)) return value;
    } catch (e) { /* storage unavailable or corrupt: start afresh */ }
    return { sessionId: null, messages: [] };
  }

  function persist() {
    saved.messages = saved.messages.slice(-60);
    try { localStorage.setItem(storeKey, JSON.stringify(saved)); } catch (e) { /* private mode: keep in memory */ }
  }

  var CSS = [
    ":host{all:initial;position:fixed;right:20px;bottom:20px;z-index:2147483000;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'PingFang SC','Microsoft YaHei',sans-serif;color:#1b1f24}",
    "*{box-sizing:border-box}",
    // Inherited properties would flow in from the host page through the host element: reset them on our roots.
    ".panel,.fab{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'PingFang SC','Microsoft YaHei',sans-serif;color:#1b1f24;letter-spacing:normal;word-spacing:normal;text-transform:none;text-align:left;font-style:normal;font-weight:400}",
    "button{font:inherit;cursor:pointer}",
    ":focus-visible{outline:3px solid var(--c);outline-offset:2px}",
    ".fab{width:58px;height:58px;border-radius:50%;border:0;background:var(--c);color:#fff;box-shadow:0 6px 18px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}",
    ".fab svg{width:28px;height:28px;fill:currentColor}",
    ".panel{position:absolute;right:0;bottom:72px;width:min(380px,calc(100vw - 40px));height:min(560px,calc(100vh - 110px));background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.28);display:flex;flex-direction:column;overflow:hidden}",
    ".panel[hidden]{display:none}",
    "header{background:var(--c);color:#fff;padding:12px 14px;display:flex;align-items:center;gap:8px}",
    "header h2{font-size:16px;margin:0;flex:1;font-weight:600}",
    "header button{background:transparent;border:0;color:#fff;padding:4px 8px;border-radius:6px}",
    "header button:hover{background:rgba(255,255,255,.18)}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f6f7f9}",
    ".log>*{flex-shrink:0}",
    ".msg{max-width:86%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word}",
    ".user{align-self:flex-end;background:var(--c);color:#fff;border-bottom-right-radius:3px}",
    ".bot{align-self:flex-start;background:#fff;border:1px solid #e3e6ea;border-bottom-left-radius:3px}",
    ".note{align-self:center;font-size:12px;color:#5a6270;text-align:center}",
    ".err{align-self:flex-start;background:#fff1f0;border:1px solid #f3c1bd;color:#8a1c12}",
    ".cards{display:flex;gap:8px;overflow-x:auto;padding:2px 0 6px;align-self:stretch}",
    ".card{flex:0 0 170px;background:#fff;border:1px solid #e3e6ea;border-radius:10px;padding:9px;display:flex;flex-direction:column;gap:4px}",
    ".card h3{font-size:13px;margin:0;font-weight:600;line-height:1.3}",
    ".price{font-weight:700}",
    ".stock{font-size:12px}.stock.no{color:#a11}.stock.yes{color:#176f2c}",
    ".why{font-size:11px;color:#5a6270;margin:0;padding-left:14px}",
    ".card .row{display:flex;gap:4px;margin-top:auto}",
    ".card .row button{flex:1;font-size:12px;padding:5px 4px;border-radius:6px;border:1px solid var(--c);background:#fff;color:var(--c)}",
    ".card .row button.primary{background:var(--c);color:#fff}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e3e6ea;background:#fff}",
    "textarea{flex:1;resize:none;height:42px;max-height:120px;padding:10px;border:1px solid #c9ced6;border-radius:10px;font:inherit;color:inherit}",
    "form button{border:0;border-radius:10px;background:var(--c);color:#fff;padding:0 14px}",
    "form button:disabled{opacity:.55;cursor:default}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}"
  ].join("\n");

  // An autonomous custom element: the host page's tag selectors (div, button, ...) cannot match it.
  var host = document.createElement("commerce-assistant-widget");
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" + CSS + "</style>" +
    '<div class="panel" id="ca-panel" role="dialog" aria-modal="false" aria-labelledby="ca-title" hidden>' +
    '<header><h2 id="ca-title"></h2><button type="button" class="new"></button>' +
    '<button type="button" class="close">✕</button></header>' +
    '<div class="log" role="log" aria-live="polite" aria-relevant="additions text" tabindex="0"></div>' +
    '<form><label class="sr" for="ca-input"></label><textarea id="ca-input" rows="1"></textarea>' +
    '<button type="submit" class="send"></button></form></div>' +
    '<button type="button" class="fab" aria-controls="ca-panel" aria-expanded="false">' +
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg></button>';
  host.style.setProperty("--c", cfg.color);

  var $ = function (sel) { return root.querySelector(sel); };
  var panel = $(".panel"), fab = $(".fab"), log = $(".log"), form = $("form"), input = $("textarea"), sendBtn = $(".send");
  $("#ca-title").textContent = cfg.title || TEXT.title;
  $(".close").setAttribute("aria-label", TEXT.close);
  $(".new").textContent = "↺";
  $(".new").setAttribute("aria-label", TEXT.newChat);
  $(".new").title = TEXT.newChat;
  $("label").textContent = TEXT.label;
  input.placeholder = TEXT.placeholder;
  sendBtn.textContent = TEXT.send;
  fab.setAttribute("aria-label", TEXT.open);

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function scroll() { log.scrollTop = log.scrollHeight; }

  function formatPrice(price, currency) {
    if (price == null) return "";
    try {
      return new Intl.NumberFormat(cfg.lang === "zh" ? "zh-CN" : "en-US", { style: "currency", currency: currency || "USD" }).format(price);
    } catch (e) { return price + " " + (currency || ""); }
  }

  function headers() {
    var h = { "Content-Type": "application/json" };
    if (cfg.apiKey) h["X-API-Key"] = cfg.apiKey;
    if (cfg.userId && cfg.userHash) h["X-User-Hash"] = cfg.userHash;
    return h;
  }

  function sendEvent(type, productId) {
    if (!cfg.userId) return Promise.resolve();
    return fetch(cfg.apiBase + "/v1/events", {
      method: "POST", headers: headers(),
      body: JSON.stringify({ user_id: cfg.userId, type: type, product_id: productId })
    }).catch(function () { /* an event lost is not worth interrupting the shopper */ });
  }

  function renderCards(products) {
    var wrap = el("div", "cards");
    wrap.setAttribute("role", "list");
    wrap.setAttribute("aria-label", TEXT.products);
    products.forEach(function (p) {
      var card = el("div", "card");
      card.setAttribute("role", "listitem");
      card.setAttribute("data-product-id", p.id);
      card.appendChild(el("h3", null, p.title));
      card.appendChild(el("div", "price", formatPrice(p.price, p.currency)));
      card.appendChild(el("div", "stock " + (p.in_stock ? "yes" : "no"), p.in_stock ? TEXT.inStock : TEXT.outOfStock));
      var why = Array.isArray(p.why) ? p.why : (p.why ? [p.why] : []);
      if (why.length) {
        var ul = el("ul", "why");
        why.slice(0, 3).forEach(function (w) { ul.appendChild(el("li", null, w)); });
        card.appendChild(ul);
      }
      if (cfg.userId) {
        var row = el("div", "row");
        var view = el("button", null, TEXT.view);
        view.type = "button";
        view.setAttribute("aria-label", TEXT.view + ": " + p.title);
        view.addEventListener("click", function () { sendEvent("view", p.id); });
        var cart = el("button", "primary", TEXT.cart);
        cart.type = "button";
        cart.setAttribute("aria-label", TEXT.cart + ": " + p.title);
        cart.addEventListener("click", function () {
          sendEvent("add_to_cart", p.id).then(function () { cart.textContent = TEXT.added; cart.disabled = true; });
        });
        row.appendChild(view); row.appendChild(cart);
        card.appendChild(row);
      }
      wrap.appendChild(card);
    });
    return wrap;
  }

  function render(m) {
    if (m.role === "products") return log.appendChild(renderCards(m.products));
    var cls = { user: "user", bot: "bot", note: "note", error: "err" }[m.role] || "note";
    return log.appendChild(el("div", "msg " + cls, m.text));
  }

  function add(m) {
    saved.messages.push(m);
    persist();
    var node = render(m);
    scroll();
    return node;
  }

  function redraw() {
    log.textContent = "";
    if (!saved.messages.length) render({ role: "note", text: TEXT.hello });
    saved.messages.forEach(render);
    scroll();
  }

  function setOpen(open) {
    panel.hidden = !open;
    fab.setAttribute("aria-expanded", String(open));
    fab.setAttribute("aria-label", open ? TEXT.close : TEXT.open);
    if (open) { scroll(); input.focus(); } else { fab.focus(); }
    try { sessionStorage.setItem(storeKey + ":open", open ? "1" : ""); } catch (e) { /* ignore */ }
  }

  // Server-sent events over fetch (EventSource cannot POST or send headers): frames end at a blank line.
  function parseFrames(buffer, onFrame) {
    var parts = buffer.replace(/\r\n/g, "\n").split("\n\n");
    var rest = parts.pop();
    parts.forEach(function (frame) {
      var event = "message", data = [];
      frame.split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) event = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
      });
      if (data.length) onFrame(event, data.join("\n"));
    });
    return rest;
  }

  var busy = false;

  function ask(text) {
    busy = true;
    sendBtn.disabled = true;
    add({ role: "user", text: text });
    var bubble = render({ role: "bot", text: TEXT.thinking });
    bubble.setAttribute("aria-busy", "true");
    var streamed = "", products = null, final = null, early = null;
    var body = { message: text, session_id: saved.sessionId || undefined, user_id: cfg.userId || undefined };

    return fetch(cfg.apiBase + "/v1/chat/stream", { method: "POST", headers: headers(), body: JSON.stringify(body) })
      .then(function (res) {
        if (!res.ok) {
          return res.json().catch(function () { return {}; }).then(function (j) {
            throw new Error((j.error && j.error.message) || ("HTTP " + res.status));
          });
        }
        var reader = res.body.getReader(), decoder = new TextDecoder(), buffer = "";
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) return;
            buffer = parseFrames(buffer + decoder.decode(chunk.value, { stream: true }), function (event, data) {
              var payload = JSON.parse(data);
              if (event === "token") { streamed += payload.text; bubble.textContent = streamed; scroll(); }
              else if (event === "products") {
                // Cards come before the reply text is generated: show them at once.
                products = payload.products || payload;
                if (early) early.remove();
                early = products.length ? log.appendChild(renderCards(products)) : null;
                scroll();
              }
              else if (event === "done") final = payload;
              else if (event === "error") throw new Error((payload.error && payload.error.message) || "stream error");
            });
            return pump();
          });
        }
        return pump();
      })
      .then(function () {
        bubble.remove();
        if (early) early.remove();
        var reply = final ? final.reply : streamed;
        if (final && final.session_id) saved.sessionId = final.session_id;
        add({ role: "bot", text: reply });
        var cards = (final && final.products && final.products.length) ? final.products : products;
        if (cards && cards.length) add({ role: "products", products: cards });
        if (final && final.handoff) add({ role: "note", text: TEXT.handoff });
      })
      .catch(function (err) {
        bubble.remove();
        if (early) early.remove();
        add({ role: "error", text: TEXT.error + err.message });
      })
      .then(function () { busy = false; sendBtn.disabled = false; input.focus(); });
  }

  fab.addEventListener("click", function () { setOpen(panel.hidden); });
  $(".close").addEventListener("click", function () { setOpen(false); });
  $(".new").addEventListener("click", function () { saved = { sessionId: null, messages: [] }; persist(); redraw(); input.focus(); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { e.stopPropagation(); setOpen(false); } });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    ask(text);
  });

  function mount() {
    document.body.appendChild(host);
    redraw();
    var wasOpen = false;
    try { wasOpen = !!sessionStorage.getItem(storeKey + ":open"); } catch (e) { /* ignore */ }
    if (wasOpen) { panel.hidden = false; fab.setAttribute("aria-expanded", "true"); fab.setAttribute("aria-label", TEXT.close); }
  }

  window.CommerceAssistant = { open: function () { setOpen(true); }, close: function () { setOpen(false); }, ask: ask };
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
