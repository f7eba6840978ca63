// The convergence curves' data, without a DOM or Plotly: what curves.js draws and what
// compare_data.js and the tests (tests/js/) import.

export const METRICS = ["val_loss", "train_loss", "val_accuracy"];

/** Whether positive values span more than `ratio` (two orders of magnitude by default): a log
 * axis reads better. */
export function spansDecades(values, ratio = 100) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values || []) {
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    if (v <= 0) return false;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi > 0 && lo > 0 && hi / lo > ratio;
}

function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const i = Math.floor(pos);
  const f = pos - i;
  return i + 1 < sorted.length ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i];
}

/**
 * A y-range that keeps the bulk of the curves readable: Tukey's fence (1.5 interquartile ranges
 * past the quartile, on the axis' own scale) on the side where bad values lie (high for a loss,
 * low for accuracy), as TensorBoard's "ignore outliers" does with percentiles. `must` values
 * (every curve's last point: a trial pruned at epoch 1 stays in view) always fit.
 * Returns {range, clipped: boolean} in axis units (log10 on a log axis), or null for autorange.
 */
export function robustRange(values, { log = false, badHigh = true, must = [] } = {}) {
  const tx = (v) => (log ? Math.log10(v) : v);
  const ok = (v) => v !== null && v !== undefined && Number.isFinite(v) && (!log || v > 0);
  const xs = [];
  for (const v of values) if (ok(v)) xs.push(tx(v));
  if (!xs.length) return null;
  xs.sort((a, b) => a - b);
  const lo = xs[0];
  const hi = xs[xs.length - 1];
  const q1 = quantile(xs, 0.25);
  const q3 = quantile(xs, 0.75);
  const iqr = q3 - q1;
  const keep = must.filter(ok).map(tx);
  let top = hi;
  let bottom = lo;
  if (badHigh) top = Math.min(hi, Math.max(q3 + 1.5 * iqr, ...keep));
  else bottom = Math.max(lo, Math.min(q1 - 1.5 * iqr, ...keep));
  // clip only when it matters: the outliers would take over a fifth of the chart
  const clipped = (hi - lo) > 1.25 * (top - bottom) && top > bottom;
  if (!clipped) {
    top = hi;
    bottom = lo;
  }
  const span = top - bottom || Math.abs(top) * 0.1 || 1;
  return { range: [bottom - span * 0.05, top + span * (clipped ? 0.08 : 0.05)], clipped };
}

export const MAX_TRACES = 1000; // beyond this the oldest finished curves are dropped from the plot
export const SHORT_CURVE = 2; // curves of this many points or fewer are drawn with markers
const FEW_EPOCHS = 12; // ... and every curve of a study this short
// From this many curves on, the finished ones are drawn as one trace per kind (a trace per trial
// cost Plotly 2 s and the software WebGL paint 3 s at 1,000 curves); running, pinned and
// highlighted trials keep a trace of their own, which live updates extend.
export const BULK_MIN = 200;
const BULK_GROUPS = new Set(["complete", "pruned", "fail", "stopped"]);

/**
 * Every trial's points and state, which trials are plotted (`order`, by trace index) and what
 * changed since the last draw (`pendingPoints`, `pendingStyle`): the side of LiveCurves that
 * needs no browser. LiveCurves (curves.js) turns it into Plotly calls.
 */
