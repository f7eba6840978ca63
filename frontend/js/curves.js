// Live convergence curves: one scattergl trace per trial, grown with Plotly.extendTraces.
import { fmtNum, fmtParam, metricLabel } from "./format.js";
import { PLOT_CONFIG, palette, themeTemplate } from "./plot.js";

export const METRICS = ["val_loss", "train_loss", "val_accuracy"];
const MAX_TRACES = 1000; // beyond this the oldest finished curves are dropped from the plot
const MIN_FLUSH_MS = 100; // epoch events arriving within this window go into one extendTraces

/** Resolves after the browser has painted (WebGL work is only done by then). */
function painted() {
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
}

function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Whether positive values span over two orders of magnitude (a log axis reads better). */
export function spansDecades(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values || []) {
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    if (v <= 0) return false;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi > 0 && lo > 0 && hi / lo > 100;
}

export class LiveCurves {
  /**
   * @param {HTMLElement} div the plot element
   * @param {{metric?: string, direction?: string}} opts
   */
  constructor(div, opts = {}) {
    this.div = div;
    this.metric = METRICS.includes(opts.metric) ? opts.metric : "val_loss";
    this.direction = opts.direction || "minimize";
    this.logY = false;
    this.trials = new Map(); // number -> {number, state, value, params, baseline, epoch[], metrics...}
    this.order = []; // trial number of each trace, by trace index
    this.index = new Map(); // trial number -> trace index
    this.best = null;
    this.baseline = null;
    this.pendingPoints = new Map(); // trial -> count of points not yet sent to Plotly
    this.pendingStyle = new Set();
    this.dirtyPins = false;
    this.timer = null;
    this.busy = false;
    this.nextFlushAt = 0;
    this.destroyed = false;
    this.ready = false;
    this.chain = Promise.resolve(); // Plotly calls on this plot, one at a time
  }

  /** Run `fn` after every Plotly call already queued on this plot has finished. */
  serial(fn) {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }

  // ---------- data ----------

  trial(number) {
    let t = this.trials.get(number);
    if (!t) {
      t = { number, state: "RUNNING", value: null, params: null, baseline: false, reason: null, epoch: [], train_loss: [], val_loss: [], val_accuracy: [] };
      this.trials.set(number, t);
    }
    return t;
  }

  updateTrial(info) {
    if (!info || info.number === undefined || info.number === null) return;
    const t = this.trial(info.number);
    const before = `${t.state}|${t.value}|${t.baseline}|${!!t.params}`;
    if (info.state) t.state = info.state;
    if ("value" in info) t.value = info.value;
    if (info.params) t.params = info.params;
    if (info.baseline) {
      t.baseline = true;
      this.baseline = t.number;
    }
    if ("reason" in info) t.reason = info.reason;
    if (`${t.state}|${t.value}|${t.baseline}|${!!t.params}` !== before) this.pendingStyle.add(t.number);
  }

  /** Record one epoch; returns false for a duplicate (already seen) point. */
  addPoint(p) {
    const t = this.trial(p.trial);
    const last = t.epoch.length ? t.epoch[t.epoch.length - 1] : -Infinity;
    if (!(p.epoch > last)) return false;
    t.epoch.push(p.epoch);
    for (const m of METRICS) t[m].push(p[m] ?? null);
    this.pendingPoints.set(t.number, (this.pendingPoints.get(t.number) || 0) + 1);
    return true;
  }

  /** First load: the `GET /curves?after=0` answer. */
  async load(resp) {
    for (const info of resp.trials || []) this.updateTrial(info);
    const pts = resp.points || {};
    const n = (pts.trial || []).length;
    for (let i = 0; i < n; i++) {
      this.addPoint({
        trial: pts.trial[i],
        epoch: pts.epoch[i],
        train_loss: pts.train_loss?.[i],
        val_loss: pts.val_loss?.[i],
        val_accuracy: pts.val_accuracy?.[i],
      });
    }
    this.pendingPoints.clear();
    this.pendingStyle.clear();
    await this.redraw();
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
    const n = number === undefined ? null : number;
    if (n === this.best) return;
    for (const old of [this.best, n]) if (old !== null) this.pendingStyle.add(old);
    this.best = n;
    this.dirtyPins = true;
    this.schedule();
  }

