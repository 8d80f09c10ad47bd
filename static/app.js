// Pingyi's staff pages work without JavaScript; this file only adds what a Content-Security-Policy
// forbids inline: buttons marked data-print print the page.
document.addEventListener("click", function (e) {
  var t = e.target instanceof Element ? e.target.closest("[data-print]") : null;
  if (t) { e.preventDefault(); window.print(); }
});

// The desk's live clocks: every request row with a due time counts down each second; a project
// page follows its channel and its requests over the project's event stream (EventSource
// reconnects by itself, resuming after the last message it saw).
(function () {
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function span(ms) {
    var s = Math.floor(Math.abs(ms) / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h > 0 ? h + ":" + two(m) : m) + ":" + two(s % 60);
  }
  function tick() {
    var list = document.getElementById("requests");
    if (!list) return;
    var left = list.getAttribute("data-left") || "", over = list.getAttribute("data-over") || "";
    list.querySelectorAll("[data-request]").forEach(function (row) {
      var due = Number(row.getAttribute("data-due") || 0), c = row.querySelector("[data-countdown]");
      if (!due || !c) return;
      var rest = due - Date.now();
      c.textContent = rest >= 0 ? left + " " + span(rest) : over + " " + span(rest);
      if (rest < 0) { c.className = "countdown slip slip-red"; }
    });
  }
  // China time, as the server writes it: 2026-12-08 09:30.
  function minute(ms) {
    var d = new Date(ms + 8 * 3600 * 1000);
    return d.getUTCFullYear() + "-" + two(d.getUTCMonth() + 1) + "-" + two(d.getUTCDate()) + " " + two(d.getUTCHours()) + ":" + two(d.getUTCMinutes());
  }
  function text(tag, cls, value) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    e.textContent = value;
    return e;
  }
  function showRequest(list, r) {
    var labels = {};
    try { labels = JSON.parse(list.getAttribute("data-labels") || "{}"); } catch (e) { labels = {}; }
    var row = list.querySelector('[data-request="' + r.id + '"]');
    if (!row) {
      row = document.createElement("li");
      row.className = "card request";
      row.setAttribute("data-request", r.id);
      var a = document.createElement("a");
      a.href = "/desk/" + r.id;
      a.appendChild(text("strong", "", r.title));
      row.appendChild(a);
      row.appendChild(text("span", "muted small", " " + r.number + " · " + r.enterprise_name));
      row.appendChild(document.createElement("br"));
      row.appendChild(text("span", "state", ""));
      row.appendChild(text("span", "", " · "));
      var c = text("span", "countdown slip slip-green", "");
      c.setAttribute("data-countdown", "");
      row.appendChild(c);
      list.insertBefore(row, list.firstChild);
      var none = document.getElementById("no-requests");
      if (none) none.remove();
    }
    row.setAttribute("data-state", r.state);
    var st = row.querySelector(".state");
    if (st) st.textContent = labels[r.state] || r.state;
    if (r.step_due_at) { row.setAttribute("data-due", r.step_due_at); } else { row.removeAttribute("data-due"); var cd = row.querySelector("[data-countdown]"); if (cd) cd.textContent = ""; }
    tick();
  }
  function follow() {
    var channel = document.getElementById("channel");
    if (!channel || !window.EventSource) return;
    var url = channel.getAttribute("data-stream") + "?after=" + encodeURIComponent(channel.getAttribute("data-after") || "0");
    var source = new EventSource(url);
    source.addEventListener("message", function (ev) {
      var m = JSON.parse(ev.data);
      if (channel.querySelector('[data-seq="' + m.seq + '"]')) return;
      var li = text("li", "message" + (m.author_role === "enterprise" ? " firm" : ""), "");
      li.setAttribute("data-seq", m.seq);
      li.appendChild(text("span", "muted small", m.author_name + " · " + minute(m.created_at)));
      li.appendChild(text("p", "", m.body));
      if (m.request_id) {
        var p = document.createElement("p"), a = document.createElement("a");
        a.href = "/desk/" + m.request_id;
        a.textContent = m.request_number || "";
        p.appendChild(a);
        li.appendChild(p);
      }
      channel.appendChild(li);
      channel.setAttribute("data-after", m.seq);
    });
    source.addEventListener("request", function (ev) {
      var list = document.getElementById("requests");
      if (list) showRequest(list, JSON.parse(ev.data));
    });
    // Reconnect from where the page got to (not from where it was loaded).
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) { setTimeout(follow, 1000); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 1000); follow(); });
})();
