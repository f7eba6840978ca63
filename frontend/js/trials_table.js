// Trials table: paged GET /trials, sortable by number/value/duration, filterable by state or by a
// selection (brushing in parallel coordinates), linked both ways with the convergence chart, and
// a detail panel (GET /trials/{number}) showing the trial's curve and parameters.
import { api, errorMessage, isAbort } from "./api.js";
import { spansDecades } from "./curves.js";
import { clear, h, replace, setText, throttle } from "./dom.js";
import { AXIS_NUMBERS, DIMENSIONS, PARAM_LABELS, adamParams, epochAxis, fmtDuration, fmtNum, fmtParam, fmtTime, fullNum, logTicksOf } from "./format.js";
import { noteEditor, notesSupported } from "./notes.js";
import { PLOT_CONFIG, ensurePlotly, palette, themeTemplate } from "./plot.js";
import { NO_SCHEDULE, lrCurve } from "./schedule_data.js";

const PAGE = 50;
const SELECTION_LIMIT = 1000; // a selection is filtered from at most this many trials
const STATES = ["", "COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING"];
const SORTABLE = { number: "#", value: "value", duration: "duration" };

/**
 * @param {HTMLElement} container
 * @param {{studyId, ctx, getStudy, onHover?: (n|null) => void, onSelect?: (n|null) => void,
 *          onRows?: (rows) => void, liveEpochs?: (n) => number, baselineName?: string}} opts
 */
