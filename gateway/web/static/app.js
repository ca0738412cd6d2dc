/* village-gateway admin page: progressive enhancements only (every form works without this file).
   - the language selector submits itself; confirmation before removing something;
   - the weekly schedule bars are placed from their data-start/data-end minutes;
   - the zone chart (uPlot, vendored) is drawn from the JSON block next to it. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.querySelectorAll("select.autosubmit").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  document.querySelectorAll("button.confirm").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.dataset.confirm || "?")) { event.preventDefault(); }
    });
  });

  document.querySelectorAll(".week-block").forEach(function (block) {
    var start = Number(block.dataset.start), end = Number(block.dataset.end);
    block.style.left = (start / 1440 * 100) + "%";
    block.style.width = (Math.max(end - start, 5) / 1440 * 100) + "%";
  });

  function loadScript(src, done) {
    var s = document.createElement("script");
    s.src = src; s.onload = done; document.head.appendChild(s);
  }

  var chart = document.querySelector("[data-chart]");
  if (chart) {
    var dataNode = document.getElementById(chart.dataset.chart);
    var history = dataNode ? JSON.parse(dataNode.textContent) : null;
    var src = chart.dataset.lib;
    if (history && src) { loadScript(src, function () { drawZone(chart, history); }); }
  }

  function drawZone(node, h) {
    var fr = node.dataset.locale === "fr";
    var fmt = function (v, unit) {
      if (v == null) { return "—"; }
      var s = v.toFixed(1);
      return (fr ? s.replace(".", ",") : s) + "\u00a0" + unit;
    };
    var heater = (h.heater || []).map(function (v) { return v == null ? null : Math.round(v * 100); });
    var data = [h.t, h.temperature || [], h.target || [], h.outdoor || [], heater];
    var series = [
      { label: node.dataset.labelTime },
      { label: node.dataset.labelTemperature, stroke: "#d9653b", width: 2, value: function (u, v) { return fmt(v, "°C"); } },
      { label: node.dataset.labelTarget, stroke: "#1f6f5c", width: 1.5, dash: [6, 4], value: function (u, v) { return fmt(v, "°C"); } },
      { label: node.dataset.labelOutdoor, stroke: "#5b8fc9", width: 1.5, value: function (u, v) { return fmt(v, "°C"); } },
      { label: node.dataset.labelHeater, stroke: "rgba(230,165,69,0.9)", fill: "rgba(230,165,69,0.25)", width: 1,
        scale: "pct", paths: uPlot.paths.stepped({ align: 1 }), value: function (u, v) { return v == null ? "—" : v + "\u00a0%"; } }
    ];
    var width = Math.max(280, node.clientWidth);
    var opts = {
      width: width, height: width < 500 ? 220 : 300,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), node.dataset.tz || "Europe/Paris"); },
      series: series,
      scales: { pct: { range: [0, 100] } },
      axes: [
        { values: [[86400, fr ? "{DD}/{MM}" : "{M}/{D}", null, null, null, null, null, null, 0],
                   [3600, fr ? "{H} h" : "{HH}:{mm}", fr ? "\n{DD}/{MM}" : "\n{M}/{D}", null, null, null, null, null, 0]] },
        { label: "°C", values: function (u, vals) { return vals.map(function (v) { return fr ? String(v).replace(".", ",") : String(v); }); } },
        { scale: "pct", side: 1, grid: { show: false }, values: function (u, vals) { return vals.map(function (v) { return v + " %"; }); } }
      ]
    };
    node.textContent = "";
    var plot = new uPlot(opts, data, node);
    window.addEventListener("resize", function () {
      var w = Math.max(280, node.clientWidth);
      plot.setSize({ width: w, height: w < 500 ? 220 : 300 });
    });
  }
})();
