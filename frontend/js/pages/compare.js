// Compare studies side by side (#/compare?ids=3,4,5): best value so far against trials, wall
// time and epochs consumed, the EDF of final values, the validated means with their 95 % CIs and
// each study's best convergence curve, one colour per study on every chart. Live while a study
// runs: its event stream marks it changed, and one throttled refresh redraws every chart once.
import { api, errorMessage, isAbort } from "../api.js";
import {
  bestSoFar,
  caution,
  curveOf,
  edf,
  isLive,
  parseIds,
  refusal,
  shortLabels,
  validated,
} from "../compare_data.js";
import { spansDecades } from "../curves.js";
import { append, h, labelCells, replace, setText, throttle } from "../dom.js";
import { fmtDuration, fmtGain, fmtNum, logTicksOf, metricLabel } from "../format.js";
import { PLOT_CONFIG, ensurePlotly, lineChartLayout, onThemeChange, palette } from "../plot.js";
import { StudyStream } from "../stream.js";
import { progressBar, statusBadge } from "../widgets.js";

const MAX_STUDIES = 12;
const BATCH_MS = 1000; // events within this window become one refresh and one redraw per chart
const POLL_MS = 5000; // summaries (status, progress, validation) of the studies no stream follows
const MAX_STREAMS = 3; // more event streams would take the browser's 6 connections per host
const TRIALS_PAGE = 1000;

export async function mount(root, ctx, query) {
  ctx.setTitle("Compare");
  const ids = parseIds(query);
  const head = h("div", { class: "page-head" }, h("h1", { text: "Compare studies" }), h("a", { class: "button", href: "#/" }, "Pick studies"));
  root.appendChild(head);
  if (ids === null || ids.length < 2 || ids.length > MAX_STUDIES) {
    const why =
      ids === null
        ? "The link names no studies: it reads #/compare?ids=3,4,5."
        : ids.length < 2
          ? "Name two or more studies to compare: tick them in the studies list, then Compare."
          : `Compare at most ${MAX_STUDIES} studies at once.`;
    root.appendChild(h("div", { class: "alert error", id: "compare-refused", role: "alert", text: why }));
    return;
  }
  const loading = h("p", { class: "muted", text: "Loading the studies…" });
  root.appendChild(loading);
  let summaries;
  try {
    summaries = await Promise.all(ids.map((id) => api.get(`/studies/${id}`, null, { signal: ctx.signal })));
  } catch (err) {
    if (isAbort(err) || !ctx.alive()) return;
    loading.remove();
    root.appendChild(h("div", { class: "alert error", id: "compare-refused", role: "alert", text: `Could not load the studies: ${errorMessage(err)}` }));
    return;
  }
  if (!ctx.alive()) return;
  loading.remove();
  const refused = refusal(summaries);
  if (refused) {
    root.append(
      h("div", { class: "alert error", id: "compare-refused", role: "alert", text: refused }),
      h("ul", {}, summaries.map((s) => h("li", {}, h("a", { href: `#/studies/${s.id}` }, s.name), ` · ${s.direction === "maximize" ? "maximise" : "minimise"} ${metricLabel(s.metric)}`))),
    );
    return;
  }
  ctx.setTitle(`Compare ${summaries.length} studies`);
  const page = new ComparePage(root, ctx, summaries);
  await page.loadAll();
}

class ComparePage {
  constructor(root, ctx, summaries) {
    this.root = root;
    this.ctx = ctx;
    this.direction = summaries[0].direction;
    // id -> {summary, trials, curve: {trial, x, y} | null, stream, index (its colour), label}
    // one label per study (the validated chart's categories would merge namesakes)
    const labels = shortLabels(summaries.map((s) => s.name || `study ${s.id}`)).map((label, i, all) =>
      all.indexOf(label) === all.lastIndexOf(label) ? label : `${label} (${summaries[i].id})`,
    );
    this.studies = new Map(summaries.map((s, i) => [s.id, { summary: s, trials: [], curve: null, stream: null, index: i, label: labels[i] }]));
    this.dirty = new Set();
    this.budgetAxis = "seconds";
    this.build(summaries);
    this.flushSoon = throttle(() => this.flush(), BATCH_MS);
    this.poll = setInterval(() => {
      if (!document.hidden) this.pollQuiet();
    }, POLL_MS);
    ctx.onCleanup(() => {
      clearInterval(this.poll);
      this.flushSoon.cancel();
      for (const st of this.studies.values()) st.stream?.stop();
      if (window.Plotly) for (const div of this.plots()) window.Plotly.purge(div);
    });
    ctx.onCleanup(onThemeChange(() => this.draw()));
  }

