// Draws each chart of a console page from its product's route, fetched with the session cookie,
// and writes the rows into the chart's data table (what keyboard and screen-reader users read).
"use strict";

(function () {
  const dark = window.matchMedia("(prefers-color-scheme: dark)");
  const drawn = new Map();

  function rowsOf(answer, key) {
    if (key) return answer[key] || [];
    if (Array.isArray(answer)) return answer;
    return answer.rows || [];
  }

  function fillTable(figure, rows, x, series) {
    const body = figure.querySelector("table.chart-data tbody");
    body.replaceChildren(
      ...rows.map((row) => {
        const tr = document.createElement("tr");
        for (const name of [x, ...series]) {
          const cell = document.createElement(name === x ? "th" : "td");
          if (name === x) cell.scope = "row";
          const value = row[name];
          cell.textContent = value === null || value === undefined ? "" : String(value);
          tr.append(cell);
        }
        return tr;
      }),
    );
  }

  function plot(figure, rows, x, series, kind) {
    const target = figure.querySelector(".plot");
    if (!target) return;
    const chart = drawn.get(figure) || echarts.init(target, dark.matches ? "dark" : null);
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { data: series, top: 0 },
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: rows.map((row) => row[x]) },
      yAxis: { type: "value" },
      series: series.map((name) => ({ name, type: kind, data: rows.map((row) => row[name]) })),
    });
    drawn.set(figure, chart);
  }

  async function load(figure) {
    const status = figure.querySelector(".status");
    const { source, rows: key, x, kind } = figure.dataset;
    const series = figure.dataset.series.split(",");
    try {
      const response = await fetch(source, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.detail || response.statusText);
      const rows = rowsOf(answer, key);
      fillTable(figure, rows, x, series);
      plot(figure, rows, x, series, kind);
      figure.dataset.loaded = String(rows.length);
      status.textContent = rows.length ? `${rows.length} rows` : "No data for this period yet.";
      status.classList.remove("error");
    } catch (error) {
      figure.dataset.error = error.message;
      status.textContent = `Could not load the chart: ${error.message}`;
      status.classList.add("error");
    }
    // A live chart (`data-refresh` seconds) fetches its rows again while the page is open.
    const refresh = Number(figure.dataset.refresh || 0);
    if (refresh > 0 && figure.isConnected) setTimeout(() => load(figure), refresh * 1000);
  }

  function loadAll(root) {
    root.querySelectorAll("figure.chart:not([data-loaded]):not([data-error])").forEach(load);
  }

  document.addEventListener("DOMContentLoaded", () => loadAll(document));
  document.addEventListener("htmx:afterSwap", (event) => loadAll(event.target));
  window.addEventListener("resize", () => drawn.forEach((chart) => chart.resize()));
})();