export class CurveData {
  /** @param {{metric?: string, epochs?: number}} opts */
  constructor(opts = {}) {
    this.metric = METRICS.includes(opts.metric) ? opts.metric : "val_loss";
    this.epochs = opts.epochs || null; // the fixed x-axis length (null: the longest curve)
    this.logY = false;
    this.hidePruned = false;
    this.trials = new Map(); // number -> {number, state, value, params, baseline, epoch[], metrics...}
    this.order = []; // trial number of each trace, by trace index
    this.best = null;
    this.baseline = null;
    this.pendingPoints = new Map(); // trial -> count of points not yet sent to Plotly
    this.pendingStyle = new Set(); // trials whose style may have changed since the last draw
    this.maxEpoch = 0;
    this.minEpoch = Infinity; // 0 where a runner reports step 0: the axis starts there
  }

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
    if (info.params && Object.keys(info.params).length) t.params = info.params;
    if (info.baseline) {
      t.baseline = true;
      this.baseline = t.number;
    }
    if ("reason" in info) t.reason = info.reason;
    if (info.interrupted) t.interrupted = true;
    if (`${t.state}|${t.value}|${t.baseline}|${!!t.params}` !== before) this.pendingStyle.add(t.number);
  }

  /** Mark a known trial's FAIL as interrupted; returns whether anything changed. */
  setInterrupted(number) {
    const t = this.trials.get(number);
    if (!t || t.interrupted) return false;
    t.interrupted = true;
    this.pendingStyle.add(number);
    return true;
  }

  /** A known trial's parameters, unless it has some already; returns whether anything changed. */
  setParams(number, params) {
    const t = this.trials.get(number);
    if (!t || !params || !Object.keys(params).length || t.params) return false;
    t.params = params;
    this.pendingStyle.add(number);
    return true;
  }

  /** Record one epoch; returns false for a duplicate (already seen) point. */
  addPoint(p) {
    const t = this.trial(p.trial);
    const last = t.epoch.length ? t.epoch[t.epoch.length - 1] : -Infinity;
    if (!(p.epoch > last)) return false;
    t.epoch.push(p.epoch);
    for (const m of METRICS) t[m].push(p[m] ?? null);
    if (p.epoch > this.maxEpoch) this.maxEpoch = p.epoch;
    if (p.epoch < this.minEpoch) this.minEpoch = p.epoch;
    this.pendingPoints.set(t.number, (this.pendingPoints.get(t.number) || 0) + 1);
    return true;
  }

  /** How many epochs a trial has (what the table's live "epochs" cell shows). */
  epochsOf(number) {
    return this.trials.get(number)?.epoch.length ?? 0;
  }

  /**
   * A `GET /curves` answer (its trials and its column-wise points, in any order; points already
   * seen are skipped): the first load draws everything, so nothing is left pending.
   */
  loadPage(resp) {
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
  }

  /** The best trial (null: none); returns whether it changed. */
  setBest(number) {
    const n = number === undefined ? null : number;
    if (n === this.best) return false;
    for (const old of [this.best, n]) if (old !== null) this.pendingStyle.add(old);
    this.best = n;
    return true;
  }

  /** The default-parameters trial; returns whether it changed. */
  setBaseline(number) {
    if (number === undefined || number === null || number === this.baseline) return false;
    if (this.baseline !== null) this.pendingStyle.add(this.baseline);
    this.baseline = number;
    this.trial(number).baseline = true;
    this.pendingStyle.add(number);
    return true;
  }

  /** The trials drawn last, on top: the default-Adam baseline, then the best trial. */
  pinned() {
    const out = [];
    for (const n of [this.baseline, this.best]) {
      if (n !== null && !out.includes(n) && this.trials.get(n)?.epoch.length) out.push(n);
    }
    return out;
  }

  /** The kind of curve a trial is drawn as (its legend entry). */
  group(t) {
    if (t.baseline || t.number === this.baseline) return "baseline";
    if (t.number === this.best) return "best";
    switch (t.state) {
      case "PRUNED":
        return "pruned";
      case "FAIL":
        return t.interrupted ? "stopped" : "fail";
      case "COMPLETE":
        return "complete";
      default:
        return "running";
    }
  }

  visible(t) {
    return !(this.hidePruned && t.state === "PRUNED" && this.group(t) === "pruned");
  }

  /** Whether a curve gets markers: a short one, or any curve of a short study. */
  markers(t) {
    const n = this.epochs || this.maxEpoch;
    return t.epoch.length <= SHORT_CURVE || (n > 0 && n <= FEW_EPOCHS);
  }

  /** Legend: the first visible trace of each kind carries its entry; group -> trial number. */
  legendFlags() {
    const reps = new Map();
    for (const n of this.order) {
      const t = this.trials.get(n);
      const g = this.group(t);
      if (!reps.has(g) && this.visible(t)) reps.set(g, n);
    }
    return reps;
  }

  /**
   * The traces of a full redraw (sets `order`): every trial with points by number, the pinned
   * ones last, at most `max` (the lowest numbers go first).
   */
  drawOrder(max = MAX_TRACES) {
    const pins = this.pinned();
    let rest = [...this.trials.values()].filter((t) => t.epoch.length && !pins.includes(t.number));
    rest.sort((a, b) => a.number - b.number);
    if (rest.length + pins.length > max) rest = rest.slice(rest.length + pins.length - max);
    this.order = [...rest.map((t) => t.number), ...pins];
    return this.order;
  }

  /**
   * The plotted trials drawn together, one trace per kind: group -> trial numbers in plot order.
   * Only with at least `min` curves; finished ones of more than SHORT_CURVE points (a short one
   * needs its markers), never one of `exclude` (the pins, the highlighted trial).
   */
  bulkGroups(min = BULK_MIN, exclude = []) {
    const out = new Map();
    if (this.order.length < min) return out;
    for (const n of this.order) {
      if (exclude.includes(n)) continue;
      const t = this.trials.get(n);
      const g = this.group(t);
      if (!BULK_GROUPS.has(g) || t.epoch.length <= SHORT_CURVE) continue;
      if (!out.has(g)) out.set(g, []);
      out.get(g).push(n);
    }
    return out;
  }

  /**
   * One trace's columns for several curves of the metric: a null between two curves (a gap:
   * the line does not join them), and each point's customdata `meta(trial)` (one value per trial,
   * shared by its points; null in the gaps).
   */
  gapped(numbers, meta) {
    const x = [];
    const y = [];
    const customdata = [];
    for (const n of numbers) {
      const t = this.trials.get(n);
      const ys = t[this.metric];
      const m = meta(t);
      if (x.length) {
        x.push(null);
        y.push(null);
        customdata.push(null);
      }
      for (let i = 0; i < t.epoch.length; i++) {
        x.push(t.epoch[i]);
        y.push(ys[i]);
        customdata.push(m);
      }
    }
    return { x, y, customdata };
  }

  /** Up to `count` plotted trials to drop for new ones: the oldest, never a pin or a running one. */
  victims(count, pins) {
    return this.order.filter((n) => !pins.includes(n) && this.trials.get(n)?.state !== "RUNNING").slice(0, count);
  }

  /** The epoch axis' last epoch and its first (0 where a runner reports step 0, else 1). */
  epochSpan() {
    return { last: Math.max(this.epochs || 0, this.maxEpoch || 0, 1), first: this.minEpoch <= 0 ? 0 : 1 };
  }

  /** Every plotted value of the metric and the values the range must keep in view. */
  rangeInputs() {
    const values = [];
    const must = [];
    for (const n of this.order) {
      const t = this.trials.get(n);
      if (!this.visible(t)) continue;
      const ys = t[this.metric];
      for (const v of ys) values.push(v);
      if (ys.length) must.push(ys[ys.length - 1]);
    }
    return { values, must };
  }

  /**
   * The y-range and the points beyond it: one per trial, at its worst point that rose out of
   * the range (a spike or a divergence; a curve that merely starts high is not marked), the
   * worst first. Returns {range (axis units) | null, clipped, off: [{trial, epoch, value}]}.
   */
  yRange() {
    const { values, must } = this.rangeInputs();
    const badHigh = this.metric !== "val_accuracy";
    const r = robustRange(values, { log: this.logY, badHigh, must });
    const off = [];
    if (r && r.clipped) {
      const limit = badHigh ? r.range[1] : r.range[0];
      for (const n of this.order) {
        const t = this.trials.get(n);
        if (!this.visible(t)) continue;
        const ys = t[this.metric];
        let worst = -1;
        for (let i = 0; i < ys.length; i++) {
          const v = ys[i];
          if (v === null || v === undefined || !Number.isFinite(v) || (this.logY && v <= 0)) continue;
          const a = this.logY ? Math.log10(v) : v;
          const rose = i > 0 && ys[i - 1] !== null && (badHigh ? v > ys[i - 1] : v < ys[i - 1]);
          if (rose && (badHigh ? a > limit : a < limit) && (worst < 0 || (badHigh ? v > ys[worst] : v < ys[worst]))) worst = i;
        }
        if (worst >= 0) off.push({ trial: n, epoch: t.epoch[worst], value: ys[worst] });
      }
      off.sort((a, b) => (badHigh ? b.value - a.value : a.value - b.value));
    }
    return { range: r ? r.range : null, clipped: !!(r && r.clipped), off };
  }
}
