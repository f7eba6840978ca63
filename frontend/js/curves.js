// Live convergence curves: one scattergl trace per trial, grown with Plotly.extendTraces; from
// BULK_MIN curves on, the finished ones are drawn as one trace per kind (curves_data.js), and
// every trace is SVG: a few SVG paths of 50,000 points paint in a tenth of the time that
// scattergl's software WebGL takes (no GPU in a headless or remote browser).
//
// What the chart does for a decision: every trial is visible (a curve of one or two points gets
// markers), the y-range is robust (a few diverging spikes are clipped and marked with ▲ rather
// than squashing the best and the default-Adam curves into the bottom of the chart), epochs are
// integers on a fixed 1..epochs axis, and there is one legend (Plotly's: one entry per kind).
import { AXIS_NUMBERS, adamParams, epochAxis, fmtNum, fmtParam, logTicks, logTicksOf, metricLabel } from "./format.js";
import { PLOT_CONFIG, palette, themeTemplate } from "./plot.js";
import { BULK_MIN, CurveData, MAX_TRACES, METRICS, SHORT_CURVE } from "./curves_data.js";

// what other modules import from here (curves_data.js has no DOM: node tests import it)
export { METRICS, robustRange, spansDecades } from "./curves_data.js";

const MIN_FLUSH_MS = 100; // epoch events arriving within this window go into one extendTraces
const MAX_MARKS = 60; // ▲ marks of points beyond the y-range (the worst trials first)

const GROUPS = {
  baseline: { rank: 1 },
  best: { rank: 2 },
  running: { rank: 3, label: "running" },
  complete: { rank: 4, label: "complete" },
  pruned: { rank: 5, label: "pruned" },
  fail: { rank: 6, label: "failed" },
  stopped: { rank: 7, label: "stopped" },
};

/** Resolves after the browser has painted (WebGL work is only done by then). */
function painted() {
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
}

