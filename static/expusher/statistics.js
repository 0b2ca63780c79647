// Statistics on the application page (templates/statistics/_application.html): the
// figures of the day and a chart per series, per minute over the last 24 hours, drawn
// with uPlot (vendor/uplot, served from here) from the JSON the section's data-url
// answers; refreshed every minute.
(function () {
  "use strict";
  const REFRESH_MS = 60 * 1000;
  const COLORS = { main: "#3b5bdb", failed: "#c92a2a" };
  // Each chart's series: [label, key in the JSON's minutes.series, color].
  const CHARTS = {
    connections: [["Connections", "connections", COLORS.main]],
    messages: [["Messages", "messages", COLORS.main]],
    api_requests: [["API requests", "api_requests", COLORS.main]],
    client_events: [["Client events", "client_events", COLORS.main]],
    webhooks: [
      ["Sent", "webhooks_sent", COLORS.main],
      ["Failed", "webhooks_failed", COLORS.failed],
    ],
    refused: [["Refused", "refused", COLORS.failed]],
  };

  function figureValue(data, path) {
    return path.split(".").reduce((value, key) => (value == null ? value : value[key]), data);
  }

  function showFigures(section, data) {
    section.querySelectorAll("[data-figure]").forEach((element) => {
      const value = figureValue(data, element.dataset.figure);
      element.textContent = value == null ? "–" : Number(value).toLocaleString();
    });
  }

  function chartData(minutes, series) {
    const times = minutes.series.connections.map((_, i) => minutes.start + i * minutes.step);
    return [times, ...series.map(([, key]) => minutes.series[key])];
  }

  function newChart(figure, series, data) {
    const options = {
      width: Math.max(figure.clientWidth - 16, 260),
      height: 160,
      legend: { show: series.length > 1 },
      scales: { y: { range: (u, min, max) => [0, Math.max(max, 1)] } },
      series: [{}, ...series.map(([label, , color]) => ({ label, stroke: color, width: 2 }))],
      axes: [{}, { size: 50 }],
    };
    return new uPlot(options, data, figure);
  }

  // The time span the charts show: the whole day, or its last hour (buttons with
  // data-span="86400" or "3600"); dragging across a chart zooms it further.
  function applySpan(section, charts) {
    const span = Number(section.dataset.span || 86400);
    Object.values(charts).forEach((chart) => {
      const times = chart.data[0];
      const last = times[times.length - 1];
      chart.setScale("x", { min: last - span + 60, max: last });
    });
  }

  function draw(section, data, charts) {
    section.querySelectorAll("[data-chart]").forEach((figure) => {
      const name = figure.dataset.chart;
      const series = CHARTS[name];
      const rows = chartData(data.minutes, series);
      if (charts[name]) {
        charts[name].setData(rows);
      } else {
        charts[name] = newChart(figure, series, rows);
      }
      // What the chart shows, in all: tests and curious readers can see it was drawn.
      const total = rows.slice(1).reduce((sum, row) => sum + row.reduce((a, b) => a + b, 0), 0);
      figure.dataset.total = String(total);
    });
    applySpan(section, charts);
  }

  function start(section) {
    const charts = {};
    const refresh = () =>
      fetch(section.dataset.url, { credentials: "same-origin" })
        .then((response) => {
          if (!response.ok) throw new Error(`statistics: HTTP ${response.status}`);
          return response.json();
        })
        .then((data) => {
          showFigures(section, data);
          draw(section, data, charts);
          section.dataset.loaded = "true";
        })
        .catch((error) => {
          section.dataset.error = String(error);
        });
    section.querySelectorAll("[data-span]").forEach((button) => {
      button.addEventListener("click", () => {
        section.dataset.span = button.dataset.span;
        section.querySelectorAll("[data-span]").forEach((b) => b.classList.toggle("active", b === button));
        applySpan(section, charts);
      });
    });
    refresh();
    setInterval(refresh, REFRESH_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const section = document.getElementById("statistics");
    if (section && window.uPlot) start(section);
  });
})();