  build(summaries) {
    const warn = caution(summaries);
    // the studies of one comparison: its page has the verdict
    const owners = new Set(summaries.map((s) => s.comparison_id ?? null));
    const comparison = owners.size === 1 ? [...owners][0] : null;
    const better = this.direction === "maximize" ? "higher is better" : "lower is better";
    this.liveMode = h("span", { class: "live-mode small", id: "compare-live" });
    this.tbody = h("tbody");
    this.budgetSelect = h(
      "select",
      { id: "compare-budget-x", "aria-label": "budget axis", onchange: () => ((this.budgetAxis = this.budgetSelect.value), this.draw()) },
      h("option", { value: "seconds" }, "wall time"),
      h("option", { value: "epochs" }, "epochs consumed"),
    );
    this.divs = {
      history: h("div", { class: "compare-plot", id: "compare-history" }),
      budget: h("div", { class: "compare-plot", id: "compare-budget" }),
      edf: h("div", { class: "compare-plot", id: "compare-edf" }),
      validated: h("div", { class: "compare-plot", id: "compare-validated" }),
      curves: h("div", { class: "compare-plot", id: "compare-curves" }),
    };
    this.validatedNote = h("p", { class: "muted small", id: "compare-validated-note" });
    const panel = (title, div, ...extra) => h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", { text: title }), h("div", { class: "toolbar" }, extra)), div);
    // dom.js' append skips the caution when there is none (the DOM's own wrote "null")
    append(this.root, [
      h(
        "p",
        { class: "meta muted" },
        `${summaries.length} studies · ${metricLabel(summaries[0].metric)}, ${better}`,
        comparison !== null ? [" · ", h("a", { href: `#/comparisons/${comparison}`, id: "compare-comparison" }, "their comparison")] : null,
        " ",
        this.liveMode,
      ),
      warn ? h("div", { class: "alert info", id: "compare-caution", role: "status", text: warn }) : null,
      h(
        "section",
        { class: "panel flush" },
        h(
          "table",
          { class: "data compare-table reflow", id: "compare-table" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", { text: "Study" }),
              h("th", { text: "Status" }),
              h("th", { class: "progress-col", text: "Progress" }),
              h("th", { class: "num", text: "Best (search)" }),
              h("th", { class: "num", text: "Validated mean", title: "the best configuration retrained on fresh seeds: mean and 95 % CI" }),
              h("th", { class: "num", text: "Validated gain", title: "over the defaults on the same seeds, 95 % CI" }),
              h("th", { class: "num", text: "Epochs" }),
              h("th", { class: "num", text: "Wall time" }),
            ),
          ),
          this.tbody,
        ),
      ),
      h(
        "div",
        { class: "two-col compare-grid" },
        panel("Best so far by trial", this.divs.history),
        panel("Best so far by budget", this.divs.budget, this.budgetSelect),
        panel("EDF of final values", this.divs.edf),
        h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", { text: "Validated means, 95 % CI" })), this.validatedNote, this.divs.validated),
      ),
      panel("Best convergence curves", this.divs.curves),
    ]);
  }

  plots() {
    return Object.values(this.divs);
  }

  // ---------- data ----------

  async loadAll() {
    await Promise.all([...this.studies.keys()].map((id) => this.load(id, false)));
    if (!this.ctx.alive()) return;
    this.draw();
    this.follow();
  }

  /** Summary (unless fresh), every trial, and the best trial's curve when the best changed. */
  async load(id, withSummary = true) {
    const st = this.studies.get(id);
    const opts = { signal: this.ctx.signal };
    try {
      if (withSummary) st.summary = await api.get(`/studies/${id}`, null, opts);
      const trials = [];
      for (let offset = 0; ; offset += TRIALS_PAGE) {
        const page = await api.get(`/studies/${id}/trials`, { offset, limit: TRIALS_PAGE, sort: "number" }, opts);
        trials.push(...(page.trials || []));
        if (!page.trials?.length || trials.length >= page.total) break;
      }
      st.trials = trials;
      const best = st.summary.best?.trial;
      if (best === undefined || best === null) st.curve = null;
      else if (st.curve?.trial !== best) {
        const detail = await api.get(`/studies/${id}/trials/${best}`, null, opts);
        st.curve = { trial: best, ...curveOf(detail, st.summary) };
      }
      st.error = "";
    } catch (err) {
      if (isAbort(err) || !this.ctx.alive()) return;
      st.error = errorMessage(err);
    }
  }

  /** Follow each live study; the others are polled, so one resumed elsewhere is followed too. */
  follow() {
    for (const st of this.studies.values()) if (isLive(st.summary)) this.startStream(st);
    this.showMode();
  }

  /** An event stream (polling of /curves past MAX_STREAMS): a trial or status change marks the
   * study dirty, and the next batch reloads it. */
  async startStream(st) {
    const id = st.summary.id;
    st.stream = { stopped: false, stop() {} }; // taken: no second stream while this one starts
    let cursor = 0;
    try {
      cursor = (await api.get(`/studies/${id}/curves`, { max_trials: 1, max_points: 2 }, { signal: this.ctx.signal })).cursor;
    } catch (err) {
      if (isAbort(err) || !this.ctx.alive()) return;
    }
    if (!this.ctx.alive()) return;
    const mark = () => {
      this.dirty.add(id);
      this.flushSoon();
    };
    const streams = [...this.studies.values()].filter((other) => other !== st && other.stream instanceof StudyStream);
    const stream = new StudyStream(id, cursor, { trialFinished: mark, status: mark, mode: () => this.showMode() });
    stream.seed(st.trials);
    st.stream = stream;
    if (streams.length >= MAX_STREAMS) {
      stream.stopped = false; // polls /curves?after= from the start: holds no connection
      stream.startPolling();
    } else stream.start();
    mark(); // anything that changed between the last load and the stream's cursor
  }

  /** The summaries of the studies no stream follows: any change marks the study dirty. */
  async pollQuiet() {
    const quiet = [...this.studies.values()].filter((st) => !st.stream);
    const sign = (s) => JSON.stringify([s.status, s.progress, s.best?.trial, s.validation?.status, s.validation?.runs_done]);
    const found = await Promise.all(
      quiet.map((st) =>
        api.get(`/studies/${st.summary.id}`, null, { signal: this.ctx.signal }).catch((err) => {
          if (isAbort(err)) throw err;
          return null;
        }),
      ),
    ).catch(() => []);
    if (!this.ctx.alive()) return;
    quiet.forEach((st, i) => {
      if (found[i] && sign(found[i]) !== sign(st.summary)) this.dirty.add(st.summary.id);
    });
    if (this.dirty.size) this.flushSoon();
  }

  showMode() {
    const following = [...this.studies.values()].filter((st) => st.stream && !st.stream.stopped).length;
    this.liveMode.dataset.mode = following ? "live" : "off";
    setText(this.liveMode, following ? `live: following ${following} running stud${following === 1 ? "y" : "ies"}` : "");
  }

  /** One refresh of every changed study, then one redraw of each chart. */
  async flush() {
    if (!this.ctx.alive() || !this.dirty.size) return;
    if (this.flushing) return; // the running refresh schedules the next one
    this.flushing = true;
    const ids = [...this.dirty];
    this.dirty.clear();
    try {
      await Promise.all(ids.map((id) => this.load(id)));
    } finally {
      this.flushing = false;
      if (this.dirty.size) this.flushSoon();
    }
    if (!this.ctx.alive()) return;
    for (const id of ids) {
      const st = this.studies.get(id);
      if (st.stream && !isLive(st.summary)) {
        st.stream.stop();
        st.stream = null;
      } else if (!st.stream && isLive(st.summary)) this.startStream(st);
    }
    this.showMode();
    this.draw();
  }

  // ---------- drawing ----------

  colour(st) {
    const way = palette().colorway;
    return way[st.index % way.length];
  }

  label(st) {
    return st.label;
  }

  renderTable() {
    const rows = [...this.studies.values()].map((st) => {
      const s = st.summary;
      const { winner, status } = validated(s);
      const series = bestSoFar(st.trials, s.direction);
      const mean = winner ? `${fmtNum(winner.mean)} [${fmtNum(winner.ci_low)}, ${fmtNum(winner.ci_high)}]` : status ? `validation ${status}` : "–";
      const gain = winner && winner.gain !== null && winner.gain !== undefined ? `${fmtGain(winner.gain)} [${fmtGain(winner.gain_low)}, ${fmtGain(winner.gain_high)}]` : "–";
      return h(
        "tr",
        { dataset: { studyId: s.id } },
        h(
          "td",
          { class: "name" },
          h("span", { class: "swatch", style: { background: this.colour(st) } }),
          h("a", { href: `#/studies/${s.id}` }, s.name || `study ${s.id}`),
          s.read_only && s.status !== "read_only" ? h("span", { class: "tag", text: "read-only" }) : null,
          st.error ? h("div", { class: "field-error", text: st.error }) : null,
        ),
        h("td", {}, statusBadge(s.status)),
        h("td", { class: "progress-col" }, progressBar(s.progress, s.n_trials)),
        h("td", { class: "num mono best", text: s.best ? fmtNum(s.best.value) : "–" }),
        h("td", { class: "num mono validated", text: mean }),
        h("td", { class: `num mono gain ${winner?.gain > 0 ? "good" : winner?.gain < 0 ? "bad" : ""}`, text: gain }),
        h("td", { class: "num mono", text: String(series.epochs) }),
        h("td", { class: "num mono", text: fmtDuration(s.elapsed_s) }),
      );
    });
    replace(this.tbody, rows);
    labelCells(this.tbody.closest("table"));
  }

  layout(xTitle, yTitle, values, extra = {}) {
    const log = spansDecades(values);
    // a log axis' ticks written as numbers (0.05, 0.1, 0.2): Plotly's read "2" for 0.2 and 2
    const decades = { type: "log", ...logTicksOf(values, 320 - 80) };
    return lineChartLayout({
      height: 320,
      xaxis: { title: { text: xTitle }, ...(extra.xaxis || {}), ...(extra.xaxis?.type === "log" ? { type: "log", ...logTicksOf(extra.xValues, 600, 60) } : {}) },
      yaxis: { title: { text: yTitle }, ...(extra.yaxis?.type ? {} : log ? decades : { type: "linear" }), ...(extra.yaxis || {}) },
      uirevision: "compare",
    });
  }

  line(st, x, y, extra = {}) {
    const colour = this.colour(st);
    return {
      type: "scatter",
      mode: x.length <= 2 ? "lines+markers" : "lines",
      name: this.label(st),
      x,
      y,
      text: y.map((v) => fmtNum(v)),
      line: { color: colour, width: 2, shape: "hv" },
      marker: { color: colour, size: 6 },
      meta: { study: st.summary.id },
      ...extra,
    };
  }

  async draw() {
    this.renderTable();
    const Plotly = await ensurePlotly();
    if (!this.ctx.alive()) return;
    const all = [...this.studies.values()];
    const metric = metricLabel(all[0].summary.metric);
    const series = all.map((st) => ({ st, ...bestSoFar(st.trials, st.summary.direction) }));

    const history = series.map(({ st, byNumber }) =>
      this.line(st, byNumber.x, byNumber.y, { hovertemplate: "%{fullData.name}<br>trial %{x}: best %{text}<extra></extra>" }),
    );
    const historyValues = series.flatMap((s) => s.byNumber.y);

    const axis = this.budgetAxis;
    const budget = series.map(({ st, byBudget }) =>
      this.line(st, byBudget[axis], byBudget.y, {
        hovertemplate: `%{fullData.name}<br>${axis === "seconds" ? "%{x:.1f} s" : "%{x} epochs"}: best %{text}<extra></extra>`,
      }),
    );

    const edfs = all.map((st) => {
      const e = edf(st.trials);
      return this.line(st, e.x, e.y, { text: e.x.map((v) => fmtNum(v)), hovertemplate: "%{fullData.name}<br>%{text}: %{y:.0%} of trials at or below<extra></extra>" });
    });
    const edfValues = edfs.flatMap((t) => t.x);

    const curves = all
      .filter((st) => st.curve)
      .map((st) =>
        this.line(st, st.curve.x, st.curve.y, {
          line: { color: this.colour(st), width: 2 },
          name: `${this.label(st)} · trial ${st.curve.trial}`,
          meta: { study: st.summary.id, trial: st.curve.trial },
          hovertemplate: "%{fullData.name}<br>epoch %{x}: %{text}<extra></extra>",
        }),
      );
    const curveValues = curves.flatMap((t) => t.y);

    await Promise.all([
      Plotly.react(this.divs.history, history, this.layout("trial", `best ${metric}`, historyValues), PLOT_CONFIG),
      Plotly.react(this.divs.budget, budget, this.layout(axis === "seconds" ? "wall time (s)" : "epochs consumed", `best ${metric}`, historyValues), PLOT_CONFIG),
      Plotly.react(this.divs.edf, edfs, this.layout(metric, "fraction of complete trials", edfValues, { xValues: edfValues, xaxis: { type: spansDecades(edfValues) ? "log" : "linear" }, yaxis: { type: "linear", range: [0, 1.02], dtick: 0.25 } }), PLOT_CONFIG),
      Plotly.react(this.divs.curves, curves, this.layout("epoch", metric, curveValues), PLOT_CONFIG),
      this.drawValidated(Plotly, all),
    ]);
  }

  /** The validated winner of each study with its 95 % CI, beside its defaults on the same seeds. */
  async drawValidated(Plotly, all) {
    const c = palette();
    const traces = [];
    const values = [];
    const missing = [];
    for (const st of all) {
      const { winner, defaults, status } = validated(st.summary);
      if (!winner) {
        missing.push(`${this.label(st)}${status ? ` (validation ${status})` : ""}`);
        continue;
      }
      const x = [this.label(st)];
      const bar = (conf) => ({ type: "data", symmetric: false, array: [conf.ci_high - conf.mean], arrayminus: [conf.mean - conf.ci_low], color: undefined, thickness: 1.5, width: 6 });
      traces.push({
        type: "scatter",
        mode: "markers",
        name: this.label(st),
        x,
        y: [winner.mean],
        error_y: { ...bar(winner), color: this.colour(st) },
        marker: { color: this.colour(st), size: 10 },
        text: [`${winner.label}: ${fmtNum(winner.mean)} [${fmtNum(winner.ci_low)}, ${fmtNum(winner.ci_high)}], n=${winner.n}`],
        hovertemplate: "%{x}<br>%{text}<extra></extra>",
        meta: { study: st.summary.id, role: "winner" },
      });
      values.push(winner.ci_low, winner.ci_high);
      if (defaults) {
        traces.push({
          type: "scatter",
          mode: "markers",
          name: "defaults",
          legendgroup: "defaults",
          showlegend: !traces.some((t) => t.meta.role === "defaults"),
          x,
          y: [defaults.mean],
          error_y: { ...bar(defaults), color: c.muted },
          marker: { color: c.muted, size: 9, symbol: "circle-open" },
          text: [`defaults: ${fmtNum(defaults.mean)} [${fmtNum(defaults.ci_low)}, ${fmtNum(defaults.ci_high)}], n=${defaults.n}`],
          hovertemplate: "%{x}<br>%{text}<extra></extra>",
          meta: { study: st.summary.id, role: "defaults" },
        });
        values.push(defaults.ci_low, defaults.ci_high);
      }
    }
    setText(
      this.validatedNote,
      missing.length
        ? `Not validated${traces.length ? "" : " yet"}: ${missing.join(", ")}. A validation retrains a study's best configuration and the defaults on fresh seeds; start one from the study's page, or set validation seeds when creating it.`
        : "Each study's best configuration and its defaults (open circles), retrained on fresh seeds.",
    );
    const layout = this.layout("", validatedLabel(all[0].summary), values.filter((v) => v !== null && v !== undefined), { xaxis: { type: "category" } });
    layout.showlegend = false;
    this.divs.validated.hidden = !traces.length;
    if (!traces.length) {
      Plotly.purge(this.divs.validated);
      return;
    }
    await Plotly.react(this.divs.validated, traces, layout, PLOT_CONFIG);
  }
}

/**
 * What a validation measures: a task's runs on its held-out test split (optim/validation.py
 * validates on `test_loss`, whatever metric the search minimised); an external study's runs
 * report their own metric.
 */
function validatedLabel(summary) {
  if (summary.task === "external") return `${metricLabel(summary.metric)}, validation runs`;
  return "held-out test loss";
}
