// The review console: plain JS over the review API (/v1/review/*), reviewer token kept for this tab only.
(function () {
  "use strict";
  var TOKEN_KEY = "commerce-assistant:reviewer-token";
  var token = sessionStorage.getItem(TOKEN_KEY) || "";
  var items = [], selected = -1, busy = false;
  var $ = function (id) { return document.getElementById(id); };

  function api(path, options) {
    options = options || {};
    options.headers = Object.assign({ Authorization: "Bearer " + token }, options.headers || {});
    return fetch(path, options).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) {
          var err = new Error((body.error && body.error.message) || ("HTTP " + res.status));
          err.status = res.status;
          throw err;
        }
        return body;
      });
    });
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text != null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function when(iso) {
    var d = new Date(iso);
    return isNaN(d) ? String(iso || "") : d.toLocaleString();
  }

  function flagsOf(item) { return item.categories || (item.verdict && item.verdict.flags) || []; }

  // --- sign-in ---------------------------------------------------------------------------------------------
  function showApp(on) {
    $("login").hidden = on;
    $("app").hidden = !on;
    $("logout").hidden = !on;
    $("who").textContent = on ? "signed in" : "";
  }

  $("login").addEventListener("submit", function (e) {
    e.preventDefault();
    token = $("token").value.trim();
    $("login-error").textContent = "";
    api("/v1/review/items?limit=1").then(function () {
      sessionStorage.setItem(TOKEN_KEY, token);
      $("token").value = "";
      showApp(true);
      refresh();
    }).catch(function (err) {
      $("login-error").textContent = err.message;
      $("token").focus();
    });
  });

  $("logout").addEventListener("click", function () {
    sessionStorage.removeItem(TOKEN_KEY);
    token = "";
    showApp(false);
    $("token").focus();
  });

  // --- queue -----------------------------------------------------------------------------------------------
  function query() {
    var q = new URLSearchParams({ status: $("f-status").value, limit: "200" });
    if ($("f-category").value) q.set("category", $("f-category").value);
    if ($("f-source").value) q.set("source", $("f-source").value);
    return q.toString();
  }

  function fillOptions(select, values) {
    var current = select.value;
    var known = {};
    Array.prototype.forEach.call(select.options, function (o) { known[o.value] = true; });
    values.forEach(function (v) {
      if (v && !known[v]) { select.appendChild(el("option", v)).value = v; known[v] = true; }
    });
    select.value = current;
  }

  function refresh() {
    $("status").textContent = "Loading…";
    var keepId = selected >= 0 && items[selected] ? items[selected].id : null;
    return api("/v1/review/items?" + query()).then(function (body) {
      items = body.items || [];
      fillOptions($("f-category"), [].concat.apply([], items.map(flagsOf)));
      fillOptions($("f-source"), items.map(function (i) { return i.source; }));
      renderRows();
      var idx = items.findIndex(function (i) { return i.id === keepId; });
      select(idx >= 0 ? idx : (items.length ? 0 : -1));
      $("status").textContent = items.length + " item(s)";
      loadChart();
    }).catch(handleError($("status")));
  }

  function handleError(target) {
    return function (err) {
      if (err.status === 401) { showApp(false); $("login-error").textContent = "Please sign in again."; return; }
      target.textContent = err.message;
    };
  }

  function renderRows() {
    var tbody = $("rows");
    tbody.textContent = "";
    items.forEach(function (item, i) {
      var tr = el("tr");
      tr.tabIndex = -1;
      tr.dataset.id = item.id;
      tr.setAttribute("aria-selected", "false");
      tr.appendChild(el("td", when(item.created_at)));
      tr.appendChild(el("td", item.kind + (item.source ? " · " + item.source : "")));
      tr.appendChild(el("td", item.content, "content"));
      var flags = el("td");
      flagsOf(item).forEach(function (f) { flags.appendChild(el("span", f, "badge")); });
      tr.appendChild(flags);
      tr.addEventListener("click", function () { select(i); });
      tbody.appendChild(tr);
    });
  }

  function select(i) {
    selected = i;
    Array.prototype.forEach.call($("rows").children, function (tr, j) {
      tr.setAttribute("aria-selected", String(j === i));
    });
    $("decide-error").textContent = "";
    if (i < 0) { $("item").hidden = true; $("empty").hidden = false; return; }
    $("rows").children[i].scrollIntoView({ block: "nearest" });
    showItem(items[i]);
    api("/v1/review/items/" + encodeURIComponent(items[i].id)).then(function (full) {
      if (items[selected] && items[selected].id === full.id) showItem(full);
    }).catch(function () { /* the list entry is already shown */ });
  }

  function showItem(item) {
    $("empty").hidden = true;
    $("item").hidden = false;
    $("d-content").textContent = item.content;
    var meta = $("d-meta");
    meta.textContent = "";
    [["Id", item.id], ["Kind", item.kind], ["Source", item.source], ["User", item.user_id],
     ["Status", item.status], ["Decision", item.verdict && item.verdict.decision], ["Created", when(item.created_at)],
     ["Reviewer", item.reviewer], ["Note", item.note]].forEach(function (pair) {
      if (pair[1] == null || pair[1] === "") return;
      meta.appendChild(el("dt", pair[0]));
      meta.appendChild(el("dd", String(pair[1])));
    });
    var scores = $("d-scores");
    scores.textContent = "";
    var cats = (item.verdict && item.verdict.categories) || {};
    Object.keys(cats).sort(function (a, b) { return cats[b] - cats[a]; }).forEach(function (name) {
      scores.appendChild(el("span", name));
      var bar = el("div", null, "bar"), fill = el("i");
      fill.style.width = Math.round(100 * cats[name]) + "%";
      bar.appendChild(fill);
      scores.appendChild(bar);
      scores.appendChild(el("span", cats[name].toFixed(2)));
    });
    var ctx = $("d-context");
    ctx.textContent = "";
    var turns = item.context || [];
    if (!turns.length) ctx.appendChild(el("p", "No earlier turns."));
    turns.forEach(function (t) {
      if (typeof t === "string") t = { role: "turn", content: t };  // items queued before turns had roles
      var p = el("p");
      p.appendChild(el("b", (t.role || "turn") + ": "));
      p.appendChild(document.createTextNode(t.content || ""));
      ctx.appendChild(p);
    });
    var pending = item.status === "pending";
    $("approve").disabled = !pending;
    $("reject").disabled = !pending;
  }

  function decide(decision) {
    var item = items[selected];
    if (!item || busy || item.status !== "pending") return;
    busy = true;
    api("/v1/review/items/" + encodeURIComponent(item.id) + "/decision", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ decision: decision, note: $("note").value || null })
    }).then(function () {
      $("note").value = "";
      $("status").textContent = (decision === "approve" ? "Approved " : "Rejected ") + item.id;
      var next = selected;
      return refresh().then(function () { if (items.length) select(Math.min(next, items.length - 1)); });
    }).catch(handleError($("decide-error"))).then(function () { busy = false; });
  }

  $("approve").addEventListener("click", function () { decide("approve"); });
  $("reject").addEventListener("click", function () { decide("reject"); });
  $("refresh").addEventListener("click", refresh);
  ["f-status", "f-category", "f-source"].forEach(function (id) { $(id).addEventListener("change", refresh); });

  document.addEventListener("keydown", function (e) {
    if ($("app").hidden || e.ctrlKey || e.metaKey || e.altKey) return;
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    if (typing) { if (e.key === "Escape") document.activeElement.blur(); return; }
    var handlers = {
      j: function () { if (selected < items.length - 1) select(selected + 1); },
      k: function () { if (selected > 0) select(selected - 1); },
      a: function () { decide("approve"); },
      r: function () { decide("reject"); },
      n: function () { $("note").focus(); },
      u: refresh
    };
    if (handlers[e.key]) { e.preventDefault(); handlers[e.key](); }
  });

  // --- chart: stacked bars of decisions per day, lines of flagged categories per day -----------------------
  var PALETTE = ["#0b5fff", "#e8710a", "#9334e6", "#12a4af", "#d01884", "#7cb342", "#5f6368", "#c5221f", "#f9ab00"];
  var DECISIONS = [["approved", "#176f2c"], ["rejected", "#a3231a"], ["pending", "#e0b400"]];

  function loadChart() {
    api("/v1/review/stats?days=30").then(drawChart).catch(function () { /* chart is optional context */ });
  }

  function drawChart(stats) {
    var days = stats.days || [];
    var canvas = $("chart"), dpr = window.devicePixelRatio || 1;
    var w = canvas.clientWidth, h = canvas.clientHeight;
    canvas.width = w * dpr; canvas.height = h * dpr;
    var g = canvas.getContext("2d");
    g.scale(dpr, dpr);
    g.clearRect(0, 0, w, h);
    g.font = "11px system-ui, sans-serif";
    var pad = { l: 34, r: 10, t: 10, b: 22 };
    var cats = {};
    days.forEach(function (d) { Object.keys(d.categories || {}).forEach(function (c) { cats[c] = true; }); });
    var catNames = Object.keys(cats).sort();
    var max = 1;
    days.forEach(function (d) {
      max = Math.max(max, (d.approved || 0) + (d.rejected || 0) + (d.pending || 0));
      catNames.forEach(function (c) { max = Math.max(max, (d.categories || {})[c] || 0); });
    });
    var plotW = w - pad.l - pad.r, plotH = h - pad.t - pad.b;
    var y = function (v) { return pad.t + plotH - (v / max) * plotH; };
    g.strokeStyle = "#dde1e6"; g.fillStyle = "#5a6270";
    for (var t = 0; t <= 4; t++) {
      var v = Math.round((max * t) / 4);
      g.beginPath(); g.moveTo(pad.l, y(v)); g.lineTo(w - pad.r, y(v)); g.stroke();
      g.fillText(String(v), 4, y(v) + 4);
    }
    if (!days.length) { g.fillText("No decisions yet.", pad.l + 10, pad.t + 20); $("chart-legend").textContent = ""; return; }
    var step = plotW / days.length, barW = Math.min(48, Math.max(3, step * 0.6));
    days.forEach(function (d, i) {
      var x = pad.l + i * step + (step - barW) / 2, base = 0;
      DECISIONS.forEach(function (pair) {
        var n = d[pair[0]] || 0;
        if (!n) return;
        g.fillStyle = pair[1];
        g.fillRect(x, y(base + n), barW, y(base) - y(base + n));
        base += n;
      });
      if (days.length <= 12 || i % Math.ceil(days.length / 10) === 0) {
        g.fillStyle = "#5a6270";
        g.fillText(String(d.date).slice(5), x, h - 6);
      }
    });
    catNames.forEach(function (c, k) {
      g.strokeStyle = PALETTE[k % PALETTE.length]; g.lineWidth = 2; g.beginPath();
      days.forEach(function (d, i) {
        var px = pad.l + i * step + step / 2, py = y((d.categories || {})[c] || 0);
        if (i === 0) g.moveTo(px, py); else g.lineTo(px, py);
      });
      g.stroke(); g.lineWidth = 1;
      g.fillStyle = PALETTE[k % PALETTE.length];
      days.forEach(function (d, i) {  // points too, so a single day still shows
        g.beginPath();
        g.arc(pad.l + i * step + step / 2 + (k - catNames.length / 2) * 6, y((d.categories || {})[c] || 0), 4, 0, 2 * Math.PI);
        g.fill();
      });
    });
    var legend = $("chart-legend");
    legend.textContent = "";
    DECISIONS.map(function (p) { return [p[0] + " (bars)", p[1]]; })
      .concat(catNames.map(function (c, k) { return [c + " (line)", PALETTE[k % PALETTE.length]]; }))
      .forEach(function (p) {
        var s = el("span", "■ ", null);
        s.style.color = p[1];
        legend.appendChild(s);
        legend.appendChild(document.createTextNode(p[0] + "   "));
      });
  }

  // --- start -----------------------------------------------------------------------------------------------
  if (token) {
    api("/v1/review/items?limit=1").then(function () { showApp(true); refresh(); })
      .catch(function () { sessionStorage.removeItem(TOKEN_KEY); token = ""; showApp(false); });
  } else {
    showApp(false);
  }
})();