  setBaseline(number) {
    if (number === undefined || number === null || number === this.baseline) return;
    if (this.baseline !== null) this.pendingStyle.add(this.baseline);
    this.baseline = number;
    this.trial(number).baseline = true;
    this.pendingStyle.add(number);
    this.dirtyPins = true;
    this.schedule();
  }

  async setMetric(metric) {
    if (!METRICS.includes(metric) || metric === this.metric) return;
    this.metric = metric;
    await this.redraw();
  }

  async setLogY(on) {
    this.logY = !!on;
    if (!this.ready) return;
    await this.serial(() =>
      this.destroyed ? null : window.Plotly.relayout(this.div, { "yaxis.type": this.logY ? "log" : "linear", "yaxis.autorange": true }),
    );
  }

  async retheme() {
    if (this.ready) await this.redraw();
  }

  /** How many curves and points are on the plot. */
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
    // drawn last so they sit on top: the default-Adam baseline, then the best trial
    const out = [];
    for (const n of [this.baseline, this.best]) {
      if (n !== null && !out.includes(n) && this.trials.get(n)?.epoch.length) out.push(n);
    }
    return out;
  }

  style(t) {
    const c = palette();
    const isBest = t.number === this.best;
    if (t.baseline || t.number === this.baseline) {
      return { color: c.baseline, width: 2.5, dash: "dash", name: isBest ? "default Adam (best)" : "default Adam", legend: true };
    }
    if (isBest) return { color: c.best, width: 3.5, dash: "solid", name: `best: trial ${t.number}`, legend: true };
    switch (t.state) {
      case "PRUNED":
        return { color: c.pruned, width: 1.3, dash: "dot", name: `trial ${t.number} (pruned)`, legend: false };
      case "FAIL":
        return { color: c.failed, width: 1, dash: "dashdot", name: `trial ${t.number} (failed)`, legend: false };
      case "COMPLETE":
        return { color: c.complete, width: 1.2, dash: "solid", name: `trial ${t.number}`, legend: false };
      default:
        return { color: c.running, width: 1.8, dash: "solid", name: `trial ${t.number} (running)`, legend: false };
    }
  }

  hover(t) {
    const label = t.baseline ? `trial ${t.number} · default Adam` : `trial ${t.number}`;
    const lines = [`<b>${esc(label)}</b> · ${esc(String(t.state).toLowerCase())}`, `epoch %{x}`, `${esc(metricLabel(this.metric))} %{y:.5g}`];
    if (t.value !== null && t.value !== undefined) lines.push(`trial value ${esc(fmtNum(t.value, 5))}`);
    const p = t.params;
    if (p) {
      lines.push(`lr ${esc(fmtParam("lr", p.lr))}   β1 ${esc(fmtParam("beta1", p.beta1))}`);
      lines.push(`β2 ${esc(fmtParam("beta2", p.beta2))}   eps ${esc(fmtParam("eps", p.eps))}`);
      if (p.weight_decay) lines.push(`weight decay ${esc(fmtParam("weight_decay", p.weight_decay))}`);
    }
    return `${lines.join("<br>")}<extra></extra>`;
  }

  trace(t) {
    const s = this.style(t);
    return {
      type: "scattergl",
      mode: "lines",
      x: t.epoch.slice(),
      y: t[this.metric].slice(),
      name: s.name,
      showlegend: s.legend,
      line: { color: s.color, width: s.width, dash: s.dash },
      hovertemplate: this.hover(t),
    };
  }

  layout() {
    const c = palette();
    return {
      template: themeTemplate(),
      uirevision: "curves",
      hovermode: "closest",
      margin: { l: 60, r: 20, t: 30, b: 45 },
      xaxis: { title: { text: "epoch" }, zeroline: false },
      yaxis: { title: { text: metricLabel(this.metric) }, type: this.logY ? "log" : "linear", zeroline: false },
      legend: { orientation: "h", x: 0, xanchor: "left", y: 1.0, yanchor: "bottom", font: { color: c.fg } },
      showlegend: true,
    };
  }

  /** Full redraw (first load, metric switch, theme change). */
  redraw() {
    return this.serial(() => this.redrawNow());
  }

  async redrawNow() {
    if (this.destroyed) return;
    const pins = this.pinned();
    let rest = [...this.trials.values()].filter((t) => t.epoch.length && !pins.includes(t.number));
    rest.sort((a, b) => a.number - b.number);
    if (rest.length + pins.length > MAX_TRACES) rest = rest.slice(rest.length + pins.length - MAX_TRACES);
    this.order = [...rest.map((t) => t.number), ...pins];
    this.reindex();
    const traces = this.order.map((n) => this.trace(this.trials.get(n)));
    this.pendingPoints.clear();
    this.pendingStyle.clear();
    this.dirtyPins = false;
    await window.Plotly.react(this.div, traces, this.layout(), PLOT_CONFIG);
  }

  reindex() {
    this.index = new Map(this.order.map((n, i) => [n, i]));
  }

  schedule() {
    if (!this.ready || this.destroyed || this.timer || this.busy) return;
    const delay = Math.max(MIN_FLUSH_MS, this.nextFlushAt - Date.now());
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

      // 1. new trials -> one addTraces call (with all their points so far), appended
      //    (every Plotly call redraws the plot, so a flush makes as few as it can)
      const fresh = [...pending.keys()].filter((n) => !this.index.has(n)).sort((a, b) => a - b);
      if (fresh.length) {
        const overflow = this.order.length + fresh.length - MAX_TRACES;
        if (overflow > 0) await this.dropOldest(overflow, pins);
        const traces = fresh.map((n) => this.trace(this.trials.get(n)));
        await P.addTraces(this.div, traces);
        this.order.push(...fresh);
        this.reindex();
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
        const idx = [];
        for (const [n, count] of grow) {
          const t = this.trials.get(n);
          xs.push(t.epoch.slice(-count));
          ys.push(t[this.metric].slice(-count));
          idx.push(this.index.get(n));
        }
        await P.extendTraces(this.div, { x: xs, y: ys }, idx);
      }

      // 3. state changes (pruned, failed, complete, best) -> one restyle
      const restyle = [...styles].filter((n) => this.index.has(n));
      if (restyle.length) {
        const upd = { "line.color": [], "line.width": [], "line.dash": [], name: [], showlegend: [], hovertemplate: [] };
        for (const n of restyle) {
          const t = this.trials.get(n);
          const s = this.style(t);
          upd["line.color"].push(s.color);
          upd["line.width"].push(s.width);
          upd["line.dash"].push(s.dash);
          upd.name.push(s.name);
          upd.showlegend.push(s.legend);
          upd.hovertemplate.push(this.hover(t));
        }
        await P.restyle(this.div, upd, restyle.map((n) => this.index.get(n)));
      }

      // 4. a new best (rare): move it and the baseline on top of the other curves
      if (pinsChanged) {
        const want = pins.filter((n) => this.index.has(n));
        const tail = this.order.slice(this.order.length - want.length);
        if (want.length && want.some((n, i) => tail[i] !== n)) {
          await P.moveTraces(this.div, want.map((n) => this.index.get(n)));
          this.order = [...this.order.filter((n) => !want.includes(n)), ...want];
          this.reindex();
        }
      }
      await painted();
    } catch (err) {
      console.warn("curve update failed; redrawing", err);
      await this.redrawNow().catch(() => {});
    } finally {
      this.busy = false;
      // every Plotly call redraws the whole plot: a slow one (a huge study, a machine without a
      // GPU) spaces out the next so the page stays responsive
      const took = performance.now() - started;
      this.nextFlushAt = Date.now() + Math.min(3000, took * 1.5);
      if (this.pendingPoints.size || this.pendingStyle.size || this.dirtyPins) this.schedule();
    }
  }

  async dropOldest(count, pins) {
    const victims = this.order
      .filter((n) => !pins.includes(n) && this.trials.get(n)?.state !== "RUNNING")
      .slice(0, count);
    if (!victims.length) return;
    await window.Plotly.deleteTraces(this.div, victims.map((n) => this.index.get(n)));
    this.order = this.order.filter((n) => !victims.includes(n));
    this.reindex();
  }
}