export function createTrialsTable(container, { studyId, ctx, getStudy, onHover, onSelect, onRows, liveEpochs, baselineName = "default Adam" }) {
  let offset = 0;
  let sort = "number";
  let order = "desc";
  let state = "";
  let total = 0;
  let selected = null;
  let linked = null;
  let seq = 0;
  let selection = null; // {numbers: Set, label} from another figure, or null

  const stateSelect = h(
    "select",
    { id: "trials-state", "aria-label": "filter by state", onchange: () => ((state = stateSelect.value), (offset = 0), load()) },
    STATES.map((s) => h("option", { value: s }, s ? s.toLowerCase() : "all states")),
  );
  const info = h("span", { class: "muted small", id: "trials-info" });
  const prev = h("button", { type: "button", class: "small", onclick: () => ((offset = Math.max(0, offset - PAGE)), load()) }, "‹ prev");
  const next = h("button", { type: "button", class: "small", onclick: () => ((offset += PAGE), load()) }, "next ›");
  const selectionChip = h("span", { class: "chip", id: "trials-selection", hidden: true });
  const error = h("div", { class: "alert error", hidden: true });
  const headRow = h("tr");
  const tbody = h("tbody");
  const table = h("table", { class: "data trials-table", id: "trials-table" }, h("thead", {}, headRow), tbody);
  const detail = h("aside", { class: "trial-detail", id: "trial-detail", hidden: true });

  container.appendChild(
    h(
      "section",
      { class: "panel trials" },
      h("div", { class: "panel-head" }, h("h2", { text: "Trials" }), h("div", { class: "toolbar" }, selectionChip, stateSelect, info, prev, next)),
      error,
      h("div", { class: "trials-body" }, h("div", { class: "table-wrap" }, table), detail),
    ),
  );

  let seenParams = []; // param names of the rows shown (a study from another script has its own)
  let seenRunner = false; // a row shows the host of the runner that trained it
  let seenDevice = false; // a row trained on a GPU: show each row's device (all-CPU pages do not)

  /** An external study's trials are trained by the user's runners: say on which host. */
  function hasRunner() {
    return getStudy()?.task === "external" || seenRunner;
  }

  /** The hyper-parameter columns: the searched ones (fixed ones are the same in every row). */
  function columns() {
    const space = getStudy()?.space;
    if (!space) {
      const names = new Set(seenParams);
      const known = DIMENSIONS.filter((d) => names.has(d));
      return [...known, ...[...names].filter((n) => !DIMENSIONS.includes(n)).sort()];
    }
    const tuned = DIMENSIONS.filter((d) => space[d] && (space[d].value === null || space[d].value === undefined));
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
      hasRunner() ? th("runner", null, "runner") : null,
      seenDevice ? th("device", null, "device") : null,
      th("note", null, "note"),
    );
  }

  function epochsOf(t) {
    const live = t.state === "RUNNING" && liveEpochs ? liveEpochs(t.number) : 0;
    return Math.max(t.epochs_done ?? 0, live || 0);
  }

  function row(t, bestNumber) {
    // a trial without a schedule records none: in a study tuning one, it shows what it trained with
    const p = { ...NO_SCHEDULE, ...(t.params || {}) };
    const study = getStudy() || {};
    const stopping = t.state === "RUNNING" && !t.reserved && study.status === "stopping";
    // a trial that has just started may not have all its parameters yet: reload on its epochs
    const incomplete = t.state === "RUNNING" && columns().some((d) => p[d] === undefined);
    const tr = h(
      "tr",
      {
        class: `clickable row-${t.interrupted ? "stopped" : String(t.state).toLowerCase()}${t.number === selected ? " selected" : ""}${t.number === bestNumber ? " best" : ""}${t.number === linked ? " linked" : ""}`,
        dataset: { trial: t.number, state: t.state, interrupted: t.interrupted ? "1" : null, incomplete: incomplete ? "1" : null },
        tabindex: 0,
        onclick: () => open(t.number, { fromTable: true }),
        onkeydown: (e) => {
          if (e.key === "Enter") open(t.number, { fromTable: true });
        },
        onmouseenter: () => onHover?.(t.number),
        onmouseleave: () => onHover?.(null),
      },
      h("td", { class: "num mono", text: t.number }),
      h("td", { class: "state-cell" }, h("span", { class: `state state-${stateName(t)}`, text: stateName(t) })),
      h("td", { class: "num mono value", text: fmtNum(t.value), title: t.state === "COMPLETE" ? fullNum(t.value) : t.value !== null && t.value !== undefined ? `last reported value ${fullNum(t.value)}` : "" }),
      columns().map((d) => h("td", { class: "num mono", dataset: { param: d }, text: fmtParam(d, p[d]), title: fullNum(p[d]) })),
      h("td", { class: "num mono epochs", text: epochsOf(t) }),
      h("td", { class: "num mono", text: fmtDuration(t.duration_s) }),
      hasRunner() ? h("td", { class: "runner mono", text: t.runner || "–", title: t.runner ? `trained on ${t.runner}` : null }) : null,
      seenDevice ? h("td", { class: "device mono", text: t.device || "–", title: t.device ? `trained on ${t.device}` : null }) : null,
      h(
        "td",
        { class: "note" },
        t.baseline ? h("span", { class: "tag baseline", text: baselineName }) : null,
        t.number === bestNumber ? h("span", { class: "tag best", text: "best" }) : null,
        stopping ? h("span", { class: "tag", text: "stopping…", title: "ends at its next epoch" }) : null,
        t.interrupted ? h("span", { class: "muted rerun", text: rerunNote(t), title: t.reason || null }) : t.reason ? h("span", { class: "muted", text: t.reason }) : null,
      ),
    );
    return tr;
  }

  async function fetchPage() {
    const query = { offset, limit: PAGE, sort, order, state };
    if (!selection) return api.get(`/studies/${studyId}/trials`, query, { signal: ctx.signal });
    // a selection: filter one big page here (figures use at most 1000 trials as well)
    const all = await api.get(`/studies/${studyId}/trials`, { ...query, offset: 0, limit: SELECTION_LIMIT }, { signal: ctx.signal });
    const rows = (all.trials || []).filter((t) => selection.numbers.has(t.number));
    return { total: rows.length, trials: rows.slice(offset, offset + PAGE) };
  }

  async function load() {
    const mine = ++seq;
    try {
      const data = await fetchPage();
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
      for (const t of trials) t.params = adamParams(t.params);
      seenParams = [...new Set(trials.flatMap((t) => Object.keys(t.params || {})))];
      seenRunner = trials.some((t) => t.runner);
      seenDevice = trials.some((t) => t.device && t.device !== "cpu");
      header();
      replace(
        tbody,
        trials.length
          ? trials.map((t) => row(t, best))
          : h("tr", {}, h("td", { colspan: 6 + columns().length + (hasRunner() ? 1 : 0) + (seenDevice ? 1 : 0), class: "muted", text: selection ? "No trials in this selection." : state ? "No trials in this state." : "No trials yet." })),
      );
      setText(info, total ? `${offset + 1}–${offset + trials.length} of ${total}` : "0 trials");
      prev.disabled = offset === 0;
      next.disabled = offset + PAGE >= total;
      onRows?.(trials);
    } catch (err) {
      if (isAbort(err) || mine !== seq || !ctx.alive()) return;
      error.hidden = false;
      setText(error, `Could not load the trials: ${errorMessage(err)}`);
    }
  }

  function rowOf(number) {
    return tbody.querySelector(`tr[data-trial="${Number(number)}"]`);
  }

  async function open(number, { fromTable = false } = {}) {
    selected = number;
    for (const tr of tbody.querySelectorAll("tr")) tr.classList.toggle("selected", Number(tr.dataset.trial) === number);
    onSelect?.(number);
    if (!fromTable) rowOf(number)?.scrollIntoView({ block: "nearest" });
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
    const p = adamParams(t.params);
    const plot = h("div", { class: "detail-plot", id: "trial-detail-plot" });
    // a trial with a learning-rate schedule: its lr over the run, on the curve's epoch axis
    const epochs = getStudy()?.epochs || Math.max(0, ...(t.curve?.epoch || []));
    const lr = lrCurve(p, epochs);
    const lrPlot = lr ? h("div", { class: "detail-plot detail-lr", id: "trial-detail-lr", "aria-label": "learning rate over the run" }) : null;
    const close = h("button", { type: "button", class: "ghost small", "aria-label": "close", onclick: closeDetail }, "✕");
    replace(
      detail,
      h("div", { class: "detail-head" }, h("h3", { text: `Trial ${t.number}` }), t.baseline ? h("span", { class: "tag baseline", text: baselineName }) : null, close),
      h(
        "dl",
        { class: "kv" },
        kv("state", t.interrupted ? rerunNote(t) : stateName(t)),
        kv(t.state === "COMPLETE" ? "value" : "last value", fmtNum(t.value), fullNum(t.value)),
        t.reason ? kv("reason", t.reason) : null,
        kv("epochs", t.epochs_done ?? "–"),
        kv("duration", fmtDuration(t.duration_s)),
        kv("started", fmtTime(t.datetime_start)),
        t.runner ? kv("runner", t.runner) : null,
        t.device ? kv("device", t.device) : null,
        [...DIMENSIONS, ...Object.keys(p).filter((k) => !DIMENSIONS.includes(k)).sort()]
          .filter((d) => p[d] !== undefined)
          .map((d) => kv(PARAM_LABELS[d] || d, fmtParam(d, p[d]), fullNum(p[d]))),
      ),
      plot,
      lrPlot,
    );
    notesSupported().then((supported) => {
      if (!supported.trial || !ctx.alive() || selected !== t.number) return;
      detail.appendChild(
        noteEditor({ path: `/studies/${studyId}/trials/${t.number}/note`, ctx, label: "trial note", id: "trial-note" }),
      );
    });
    const curve = t.curve || {};
    if (!(curve.epoch || []).length) {
      plot.replaceWith(h("p", { class: "muted", text: "No epochs reported." }));
      lrPlot?.remove();
      return;
    }
    const Plotly = await ensurePlotly();
    if (!ctx.alive() || selected !== t.number) return;
    const c = palette();
    const traces = [];
    const short = curve.epoch.length <= 12;
    const names = { val_loss: "val loss", train_loss: "train loss" };
    ["val_loss", "train_loss"].forEach((m, i) => {
      if ((curve[m] || []).some((v) => v !== null && v !== undefined)) {
        traces.push({
          type: "scatter",
          mode: short ? "lines+markers" : "lines",
          x: curve.epoch,
          y: curve[m],
          text: curve[m].map((v) => fmtNum(v)),
          hovertemplate: `${names[m]} %{text}<extra></extra>`,
          name: names[m],
          line: { color: c.colorway[i], width: 2 },
          marker: { size: 5 },
        });
      }
    });
    if ((curve.val_accuracy || []).some((v) => v !== null && v !== undefined)) {
      traces.push({
        type: "scatter",
        mode: short ? "lines+markers" : "lines",
        x: curve.epoch,
        y: curve.val_accuracy,
        text: curve.val_accuracy.map((v) => fmtNum(v)),
        hovertemplate: `val accuracy %{text}<extra></extra>`,
        name: "val accuracy",
        yaxis: "y2",
        line: { color: c.colorway[2], width: 2, dash: "dot" },
        marker: { size: 5 },
      });
    }
    const n = Math.max(...curve.epoch, getStudy()?.epochs || 0);
    const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1];
    const layout = {
      template: themeTemplate(),
      height: 250,
      margin: { l: 50, r: 44, t: 24, b: 40 },
      xaxis: { title: { text: "epoch", standoff: 4 }, ...epochAxis(n, 240, Math.min(...curve.epoch)) },
      yaxis: { title: { text: "loss" }, ...lossAxis([...(curve.val_loss || []), ...(curve.train_loss || [])]) },
      // explicit ticks: an overlaying axis would otherwise sync its ticks to the loss axis
      yaxis2: { overlaying: "y", side: "right", showgrid: false, range: [0, 1], tickmode: "array", tickvals: ticks, ticktext: ticks.map((v) => fmtNum(v)), title: { text: "accuracy", standoff: 2 } },
      // the legend is a line of text above the plot (Plotly's entries overlapped at this width)
      showlegend: false,
      hovermode: "x unified",
    };
    if (!traces.some((tr) => tr.yaxis === "y2")) delete layout.yaxis2;
    plot.before(
      h(
        "div",
        { class: "detail-legend small", id: "trial-detail-legend" },
        traces.map((tr) => h("span", { class: "entry" }, h("span", { class: `swatch${tr.line.dash === "dot" ? " dotted" : ""}`, style: { borderColor: tr.line.color } }), tr.name)),
      ),
    );
    await Plotly.react(plot, traces, layout, PLOT_CONFIG);
    if (lrPlot && ctx.alive() && selected === t.number) await drawLr(Plotly, lrPlot, lr, epochs, c);
  }

  /** The trial's learning rate over its run (its schedule in closed form), under its curve. */
  async function drawLr(Plotly, el, lr, epochs, c) {
    const trace = {
      type: "scatter",
      mode: "lines",
      x: lr.x,
      y: lr.y,
      text: lr.y.map((v) => fmtNum(v)),
      hovertemplate: "lr %{text}<extra></extra>",
      name: "learning rate",
      line: { color: c.colorway[3 % c.colorway.length], width: 2 },
    };
    const layout = {
      template: themeTemplate(),
      height: 150,
      margin: { l: 50, r: 44, t: 8, b: 40 },
      xaxis: { title: { text: "epoch", standoff: 4 }, ...epochAxis(epochs, 240, 1), range: [0, epochs] },
      yaxis: { title: { text: "lr" }, rangemode: "tozero", ...AXIS_NUMBERS },
      showlegend: false,
      hovermode: "x unified",
    };
    await Plotly.react(el, [trace], layout, PLOT_CONFIG);
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
    onSelect?.(null);
  }

  function setSelection(numbers, label) {
    selection = numbers ? { numbers: new Set(numbers), label } : null;
    selectionChip.hidden = !selection;
    if (selection) {
      replace(
        selectionChip,
        `${selection.numbers.size} selected in ${label}`,
        h("button", { type: "button", class: "ghost small", "aria-label": "clear the selection", onclick: () => setSelection(null) }, "✕"),
      );
    }
    offset = 0;
    load();
  }

  const refresh = throttle(() => ctx.alive() && load(), 1000);
  ctx.onCleanup(() => refresh.cancel());
  load();

  return {
    refresh,
    reload: load,
    open: (number) => open(number),
    /** Mark the row of the trial hovered on the chart (null: none). */
    highlight(number) {
      linked = number ?? null;
      for (const tr of tbody.querySelectorAll("tr.linked")) tr.classList.remove("linked");
      if (linked !== null) rowOf(linked)?.classList.add("linked");
    },
    /**
     * A running trial reported an epoch: its "epochs" cell follows without a reload. Returns
     * "shown", "stale" (its row lacks parameters: reload) or "absent" (no running row for it).
     */
    liveEpoch(number, count) {
      const tr = rowOf(number);
      if (!tr || tr.dataset.state !== "RUNNING") return "absent";
      const cell = tr.querySelector("td.epochs");
      if (cell && Number(cell.textContent) < count) cell.textContent = String(count);
      return tr.dataset.incomplete ? "stale" : "shown";
    },
    /** Show only these trial numbers (null: all), e.g. a brush in parallel coordinates. */
    setSelection,
    retheme() {
      if (selected !== null) open(selected, { fromTable: true });
    },
  };
}

