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
