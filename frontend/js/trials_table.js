// Trials table: paged GET /trials, sortable by number/value/duration, filterable by state,
// with a detail panel (GET /trials/{number}) showing the trial's curve and parameters.
import { api, errorMessage, isAbort } from "./api.js";
import { spansDecades } from "./curves.js";
import { clear, h, replace, setText, throttle } from "./dom.js";
import { DIMENSIONS, PARAM_LABELS, fmtDuration, fmtNum, fmtParam, fmtTime, metricLabel } from "./format.js";
import { PLOT_CONFIG, ensurePlotly, palette, themeTemplate } from "./plot.js";

const PAGE = 50;
const STATES = ["", "COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING"];
const SORTABLE = { number: "#", value: "value", duration: "duration" };

export function createTrialsTable(container, { studyId, ctx, getStudy }) {
  let offset = 0;
  let sort = "number";
  let order = "desc";
  let state = "";
  let total = 0;
  let selected = null;
  let seq = 0;

  const stateSelect = h(
    "select",
    { id: "trials-state", "aria-label": "filter by state", onchange: () => ((state = stateSelect.value), (offset = 0), load()) },
    STATES.map((s) => h("option", { value: s }, s ? s.toLowerCase() : "all states")),
  );
  const info = h("span", { class: "muted" });
  const prev = h("button", { type: "button", class: "small", onclick: () => ((offset = Math.max(0, offset - PAGE)), load()) }, "‹ prev");
  const next = h("button", { type: "button", class: "small", onclick: () => ((offset += PAGE), load()) }, "next ›");
  const error = h("div", { class: "alert error", hidden: true });
  const headRow = h("tr");
  const tbody = h("tbody");
  const table = h("table", { class: "data trials-table", id: "trials-table" }, h("thead", {}, headRow), tbody);
  const detail = h("aside", { class: "trial-detail", id: "trial-detail", hidden: true });

  container.appendChild(
    h(
      "section",
      { class: "panel trials" },
      h("div", { class: "panel-head" }, h("h2", { text: "Trials" }), h("div", { class: "toolbar" }, stateSelect, info, prev, next)),
      error,
      h("div", { class: "trials-body" }, h("div", { class: "table-wrap" }, table), detail),
    ),
  );

  let seenParams = []; // param names of the rows shown (a study from another script has its own)

  /** The hyper-parameter columns: the searched ones (fixed ones are the same in every row). */
  function columns() {
    const space = getStudy()?.space;
    if (!space) {
      const names = new Set(seenParams);
      const known = DIMENSIONS.filter((d) => names.has(d));
      return [...known, ...[...names].filter((n) => !DIMENSIONS.includes(n)).sort()];
    }
    const tuned = DIMENSIONS.filter((d) => !(space[d] && space[d].value !== null && space[d].value !== undefined));
    return tuned.length ? tuned : DIMENSIONS;
  }

  function header() {
    const th = (label, key, cls) => {
      if (!key) return h("th", { class: cls || "", text: label });
      const arrow = sort === key ? (order === "asc" ? " ▲" : " ▼") : "";
      return h(
        "th",
        { class: `sortable ${cls || ""}`, dataset: { sort: key }, "aria-sort": sort === key ? (order === "asc" ? "ascending" : "descending") : "none" },
        h(
          "button",
          {
            type: "button",
            class: "linklike",
            onclick: () => {
              if (sort === key) order = order === "asc" ? "desc" : "asc";
              else {
                sort = key;
                order = key === "number" ? "desc" : "asc";
              }
              offset = 0;
              load();
            },
          },
          label + arrow,
        ),
      );
    };
    replace(
      headRow,
      th(SORTABLE.number, "number", "num"),
      th("state"),
      th(SORTABLE.value, "value", "num"),
      columns().map((d) => th(PARAM_LABELS[d] || d, null, "num")),
      th("epochs", null, "num"),
      th(SORTABLE.duration, "duration", "num"),
      th("note"),
    );
  }

  function row(t, bestNumber) {
    const p = t.params || {};
    const tr = h(
      "tr",
      {
        class: `clickable row-${String(t.state).toLowerCase()}${t.number === selected ? " selected" : ""}${t.number === bestNumber ? " best" : ""}`,
        dataset: { trial: t.number },
        tabindex: 0,
        onclick: () => open(t.number),
        onkeydown: (e) => {
          if (e.key === "Enter") open(t.number);
        },
      },
      h("td", { class: "num mono", text: t.number }),
      h("td", {}, h("span", { class: `state state-${String(t.state).toLowerCase()}`, text: String(t.state).toLowerCase() })),
      h("td", { class: "num mono", text: fmtNum(t.value, 5) }),
      columns().map((d) => h("td", { class: "num mono", text: fmtParam(d, p[d]) })),
      h("td", { class: "num mono", text: t.epochs_done ?? "–" }),
      h("td", { class: "num mono", text: fmtDuration(t.duration_s) }),
      h(
        "td",
        { class: "note" },
        t.baseline ? h("span", { class: "tag baseline", text: "default Adam" }) : null,
        t.number === bestNumber ? h("span", { class: "tag best", text: "best" }) : null,
        t.reason ? h("span", { class: "muted", text: t.reason }) : null,
      ),
    );
    return tr;
  }

  async function load() {
    const mine = ++seq;
    try {
      const data = await api.get(
        `/studies/${studyId}/trials`,
        { offset, limit: PAGE, sort, order, state },
        { signal: ctx.signal },
      );
      if (mine !== seq || !ctx.alive()) return;
      error.hidden = true;
      total = data.total ?? 0;
      const trials = data.trials || [];
      if (!trials.length && offset > 0 && total > 0) {
        offset = Math.max(0, Math.floor((total - 1) / PAGE) * PAGE);
        load();
        return;
      }
      const best = getStudy()?.best?.trial;
      seenParams = [...new Set(trials.flatMap((t) => Object.keys(t.params || {})))];
      header();
      replace(
        tbody,
        trials.length ? trials.map((t) => row(t, best)) : h("tr", {}, h("td", { colspan: 6 + columns().length, class: "muted", text: state ? "No trials in this state." : "No trials yet." })),
      );
      setText(info, total ? `${offset + 1}–${offset + trials.length} of ${total}` : "0 trials");
      prev.disabled = offset === 0;
      next.disabled = offset + PAGE >= total;
    } catch (err) {
      if (isAbort(err) || mine !== seq || !ctx.alive()) return;
      error.hidden = false;
      setText(error, `Could not load the trials: ${errorMessage(err)}`);
    }
  }

  async function open(number) {
    selected = number;
    for (const tr of tbody.querySelectorAll("tr")) tr.classList.toggle("selected", Number(tr.dataset.trial) === number);
    detail.hidden = false;
    replace(detail, h("p", { class: "muted", text: `Loading trial ${number}…` }));
    try {
      const t = await api.get(`/studies/${studyId}/trials/${number}`, null, { signal: ctx.signal });
      if (!ctx.alive() || selected !== number) return;
      await renderDetail(t);
    } catch (err) {
      if (isAbort(err) || !ctx.alive() || selected !== number) return;
      replace(detail, h("div", { class: "alert error", text: `Could not load trial ${number}: ${errorMessage(err)}` }));
    }
  }

  async function renderDetail(t) {
    const p = t.params || {};
    const plot = h("div", { class: "detail-plot", id: "trial-detail-plot" });
    const close = h("button", { type: "button", class: "ghost small", "aria-label": "close", onclick: closeDetail }, "✕");
    replace(
      detail,
      h("div", { class: "detail-head" }, h("h3", { text: `Trial ${t.number}` }), t.baseline ? h("span", { class: "tag baseline", text: "default Adam" }) : null, close),
      h(
        "dl",
        { class: "kv" },
        kv("state", String(t.state).toLowerCase()),
        kv("value", fmtNum(t.value, 6)),
        t.reason ? kv("reason", t.reason) : null,
        kv("epochs", t.epochs_done ?? "–"),
        kv("duration", fmtDuration(t.duration_s)),
        kv("started", fmtTime(t.datetime_start)),
        [...DIMENSIONS, ...Object.keys(p).filter((k) => !DIMENSIONS.includes(k)).sort()]
          .filter((d) => p[d] !== undefined)
          .map((d) => kv(PARAM_LABELS[d] || d, fmtParam(d, p[d]))),
      ),
      plot,
    );
    const curve = t.curve || {};
    if (!(curve.epoch || []).length) {
      plot.replaceWith(h("p", { class: "muted", text: "No epochs reported." }));
      return;
    }
    const Plotly = await ensurePlotly();
    if (!ctx.alive() || selected !== t.number) return;
    const c = palette();
    const traces = [];
    const primary = ["val_loss", "train_loss"];
    primary.forEach((m, i) => {
      if ((curve[m] || []).some((v) => v !== null && v !== undefined)) {
        traces.push({ type: "scatter", mode: "lines+markers", x: curve.epoch, y: curve[m], name: metricLabel(m), line: { color: c.colorway[i], width: 2 }, marker: { size: 4 } });
      }
    });
    if ((curve.val_accuracy || []).some((v) => v !== null && v !== undefined)) {
      traces.push({ type: "scatter", mode: "lines", x: curve.epoch, y: curve.val_accuracy, name: "validation accuracy", yaxis: "y2", line: { color: c.colorway[2], width: 2, dash: "dot" } });
    }
    const layout = {
      template: themeTemplate(),
      height: 240,
      margin: { l: 50, r: 50, t: 30, b: 40 },
      xaxis: { title: { text: "epoch" } },
      yaxis: { title: { text: "loss" }, type: spansDecades([...(curve.val_loss || []), ...(curve.train_loss || [])]) ? "log" : "linear" },
      yaxis2: { overlaying: "y", side: "right", showgrid: false, range: [0, 1], title: { text: "accuracy" } },
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
      hovermode: "x unified",
    };
    if (!traces.some((tr) => tr.yaxis === "y2")) delete layout.yaxis2;
    await Plotly.react(plot, traces, layout, PLOT_CONFIG);
  }

  function closeDetail() {
    selected = null;
    detail.hidden = true;
    if (window.Plotly) {
      const plot = detail.querySelector(".detail-plot");
      if (plot) window.Plotly.purge(plot);
    }
    clear(detail);
    for (const tr of tbody.querySelectorAll("tr.selected")) tr.classList.remove("selected");
  }

  const refresh = throttle(() => ctx.alive() && load(), 3000);
  ctx.onCleanup(() => refresh.cancel());
  load();

  return {
    refresh,
    reload: load,
    retheme() {
      if (selected !== null) open(selected);
    },
  };
}

function kv(key, value) {
  return [h("dt", { text: key }), h("dd", { class: "mono", text: value })];
}