function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export class LiveCurves {
  /**
   * @param {HTMLElement} div the plot element
   * @param {{metric?: string, direction?: string, epochs?: number, onHover?, onClick?}} opts
   */
  constructor(div, opts = {}) {
    this.div = div;
    this.data = new CurveData(opts); // metric, epochs, trials, order, best, baseline, pending...
    this.direction = opts.direction || "minimize";
    this.onHover = opts.onHover || null; // (trial number | null) => void
    this.onClick = opts.onClick || null; // (trial number) => void
    this.onRange = opts.onRange || null; // () => void: the clipped-points note may have changed
    this.label = opts.metricLabel || metricLabel;
    this.baselineName = opts.baselineName || "default Adam"; // the family's defaults // a plain Optuna study's curve is its intermediate value
    this.index = new Map(); // trial number -> trace index (a trial of its own trace)
    this.bulk = new Map(); // group -> the trials drawn in its one trace (the first traces)
    this.inBulk = new Set();
    this.highlighted = null; // the trial drawn thick (hovered or selected row)
    this.selected = null;
    this.dirtyPins = false;
    this.yState = { key: "", clipped: false, userZoom: false };
    this.ownRelayout = 0;
    this.timer = null;
    this.busy = false;
    this.nextFlushAt = 0;
    this.destroyed = false;
    this.ready = false;
    this.listening = false;
    this.chain = Promise.resolve(); // Plotly calls on this plot, one at a time
  }

  /** Run `fn` after every Plotly call already queued on this plot has finished. */
  serial(fn) {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }

  // ---------- data (curves_data.js) ----------

  trial(number) {
    return this.data.trial(number);
  }

  updateTrial(info) {
    this.data.updateTrial(info);
  }

  /** A FAIL the trials table knows was interrupted (a stop) and re-run: grey, not red. */
  setInterrupted(number) {
    if (this.data.setInterrupted(number)) this.schedule();
  }

  /** Parameters learnt elsewhere (the trials table): the hover of a live trial names them. */
  setParams(number, params) {
    if (this.data.setParams(number, params)) this.schedule();
  }

  /** Record one epoch; returns false for a duplicate (already seen) point. */
  addPoint(p) {
    return this.data.addPoint(p);
  }

  /** How many epochs a trial has on the chart (what the table's live "epochs" cell shows). */
  epochsOf(number) {
    return this.data.epochsOf(number);
  }

  /** First load: the `GET /curves?after=0` answer. */
  async load(resp) {
    this.data.loadPage(resp);
    performance.mark("curves:data");
    await this.redraw();
    performance.mark("curves:drawn");
    this.ready = true;
    this.schedule();
  }

  // ---------- live events ----------

  onEpoch(ev) {
    if (this.addPoint(ev)) this.schedule();
  }

  onTrialStarted(ev) {
    this.updateTrial({ number: ev.trial, state: "RUNNING", params: ev.params });
    this.schedule();
  }

  onTrialFinished(ev) {
    this.updateTrial({ number: ev.trial, state: ev.state, value: ev.value ?? null, reason: ev.reason ?? null });
    this.schedule();
  }

  setBest(number) {
    if (!this.data.setBest(number)) return;
    this.dirtyPins = true;
    this.schedule();
  }

  setBaseline(number) {
    if (!this.data.setBaseline(number)) return;
    this.dirtyPins = true;
    this.schedule();
  }

  async setMetric(metric) {
    if (!METRICS.includes(metric) || metric === this.metric) return;
    this.metric = metric;
    this.yState.userZoom = false;
    await this.redraw();
  }

  async setLogY(on) {
    this.logY = !!on;
    this.yState.userZoom = false;
    if (this.ready) await this.redraw();
  }

  async setHidePruned(on) {
    this.hidePruned = !!on;
    if (this.ready) await this.redraw();
  }

  /** Draw one trial thick on top of the others (a hovered or selected table row); null: none. */
  highlight(number) {
    const n = number ?? this.selected ?? null;
    if (n === this.highlighted) return;
    for (const old of [this.highlighted, n]) if (old !== null && old !== undefined) this.pendingStyle.add(old);
    this.highlighted = n;
    this.schedule(0);
  }

  select(number) {
    this.selected = number ?? null;
    this.highlight(this.selected);
  }

  async retheme() {
    if (this.ready) await this.redraw();
  }

  /** How many curves are on the plot. */
  shown() {
    return this.order.length;
  }

  destroy() {
    this.destroyed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (window.Plotly) window.Plotly.purge(this.div);
  }

  // ---------- drawing ----------

  pinned() {
    return this.data.pinned();
  }

  group(t) {
    return this.data.group(t);
  }

  visible(t) {
    return this.data.visible(t);
  }

  markers(t) {
    return this.data.markers(t);
  }

  style(t) {
    const c = palette();
    const isBest = t.number === this.best;
    let s;
    switch (this.group(t)) {
      case "baseline":
        s = { color: c.baseline, width: 2.5, dash: "dash", size: 7, symbol: "diamond", name: isBest ? `${this.baselineName} (best)` : this.baselineName };
        break;
      case "best":
        s = { color: c.best, width: 3.5, dash: "solid", size: 8, symbol: "circle", name: `best: trial ${t.number}` };
        break;
      case "pruned":
        s = { color: c.pruned, width: 1.3, dash: "dot", size: 6, symbol: "x", name: "pruned" };
        break;
      case "fail":
        s = { color: c.failed, width: 1.2, dash: "dashdot", size: 6, symbol: "x", name: "failed" };
        break;
      case "stopped":
        s = { color: c.pruned, width: 1.2, dash: "dashdot", size: 6, symbol: "square-open", name: "stopped, re-run" };
        break;
      case "complete":
        s = { color: c.complete, width: 1.4, dash: "solid", size: 5, symbol: "circle", name: "complete" };
        break;
      default:
        s = { color: c.running, width: 2, dash: "solid", size: 6, symbol: "circle", name: "running" };
    }
    if (t.number === this.highlighted) s = { ...s, color: c.highlight, width: 4, size: s.size + 3 };
    return s;
  }

  hover(t) {
    return `${this.hoverHead(t)}<br>epoch %{x}<br>${esc(this.label(this.metric))} %{text}${this.hoverTail(t)}<extra></extra>`;
  }

  /** The hover's first line: the trial and its state. */
  hoverHead(t) {
    const label = t.baseline ? `trial ${t.number} · ${this.baselineName}` : `trial ${t.number}`;
    return `<b>${esc(label)}</b> · ${esc(String(t.state).toLowerCase())}`;
  }

  /** The hover's lines after the point's own: the trial's value, reason and parameters. */
  hoverTail(t) {
    const lines = [];
    if (t.value !== null && t.value !== undefined) lines.push(`trial value ${esc(fmtNum(t.value))}`);
    if (t.reason) lines.push(esc(t.reason));
    const p = t.params ? adamParams(t.params) : null;
    if (p && p.lr !== undefined) {
      lines.push(`lr ${esc(fmtParam("lr", p.lr))}   β1 ${esc(fmtParam("beta1", p.beta1))}`);
      lines.push(`β2 ${esc(fmtParam("beta2", p.beta2))}   eps ${esc(fmtParam("eps", p.eps))}`);
      if (p.weight_decay) lines.push(`weight decay ${esc(fmtParam("weight_decay", p.weight_decay))}`);
    }
    return lines.map((line) => `<br>${line}`).join("");
  }

  legendFlags() {
    return this.data.legendFlags();
  }

  trace(t, reps) {
    const s = this.style(t);
    const g = this.group(t);
    const ys = t[this.metric];
    return {
      type: this.traceType(),
      mode: this.markers(t) ? "lines+markers" : "lines",
      x: t.epoch.slice(),
      y: ys.slice(),
      text: ys.map((v) => fmtNum(v)),
      name: s.name,
      legendgroup: g,
      legendrank: GROUPS[g].rank,
      showlegend: reps.get(g) === t.number,
      visible: this.visible(t),
      line: { color: s.color, width: s.width, dash: s.dash },
      marker: { color: s.color, size: s.size, symbol: s.symbol },
      hovertemplate: this.hover(t),
      meta: { trial: t.number },
    };
  }

  /** WebGL for a trace per trial; SVG once the finished curves share a few traces. */
  traceType() {
    return this.bulk.size ? "scatter" : "scattergl";
  }

  /** One trace for the finished curves of a kind: gaps between curves; the hover names each
   * point's trial from its customdata ([number, first line, last lines], one per trial). */
  bulkTrace(g, numbers, reps) {
    const first = this.trials.get(numbers[0]);
    const s = this.style(first);
    const { x, y, customdata } = this.data.gapped(numbers, (t) => [t.number, this.hoverHead(t), this.hoverTail(t)]);
    return {
      type: this.traceType(),
      mode: this.markers(first) ? "lines+markers" : "lines",
      x,
      y,
      customdata,
      name: s.name,
      legendgroup: g,
      legendrank: GROUPS[g].rank,
      showlegend: numbers.includes(reps.get(g)),
      visible: this.visible(first),
      line: { color: s.color, width: s.width, dash: s.dash },
      marker: { color: s.color, size: s.size, symbol: s.symbol },
      hovertemplate: `%{customdata[1]}<br>epoch %{x}<br>${esc(this.label(this.metric))} %{y:.4g}%{customdata[2]}<extra></extra>`,
      meta: { role: g, trials: numbers },
    };
  }

  rangeInputs() {
    return this.data.rangeInputs();
  }

  yRange() {
    return this.data.yRange();
  }

  /** ▲ at the top edge (▼ at the bottom for accuracy) above each trial's clipped point. */
  offMarks(off) {
    const c = palette();
    const badHigh = this.metric !== "val_accuracy";
    return off.slice(0, MAX_MARKS).map((o) => ({
      x: o.epoch,
      xref: "x",
      y: badHigh ? 1 : 0,
      yref: "paper",
      yanchor: badHigh ? "top" : "bottom",
      text: badHigh ? "▲" : "▼",
      showarrow: false,
      font: { color: c.off, size: 11 },
      hovertext: `trial ${o.trial} · epoch ${o.epoch}: ${this.label(this.metric)} ${fmtNum(o.value)} (off the chart; double-click the chart for the full range)`,
      captureevents: true,
      name: `off-${o.trial}`,
    }));
  }

  /** What the toolbar says about clipped points ("" when nothing is clipped). */
  offNote() {
    const n = this.offCount || 0;
    if (!n) return "";
    const where = this.metric === "val_accuracy" ? "▼ below" : "▲ above";
    return `${where} the range: ${n} trial${n === 1 ? "" : "s"}`;
  }

  xAxis() {
    const { last, first } = this.data.epochSpan();
    const width = this.div.clientWidth || 800;
    return { title: { text: "epoch" }, zeroline: false, ...AXIS_NUMBERS, ...epochAxis(last, width - 100, first) };
  }

  /** A log axis' ticks as numbers (0.05, 0.1, 0.2), for the range drawn; {} on a linear one. */
  yTicks(y) {
    if (!this.logY) return { tickmode: "auto", tickvals: null, ticktext: null };
    const px = (this.div.clientHeight || 430) - 55;
    if (y.range) return logTicks(10 ** y.range[0], 10 ** y.range[1], px);
    return logTicksOf(this.rangeInputs().values, px);
  }

  layout(y) {
    const c = palette();
    this.offCount = this.yState.userZoom ? 0 : y.off.length;
    // a tick every ~40 px at most: a log axis over two decades on a phone labels every digit
    const nticks = Math.max(4, Math.floor((this.div.clientHeight || 430) / 40));
    const yaxis = { title: { text: this.label(this.metric) }, type: this.logY ? "log" : "linear", zeroline: false, nticks, ...AXIS_NUMBERS, ...this.yTicks(y) };
    if (y.range && !this.yState.userZoom) {
      yaxis.range = y.range;
      yaxis.autorange = false;
    } else if (!this.yState.userZoom) yaxis.autorange = true;
    return {
      template: themeTemplate(),
      uirevision: `curves-${this.metric}-${this.logY}`,
      hovermode: "closest",
      margin: { l: 60, r: 16, t: 10, b: 45 },
      xaxis: this.xAxis(),
      yaxis,
      legend: { orientation: "h", x: 0, xanchor: "left", y: 1.02, yanchor: "bottom", font: { color: c.fg }, itemclick: "toggle", itemdoubleclick: "toggleothers" },
      showlegend: true,
      annotations: this.yState.userZoom ? [] : this.offMarks(y.off),
    };
  }

  /** Full redraw (first load, metric switch, log axis, pruned toggle, theme change). */
  redraw() {
    return this.serial(() => this.redrawNow());
  }

  async redrawNow() {
    if (this.destroyed) return;
    this.data.drawOrder(MAX_TRACES);
    // the pins and a highlighted trial: traces of their own, on top
    const top = [...this.pinned(), this.highlighted].filter((n, i, all) => n !== null && this.order.includes(n) && all.indexOf(n) === i);
    this.order = [...this.order.filter((n) => !top.includes(n)), ...top];
    this.bulk = this.data.bulkGroups(BULK_MIN, top);
    this.inBulk = new Set([...this.bulk.values()].flat());
    this.reindex();
    const reps = this.legendFlags();
    const y = this.yRange();
    const traces = [...this.bulk].map(([g, numbers]) => this.bulkTrace(g, numbers, reps));
    for (const n of this.order) if (!this.inBulk.has(n)) traces.push(this.trace(this.trials.get(n), reps));
    performance.mark("curves:traces");
    this.pendingPoints.clear();
    this.pendingStyle.clear();
    this.dirtyPins = false;
    this.legendReps = reps;
    this.yState.key = JSON.stringify(y.range);
    this.yState.clipped = y.clipped;
    this.marksKey = JSON.stringify(y.off.slice(0, MAX_MARKS));
    this.ownRelayout++;
    try {
      // a double-click shows the full range (the clipped points too), whatever was drawn first
      await window.Plotly.react(this.div, traces, this.layout(y), { ...PLOT_CONFIG, doubleClick: "autosize" });
    } finally {
      this.ownRelayout--;
    }
    this.listen();
    this.onRange?.();
  }

  /** Plotly events: hover and click name a trial; a zoom of the user's own keeps its y-range. */
  listen() {
    if (this.listening || !this.div.on) return;
    this.listening = true;
    // a trial's own trace names it in its meta; a bulk trace in each point's customdata
    const trialOf = (ev) => {
      const pt = ev?.points?.[0];
      return pt?.data?.meta?.trial ?? (Array.isArray(pt?.customdata) ? pt.customdata[0] : null);
    };
    this.div.on("plotly_hover", (ev) => this.onHover?.(trialOf(ev)));
    this.div.on("plotly_unhover", () => this.onHover?.(null));
    this.div.on("plotly_click", (ev) => {
      const n = trialOf(ev);
      if (n !== null) this.onClick?.(n);
    });
    this.div.on("plotly_clickannotation", (ev) => {
      const m = /^off-(\d+)$/.exec(ev?.annotation?.name || "");
      if (m) this.onClick?.(Number(m[1]));
    });
    this.div.on("plotly_relayout", (ev) => {
      if (this.ownRelayout > 0 || !ev) return;
      if ("yaxis.range[0]" in ev || "yaxis.range" in ev || "yaxis.autorange" in ev) {
        // the user's own zoom (a double-click: the full range): keep it, drop the marks
        this.yState.userZoom = true;
        this.offCount = 0;
        this.serial(async () => {
          this.ownRelayout++;
          try {
            if (!this.destroyed) await window.Plotly.relayout(this.div, { annotations: [] });
          } finally {
            this.ownRelayout--;
          }
        });
        this.onRange?.();
      }
    });
  }

  /** Trace indices: the bulk traces first, then a trace per other trial, in plot order. */
  reindex() {
    const own = this.inBulk.size ? this.order.filter((n) => !this.inBulk.has(n)) : this.order;
    const offset = this.bulk.size;
    this.index = new Map(own.map((n, i) => [n, i + offset]));
  }

  /** Whether a flush must redraw: it changes a trial drawn in a bulk trace (new points, its
   * style, the legend entry it carries, a highlight), or it would drop traces. */
  needsRedraw(pending, styles) {
    if (!this.inBulk.size) return false;
    for (const n of [...pending.keys(), ...styles]) if (this.inBulk.has(n)) return true;
    const fresh = [...pending.keys()].filter((n) => !this.index.has(n)).length;
    if (fresh && this.order.length + fresh > MAX_TRACES) return true;
    const reps = this.legendFlags();
    for (const [g, n] of reps) if (this.legendReps?.get(g) !== n && this.inBulk.has(n)) return true;
    for (const [g, n] of this.legendReps || []) if (reps.get(g) !== n && this.inBulk.has(n)) return true;
    return false;
  }

  schedule(delayMs) {
    if (!this.ready || this.destroyed || this.timer || this.busy) return;
    const delay = delayMs === 0 ? 0 : Math.max(MIN_FLUSH_MS, this.nextFlushAt - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, delay);
  }

  flush() {
    return this.serial(() => this.flushNow());
  }

  /** Send everything queued since the last flush to Plotly in as few calls as possible. */
  async flushNow() {
    if (this.destroyed) return;
    this.busy = true;
    this.ownRelayout++;
    const started = performance.now();
    const P = window.Plotly;
    try {
      const pending = this.pendingPoints;
      const styles = this.pendingStyle;
      this.pendingPoints = new Map();
      this.pendingStyle = new Set();
      const pins = this.pinned();
      const pinsChanged = this.dirtyPins;
      this.dirtyPins = false;
      if (this.needsRedraw(pending, styles)) {
        await this.redrawNow();
        return;
      }

      // 1. new trials -> one addTraces call (with all their points so far), appended
      //    (every Plotly call redraws the plot, so a flush makes as few as it can)
      const fresh = [...pending.keys()].filter((n) => !this.index.has(n)).sort((a, b) => a - b);
      if (fresh.length) {
        const overflow = this.order.length + fresh.length - MAX_TRACES;
        if (overflow > 0) await this.dropOldest(overflow, pins);
        this.order.push(...fresh);
        this.reindex();
        const reps = this.legendFlags();
        await P.addTraces(this.div, fresh.map((n) => this.trace(this.trials.get(n), reps)));
        for (const n of fresh) {
          pending.delete(n);
          styles.delete(n);
        }
      }

      // 2. existing trials -> one extendTraces call for all of them
      const grow = [...pending.entries()].filter(([n]) => this.index.has(n));
      if (grow.length) {
        const xs = [];
        const ys = [];
        const texts = [];
        const idx = [];
        for (const [n, count] of grow) {
          const t = this.trials.get(n);
          const y = t[this.metric].slice(-count);
          xs.push(t.epoch.slice(-count));
          ys.push(y);
          texts.push(y.map((v) => fmtNum(v)));
          idx.push(this.index.get(n));
          if (t.epoch.length - count <= SHORT_CURVE) styles.add(n); // may lose its markers
        }
        await P.extendTraces(this.div, { x: xs, y: ys, text: texts }, idx);
      }

      // 3. state changes (pruned, failed, complete, best, highlight) and the legend entries
      //    that move with them -> one restyle
      const reps = this.legendFlags();
      for (const [g, n] of reps) if (this.legendReps?.get(g) !== n) styles.add(n);
      for (const [g, n] of this.legendReps || []) if (reps.get(g) !== n && this.index.has(n)) styles.add(n);
      this.legendReps = reps;
      const restyle = [...styles].filter((n) => this.index.has(n));
      if (restyle.length) {
        const keys = ["line.color", "line.width", "line.dash", "marker.color", "marker.size", "marker.symbol", "mode", "name", "legendgroup", "legendrank", "showlegend", "visible", "hovertemplate"];
        const upd = Object.fromEntries(keys.map((k) => [k, []]));
        for (const n of restyle) {
          const tr = this.trace(this.trials.get(n), reps);
          upd["line.color"].push(tr.line.color);
          upd["line.width"].push(tr.line.width);
          upd["line.dash"].push(tr.line.dash);
          upd["marker.color"].push(tr.marker.color);
          upd["marker.size"].push(tr.marker.size);
          upd["marker.symbol"].push(tr.marker.symbol);
          for (const k of ["mode", "name", "legendgroup", "legendrank", "showlegend", "visible", "hovertemplate"]) upd[k].push(tr[k]);
        }
        await P.restyle(this.div, upd, restyle.map((n) => this.index.get(n)));
      }

      // 4. a new best (rare) or a highlighted trial: move them on top of the other curves
      const top = [...pins];
      if (this.highlighted !== null && this.index.has(this.highlighted) && !top.includes(this.highlighted)) top.push(this.highlighted);
      const want = top.filter((n) => this.index.has(n));
      const tail = this.order.slice(this.order.length - want.length);
      if ((pinsChanged || styles.has(this.highlighted)) && want.length && want.some((n, i) => tail[i] !== n)) {
        await P.moveTraces(this.div, want.map((n) => this.index.get(n)));
        this.order = [...this.order.filter((n) => !want.includes(n)), ...want];
        this.reindex();
      }

      // 5. the robust y-range and its ▲ markers follow the data
      if (fresh.length || grow.length || restyle.length) await this.updateRange();
      await painted();
    } catch (err) {
      console.warn("curve update failed; redrawing", err);
      await this.redrawNow().catch(() => {});
    } finally {
      this.ownRelayout--;
      this.busy = false;
      // every Plotly call redraws the whole plot: a slow one (a huge study, a machine without a
      // GPU) spaces out the next so the page stays responsive
      const took = performance.now() - started;
      this.nextFlushAt = Date.now() + Math.min(3000, took * 1.5);
      if (this.pendingPoints.size || this.pendingStyle.size || this.dirtyPins) this.schedule();
    }
  }

  async updateRange() {
    const y = this.yRange();
    const key = JSON.stringify(y.range);
    const x = this.xAxis();
    const upd = {};
    const cur = this.div.layout?.xaxis || {};
    if (cur.dtick !== x.dtick || cur.range?.[0] !== x.range[0] || cur.range?.[1] !== x.range[1]) {
      Object.assign(upd, { "xaxis.range": x.range, "xaxis.dtick": x.dtick, "xaxis.tick0": x.tick0 });
    }
    if (!this.yState.userZoom) {
      if (key !== this.yState.key) {
        if (y.range) Object.assign(upd, { "yaxis.range": y.range, "yaxis.autorange": false });
        else upd["yaxis.autorange"] = true;
        const ticks = { tickmode: "auto", tickvals: null, ticktext: null, ...this.yTicks(y) };
        for (const [k, v] of Object.entries(ticks)) upd[`yaxis.${k}`] = v;
      }
      const marks = JSON.stringify(y.off.slice(0, MAX_MARKS));
      if (marks !== this.marksKey) upd.annotations = this.offMarks(y.off);
      this.marksKey = marks;
      this.offCount = y.off.length;
    }
    this.yState.key = key;
    this.yState.clipped = y.clipped;
    if (Object.keys(upd).length) await window.Plotly.relayout(this.div, upd);
    this.onRange?.();
  }

  async dropOldest(count, pins) {
    const victims = this.data.victims(count, pins);
    if (!victims.length) return;
    await window.Plotly.deleteTraces(this.div, victims.map((n) => this.index.get(n)));
    this.order = this.order.filter((n) => !victims.includes(n));
    this.reindex();
  }
}

// the data's state, read and set as the chart's own (study.js sets `best`, `baseline`, `logY`)
for (const key of ["metric", "epochs", "logY", "hidePruned", "trials", "order", "best", "baseline", "pendingPoints", "pendingStyle", "maxEpoch", "minEpoch"]) {
  Object.defineProperty(LiveCurves.prototype, key, {
    get() {
      return this.data[key];
    },
    set(value) {
      this.data[key] = value;
    },
  });
}