/**
 * A trial's state as the page names it: a FAIL that was interrupted (a stop, a worker shutting
 * down) and queued again is "stopped" or "interrupted", not a failure.
 */
export function stateName(t) {
  if (t.state === "FAIL" && t.interrupted) return /^stopped/i.test(t.reason || "") ? "stopped" : "interrupted";
  // asked ahead by a runner's client, not started by its loop yet
  if (t.state === "RUNNING" && t.reserved) return "reserved";
  return String(t.state).toLowerCase();
}

/** "stopped · re-run as #6" (or "· queued to re-run" before the re-run has a number). */
export function rerunNote(t) {
  if (!t.interrupted) return null;
  const rerun = t.rerun_as !== null && t.rerun_as !== undefined ? `re-run as #${t.rerun_as}` : "queued to re-run";
  return `${stateName(t)} · ${rerun}`;
}

/** The loss axis of a trial's chart: log over decades, its ticks written as numbers. */
function lossAxis(values) {
  if (!spansDecades(values)) return { type: "linear", ...AXIS_NUMBERS };
  return { type: "log", ...AXIS_NUMBERS, ...logTicksOf(values, 180, 30) };
}

function kv(key, value, title) {
  return [h("dt", { text: key }), h("dd", { class: "mono", text: value, title: title || null })];
}
