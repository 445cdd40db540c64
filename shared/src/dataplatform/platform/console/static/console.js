// Draws each chart of a console page from its route, fetched with the session cookie, and
// writes the rows into the chart's data table (what keyboard and screen-reader users read).
// Forms send their fields as JSON with the page's CSRF token and show the answer, or each error
// next to the field it names; a table's row buttons do the same for one row.
"use strict";

(function () {
  const dark = window.matchMedia("(prefers-color-scheme: dark)");
  const drawn = new Map();
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  function rowsOf(answer, key) {
    if (key) return answer[key] || [];
    if (Array.isArray(answer)) return answer;
    return answer.rows || [answer];
  }

  function text(value) {
    if (value === null || value === undefined) return "";
    // A ratio or an amount, not float noise: -99, not -98.99999999999991.
    if (typeof value === "number" && !Number.isInteger(value)) {
      return String(Number(value.toFixed(Math.abs(value) >= 100 ? 2 : 4)));
    }
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  // A route with `{column}` placeholders, filled from `values` (a row, or a form's fields).
  function fill(route, values, used) {
    return route.replace(/\{([^}]+)\}/g, (_, name) => {
      if (used) used.add(name);
      return encodeURIComponent(text(values[name]));
    });
  }

  async function call(method, url, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const type = response.headers.get("Content-Type") || "";
    if (response.ok && response.status !== 204 && !type.includes("json")) {
      // A file to hand over (an access request's archive): kept for a download link.
      const named = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
      return { ok: true, answer: {}, file: { blob: await response.blob(), name: named ? named[1] : "download" } };
    }
    const answer = response.status === 204 ? {} : await response.json();
    return { ok: response.ok, answer };
  }

  function cell(tag, value) {
    const element = document.createElement(tag);
    element.textContent = text(value);
    return element;
  }

  // The heatmap's table: a row per `x`, a column per cell key.
  function heatmapTable(figure, rows, view) {
    const [key, value] = view.series;
    const keys = [...new Set(rows.flatMap((row) => (row[view.cells] || []).map((c) => c[key])))];
    const head = figure.querySelector("table.chart-data thead tr");
    head.replaceChildren(cell("th", view.x), ...keys.map((k) => cell("th", `${key} ${k}`)));
    return rows.map((row) => {
      const byKey = new Map((row[view.cells] || []).map((c) => [c[key], c[value]]));
      return [row[view.x], ...keys.map((k) => byKey.get(k))];
    });
  }

  function fillTable(figure, rows, view, actions) {
    const body = figure.querySelector("table.chart-data tbody");
    const lines =
      view.kind === "heatmap"
        ? heatmapTable(figure, rows, view)
        : rows.map((row) => [view.x, ...view.series].map((name) => row[name]));
    body.replaceChildren(
      ...lines.map((line, index) => {
        const tr = document.createElement("tr");
        line.forEach((value, column) => {
          const element = cell(column === 0 ? "th" : "td", value);
          if (column === 0) element.scope = "row";
          if (column === 0 && view.link) {
            const link = document.createElement("a");
            link.href = fill(view.link, rows[index]);
            link.textContent = element.textContent;
            element.replaceChildren(link);
          }
          tr.append(element);
        });
        if (actions.length) tr.append(actionCell(figure, rows[index], actions));
        return tr;
      }),
    );
  }

  function actionCell(figure, row, actions) {
    const td = document.createElement("td");
    for (const action of actions) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = action.label;
      button.addEventListener("click", () => act(figure, row, action));
      td.append(button);
    }
    return td;
  }

  async function act(figure, row, action) {
    if (action.confirm && !window.confirm(fill(action.confirm, row))) return;
    const status = figure.querySelector(".status");
    const { ok, answer } = await call(action.method, fill(action.target, row));
    const shown = figure.querySelector(".answer");
    if (!ok) {
      status.textContent = `${action.label}: ${answer.detail || "refused"}`;
      status.classList.add("error");
      return;
    }
    showFields(shown, answer, `${action.label}: done`);
    if (action.method !== "GET") load(figure);
  }

  function plot(figure, rows, view) {
    const target = figure.querySelector(".plot");
    if (!target) return;
    const chart = drawn.get(target) || echarts.init(target, dark.matches ? "dark" : null);
    chart.setOption(optionsFor(rows, view), true);
    drawn.set(target, chart);
  }

  function optionsFor(rows, view) {
    const base = { animation: false, tooltip: {} };
    if (view.kind === "graph") {
      const target = view.series[0];
      const names = [...new Set(rows.flatMap((row) => [row[view.x], row[target]]))];
      return {
        ...base,
        series: [
          {
            type: "graph",
            layout: "force",
            roam: true,
            label: { show: true, position: "right" },
            edgeSymbol: ["none", "arrow"],
            force: { repulsion: 200, edgeLength: 90 },
            data: names.map((name) => ({ name, symbolSize: 12 })),
            links: rows.map((row) => ({ source: row[view.x], target: row[target] })),
          },
        ],
      };
    }
    if (view.kind === "sankey") {
      const [target, value] = view.series;
      const names = [...new Set(rows.flatMap((row) => [row[view.x], row[target]]))];
      return {
        ...base,
        series: [
          {
            type: "sankey",
            emphasis: { focus: "adjacency" },
            data: names.map((name) => ({ name })),
            links: rows.map((row) => ({ source: row[view.x], target: row[target], value: row[value] })),
          },
        ],
      };
    }
    if (view.kind === "heatmap") {
      const [key, value] = view.series;
      const xs = rows.map((row) => text(row[view.x]));
      const keys = [...new Set(rows.flatMap((row) => (row[view.cells] || []).map((c) => c[key])))];
      const cells = rows.flatMap((row, x) =>
        (row[view.cells] || [])
          .filter((c) => c[value] !== null && c[value] !== undefined)
          .map((c) => [x, keys.indexOf(c[key]), c[value]]),
      );
      const values = cells.map((c) => c[2]);
      return {
        ...base,
        grid: { left: 8, right: 16, top: 16, bottom: 56, containLabel: true },
        xAxis: { type: "category", data: xs },
        yAxis: { type: "category", data: keys.map(text), name: key },
        visualMap: {
          min: Math.min(0, ...values),
          max: Math.max(1e-9, ...values),
          calculable: true,
          orient: "horizontal",
          left: "center",
          bottom: 0,
        },
        series: [{ type: "heatmap", data: cells, label: { show: false } }],
      };
    }
    return {
      ...base,
      tooltip: { trigger: "axis" },
      legend: { data: view.series, top: 0 },
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      xAxis: {
        type: "category",
        data: rows.map((row) => row[view.x]),
        axisLabel: { formatter: shortTime },
      },
      yAxis: { type: "value" },
      series: view.series.map((name) => ({
        name,
        type: view.kind,
        data: rows.map((row) => row[name]),
      })),
    };
  }

  // An instant along the bottom reads as its time of day (the data table keeps all of it).
  const INSTANT = /^\d{4}-\d\d-\d\dT(\d\d:\d\d)/;
  function shortTime(value) {
    const found = INSTANT.exec(String(value));
    return found ? found[1] : value;
  }

  function viewOf(element) {
    const { rows, x, kind, cells, link } = element.dataset;
    return { rows, x, kind, cells, link, series: element.dataset.series.split(",") };
  }

  function draw(figure, answer) {
    const view = viewOf(figure);
    const rows = rowsOf(answer, view.rows);
    // `*`: the columns are data (a trend's lines, a query's columns), known from the rows.
    const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
    const columnsFromRows = view.x === "*" || view.series.join() === "*";
    if (columnsFromRows) {
      if (view.x === "*") view.x = columns[0];
      if (view.series.join() === "*") view.series = columns.filter((name) => name !== view.x);
      const head = figure.querySelector("table.chart-data thead tr");
      const names = [view.x, ...view.series].filter((name) => name !== undefined);
      head.replaceChildren(...names.map((name) => Object.assign(cell("th", name), { scope: "col" })));
    }
    const actions = JSON.parse(figure.dataset.actions || "[]");
    fillTable(figure, rows, view, actions);
    // Columns known only from the rows are drawn when they hold numbers; the table shows all.
    const numeric = view.series.filter((name) => rows.some((row) => typeof row[name] === "number"));
    plot(figure, rows, columnsFromRows ? { ...view, series: numeric } : view);
    // A column the chart names that no row holds is a mistake in its declaration: say so.
    const named = view.kind === "heatmap" ? [view.x, view.cells] : [view.x, ...view.series];
    const missing = named.filter((name) => rows.length && rows.every((row) => !(name in row)));
    if (missing.length) figure.dataset.missing = missing.join(",");
    figure.dataset.loaded = String(rows.length);
    return rows;
  }

  async function load(figure) {
    const status = figure.querySelector(".status");
    try {
      const { ok, answer } = await call("GET", figure.dataset.source);
      if (!ok) throw new Error(answer.detail || "the route refused");
      const rows = draw(figure, answer);
      delete figure.dataset.error;
      status.textContent = rows.length ? `${rows.length} rows` : "No data for this period yet.";
      if (figure.dataset.missing) status.textContent += `; no column ${figure.dataset.missing}`;
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

  // An answer's fields as a definition list (a write key shown once, a proof, a summary).
  function showFile(list, file, heading) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(file.blob);
    link.download = file.name;
    link.textContent = `Download ${file.name}`;
    const dd = document.createElement("dd");
    dd.append(link);
    list.replaceChildren(cell("dt", heading), dd);
    list.hidden = false;
  }

  function showFields(list, answer, heading) {
    if (!list) return;
    const items = [cell("dt", heading), cell("dd", "")];
    for (const [key, value] of Object.entries(answer)) items.push(cell("dt", key), cell("dd", value));
    list.replaceChildren(...items);
    list.hidden = false;
  }

  // A field's value as the route expects it, or throws naming what is wrong.
  function valueOf(input) {
    const kind = input.dataset.kind;
    if (kind === "checkbox") return input.checked;
    const raw = input.value.trim();
    if (raw === "") return undefined;
    if (kind === "number") {
      const number = Number(raw);
      if (Number.isNaN(number)) throw new Error("must be a number");
      return number;
    }
    if (kind === "list") return raw.split(",").map((item) => item.trim()).filter(Boolean);
    if (kind === "json") {
      try {
        return JSON.parse(raw);
      } catch (error) {
        throw new Error(`is not JSON: ${error.message}`);
      }
    }
    return raw;
  }

  // A `rows` field: a list of objects, a row each, with the values its row's columns hold.
  function itemsOf(field) {
    return [...field.querySelectorAll("tbody tr")]
      .map((tr) => {
        const item = {};
        for (const input of tr.querySelectorAll("[data-column]")) {
          const raw = input.value.trim();
          if (raw === "") continue;
          item[input.dataset.column] = input.dataset.kind === "json" ? jsonOrText(raw) : raw;
        }
        return item;
      })
      .filter((item) => Object.keys(item).length);
  }

  function jsonOrText(raw) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw; // a text, as typed: `mobile`
    }
  }

  function addRow(field, values) {
    const row = field.querySelector("template").content.firstElementChild.cloneNode(true);
    for (const input of row.querySelectorAll("[data-column]")) {
      const value = values ? values[input.dataset.column] : undefined;
      if (value !== undefined) input.value = typeof value === "string" ? value : JSON.stringify(value);
    }
    field.querySelector("tbody").append(row);
    return row;
  }

  function initRows(root) {
    for (const field of root.querySelectorAll(".rows-field")) {
      const start = field.dataset.value ? JSON.parse(field.dataset.value) : [{}];
      start.forEach((values) => addRow(field, values));
    }
  }

  document.addEventListener("click", (event) => {
    const field = event.target.closest(".rows-field");
    if (!field) return;
    if (event.target.matches(".add-row")) addRow(field).querySelector("[data-column]").focus();
    if (event.target.matches(".remove-row")) event.target.closest("tr").remove();
  });

  function setPath(body, dotted, value) {
    const keys = dotted.split(".");
    let node = body;
    for (const key of keys.slice(0, -1)) node = node[key] = node[key] || {};
    node[keys[keys.length - 1]] = value;
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach((p) => (p.textContent = ""));
    form.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
  }

  function showError(form, name, message) {
    const quoted = CSS.escape(name);
    const input = form.querySelector(`[name="${quoted}"], [data-name="${quoted}"]`);
    if (!input) return false;
    input.setAttribute("aria-invalid", "true");
    form.querySelector(`#${CSS.escape(input.id)}-error`).textContent = message;
    return true;
  }

  // The form field a problem names: `body.values.days` is the field `values.days`, or, when no
  // field is that deep, the nearest one above it (`values`).
  function fieldNamed(form, reported) {
    // The names the request used (`definition.all`), each back to its field's own.
    const sent = form.sentNames || {};
    const names = Object.keys(sent);
    const path = reported.replace(/^(body|query|path)\./, "").replace(/\[\d+\]/g, "");
    if (names.includes(path)) return sent[path];
    const deeper = names.filter((name) => name.startsWith(`${path}.`));
    if (deeper.length === 1) return sent[deeper[0]];
    const parts = path.split(".");
    while (parts.length) {
      if (names.includes(parts.join("."))) return sent[parts.join(".")];
      parts.pop();
    }
    return null;
  }

  // Every field's value by its name, `rows` fields included; throws naming a bad one.
  function fieldValues(form) {
    const values = {};
    const problems = [];
    for (const input of form.querySelectorAll("[name]")) {
      try {
        const value = valueOf(input);
        if (value !== undefined) values[input.name] = value;
      } catch (error) {
        problems.push([input.name, `${input.labels[0].textContent} ${error.message}.`]);
      }
    }
    for (const field of form.querySelectorAll(".rows-field")) {
      const rows = itemsOf(field);
      if (rows.length) values[field.dataset.name] = rows;
    }
    return { values, problems };
  }

  async function submit(form) {
    const status = form.querySelector(".status");
    delete form.dataset.answered;
    clearErrors(form);
    const { values, problems } = fieldValues(form);
    problems.forEach(([name, message]) => showError(form, name, message));
    if (problems.length) return;
    const { method, target, confirm } = form.dataset;
    if (confirm && !window.confirm(confirm)) return;
    const used = new Set();
    let url = fill(target, values, used);
    // A name with a `{field}` part takes that field's value: `definition.{match}`.
    const named = Object.entries(values).map(([name, value]) => [
      name.replace(/\{([^}]+)\}/g, (_, key) => (used.add(key), text(values[key]))),
      value,
      name,
    ]);
    form.sentNames = Object.fromEntries(named.map(([sent, , name]) => [sent, name]));
    const rest = named.filter(([, , name]) => !used.has(name));
    let body;
    if (method === "GET") {
      const query = new URLSearchParams(rest.map(([name, value]) => [name, text(value)]));
      if (rest.length) url += (url.includes("?") ? "&" : "?") + query;
    } else {
      body = {};
      for (const [name, value] of rest) setPath(body, name, value);
    }
    status.textContent = "Sending…";
    status.classList.remove("error");
    const { ok, answer, file } = await call(method, url, body);
    form.dataset.answered = ok ? "ok" : "error";
    if (!ok) {
      const reported = answer.errors || (answer.field ? [{ field: answer.field, message: answer.detail }] : []);
      const placed = reported.filter((e) => {
        const name = fieldNamed(form, e.field);
        return name !== null && showError(form, name, e.message);
      });
      status.textContent = placed.length ? "Correct the fields marked." : answer.detail;
      status.classList.add("error");
      return;
    }
    status.textContent = "Done.";
    const figure = form.querySelector("figure.answer-chart");
    if (file) showFile(form.querySelector(".answer"), file, form.dataset.title);
    else if (figure) draw(figure, answer);
    else showFields(form.querySelector(".answer"), answer, form.dataset.title);
    // What the form changed shows in the page's tables at once.
    if (method !== "GET") document.querySelectorAll("figure.chart").forEach(load);
  }

  function loadAll(root) {
    root.querySelectorAll("figure.chart:not([data-loaded]):not([data-error])").forEach(load);
  }

  document.addEventListener("submit", (event) => {
    if (!event.target.matches("form.console-form")) return;
    event.preventDefault();
    submit(event.target);
  });
  document.addEventListener("DOMContentLoaded", () => {
    initRows(document);
    loadAll(document);
  });
  document.addEventListener("htmx:afterSwap", (event) => loadAll(event.target));
  window.addEventListener("resize", () => drawn.forEach((chart) => chart.resize()));
})();
