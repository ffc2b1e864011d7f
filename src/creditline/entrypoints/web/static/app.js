// creditline's dashboard: the little the pages need beyond HTML. Every page works
// without it (the numbers of each chart are in a table beside it); with it, charts are
// drawn and forms that remove something ask first.
(function () {
  "use strict";

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  // Chart data is exact decimal text; the drawing only needs numbers.
  function numbers(values) {
    return values.map(function (v) { return v === null ? null : Number(v); });
  }

  // Credits as every page shows them: two decimals, thousands grouped by commas (the
  // templates' `credits` filter); axis ticks drop the decimals of whole numbers.
  var CREDITS = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  var TICKS = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

  function credits(value, tick) {
    if (value === null || value === undefined || isNaN(value)) { return ""; }
    return (tick ? TICKS : CREDITS).format(Number(value));
  }

  function creditsAxis(extra) {
    return Object.assign({
      beginAtZero: true,
      title: { display: true, text: "credits" },
      ticks: { callback: function (value) { return credits(value, true); } }
    }, extra || {});
  }

  var PALETTE = ["#1f5fbf", "#d9822b", "#2f9e44", "#c2255c", "#7048e8", "#0c8599", "#e8590c", "#5c940d", "#868e96"];

  function burndown(data) {
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { type: "line", label: "Balance at day's end", data: numbers(data.closing), borderColor: css("--accent") || PALETTE[0], backgroundColor: "transparent", pointRadius: 0, tension: 0, yAxisID: "y" },
          { type: "line", label: "Forecast at the burn rate", data: numbers(data.forecast), borderColor: PALETTE[1], borderDash: [6, 4], backgroundColor: "transparent", pointRadius: 0, tension: 0, yAxisID: "y" },
          { type: "bar", label: "Burnt that day (right axis)", data: numbers(data.burnt), backgroundColor: "rgba(134,142,150,0.6)", yAxisID: "burn" }
        ]
      },
      options: Object.assign(common(), {
        scales: {
          y: creditsAxis({ title: { display: true, text: "balance" } }),
          burn: creditsAxis({ position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "burnt a day" } })
        }
      })
    };
  }

  function usage(data) {
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s, i) {
          return { label: s.label, data: numbers(s.data), backgroundColor: PALETTE[i % PALETTE.length] };
        })
      },
      options: Object.assign(common(), {
        scales: { x: { stacked: true }, y: creditsAxis({ stacked: true }) }
      })
    };
  }

  function common() {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { position: "bottom" },
        tooltip: { callbacks: { label: function (item) { return item.dataset.label + ": " + credits(item.parsed.y); } } }
      },
      scales: { y: creditsAxis() }
    };
  }

  var BUILDERS = { burndown: burndown, usage: usage };

  function drawCharts(root) {
    if (typeof window.Chart === "undefined") { return; }
    var canvases = (root || document).querySelectorAll("canvas[data-chart]");
    Array.prototype.forEach.call(canvases, function (canvas) {
      if (canvas.dataset.drawn) { return; }
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) { return; }
      var data = JSON.parse(source.textContent);
      var build = BUILDERS[data.kind];
      if (!build) { return; }
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, build(data));
    });
  }

  // Forms that remove or load something ask first (a button's own data-confirm wins).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var question = (button && button.dataset.confirm) || form.dataset.confirm;
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSwap", function (event) { drawCharts(event.target); });
})();
