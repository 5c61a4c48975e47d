// Agora console behaviour: no inline script (the CSP forbids it), so every page's
// wiring lives here and reads data-* attributes and JSON blocks.
(function () {
  "use strict";
  // htmx sends the session's CSRF token on every request it makes.
  document.addEventListener("htmx:configRequest", function (e) {
    var token = document.body.dataset.csrf;
    if (token) { e.detail.headers["X-CSRF-Token"] = token; }
  });
  // A confirmation step for forms marked data-confirm (promote, rollback, revoke...).
  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { e.preventDefault(); }
  }, true);

  // Moderation queue shortcuts: j/k move, a approve, r reject, e escalate.
  var at = 0;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr[data-item]")); }
  function select(i) {
    var all = rows();
    if (!all.length) { return; }
    all.forEach(function (r) { r.classList.remove("selected"); });
    at = Math.max(0, Math.min(all.length - 1, i));
    all[at].classList.add("selected");
    all[at].scrollIntoView({block: "nearest"});
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target.tagName;
    if (t === "INPUT" || t === "TEXTAREA" || t === "SELECT" || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var all = rows();
    if (!all.length) { return; }
    var action = {a: "approve", r: "reject", e: "escalate"}[e.key];
    if (e.key === "j") { select(at + 1); } else if (e.key === "k") { select(at - 1); }
    else if (action) {
      var button = all[Math.min(at, all.length - 1)].querySelector("button[value=" + action + "]");
      if (button) { button.click(); }
    }
  });

  // Line charts from <div class="chart" data-series="ID"> + <script type="application/json" id="ID">.
  function charts() {
    if (typeof uPlot === "undefined") { return; }
    document.querySelectorAll("div.chart[data-series]").forEach(function (el) {
      var spec = JSON.parse(document.getElementById(el.dataset.series).textContent);
      var palette = ["#0b5cad", "#a11b1b", "#1c6b34", "#7a4d00", "#5b2a86", "#00707a"];
      var series = [{}].concat(spec.labels.map(function (label, i) {
        return {label: label, stroke: palette[i % palette.length], width: 2};
      }));
      var width = Math.max(280, el.clientWidth - 8);
      plots.push({el: el, plot: new uPlot({title: spec.title, width: width, height: 220,
        series: series, axes: [{}, {label: spec.y || ""}]}, spec.data, el)});
    });
  }
  // Charts follow their box when the window changes size (a tablet turned, a
  // narrower window); until they do, .chart clips them (no sideways scroll).
  var plots = [], pending = false;
  window.addEventListener("resize", function () {
    if (pending) { return; }
    pending = true;
    window.requestAnimationFrame(function () {
      pending = false;
      plots.forEach(function (p) {
        p.plot.setSize({width: Math.max(280, p.el.clientWidth - 8), height: 220});
      });
    });
  });

  document.addEventListener("DOMContentLoaded", function () { select(0); charts(); });
  document.addEventListener("htmx:afterSettle", function () { select(at); });
})();
