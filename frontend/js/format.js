// Number, time and label formatting shared by the pages.

export const METRIC_LABELS = {
  value: "objective value",
  val_loss: "validation loss",
  train_loss: "train loss",
  val_accuracy: "validation accuracy",
};

export const PARAM_LABELS = {
  lr: "lr",
  beta1: "β1",
  beta2: "β2",
  eps: "eps",
  weight_decay: "weight decay",
  momentum: "momentum",
  warmup: "warmup",
  decay: "decay",
  final_fraction: "final lr fraction",
};

// every optimizer family's parameters, then the learning-rate schedule's, in the order the API
// lists them (optim/params.py)
export const DIMENSIONS = ["lr", "beta1", "beta2", "eps", "weight_decay", "momentum", "warmup", "decay", "final_fraction"];

/**
 * Adam's names for a trial's parameters: a study written by a plain Optuna script may store a
 * beta as `one_minus_beta1` (what it sampled); the page shows beta1 = 1 - that.
 */
export function adamParams(params) {
  const out = { ...(params || {}) };
  for (const beta of ["beta1", "beta2"]) {
    const key = `one_minus_${beta}`;
    if (out[beta] === undefined && typeof out[key] === "number") {
      out[beta] = 1 - out[key];
      delete out[key];
    }
  }
  return out;
}

export function metricLabel(metric) {
  return METRIC_LABELS[metric] || String(metric);
}

/** Significant digits of every number the dashboard shows (table, cards, hover, details). */
export const DIGITS = 4;

/**
 * The one number format of the dashboard: 4 significant digits, trailing zeros dropped, and
 * exponent notation ("7.305e-4") below 1e-3 and from 1e4 up, as Plotly's axes (exponentformat
 * "e") write their ticks. Never SI prefixes (μ, n). app/adam_figures.py `fmt` is its twin.
 */
export function fmtNum(value) {
  if (value === null || value === undefined || value === "") return "–";
  const v = Number(value);
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : v > 0 ? "∞" : "−∞";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e4) {
    const [mantissa, exp] = v.toExponential(DIGITS - 1).split("e");
    return `${trimZeros(mantissa)}e${Number(exp)}`;
  }
  return trimZeros(v.toPrecision(DIGITS));
}

function trimZeros(text) {
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

/**
 * A hyper-parameter value. Betas are read on 1 − β (what the search samples): three significant
 * digits of 1 − β, so 0.9999 and 0.99999 stay apart; everything else is `fmtNum`.
 */
export function fmtParam(name, value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "string") return value; // a schedule's decay shape
  const v = Number(value);
  if ((name === "beta1" || name === "beta2" || name === "momentum") && v > 0.9 && v < 1) {
    const decimals = Math.min(12, Math.ceil(-Math.log10(1 - v)) + 2);
    return trimZeros(v.toFixed(decimals));
  }
  return fmtNum(v);
}

/** Full precision, for a tooltip beside a rounded number. */
export function fullNum(value) {
  if (value === null || value === undefined || value === "") return "";
  return String(Number(value));
}

/**
 * Plotly axis settings that write ticks as `fmtNum` does: exponents as "1e-4" (never "100μ" or
 * "10n"), no thousands separators on epochs. On a log axis Plotly writes the ticks between
 * decades as bare digits ("2" for 0.2 beside "2" for 2): `minorloglabels` writes them in full
 * wherever a chart has not set its ticks with `logTicks`.
 */
export const AXIS_NUMBERS = { exponentformat: "e", showexponent: "all", separatethousands: false, minorloglabels: "complete" };

/**
 * Ticks of a log axis over [lo, hi] (data units) about `px` long, one every `spacing` px at
 * most, written by `fmtNum` (0.04, 0.1, 0.2, 0.5, 1e-4): 1-2-5 in each decade where there is
 * room, else 1-3, else every decade (or every k-th). Returns {} (Plotly's own ticks, which read
 * as numbers within a decade) when fewer than two would fall in the range.
 */
export function logTicks(lo, hi, px = 300, spacing = 40) {
  if (!(lo > 0) || !(hi > lo) || !Number.isFinite(hi)) return {};
  const room = Math.max(2, Math.floor(px / spacing));
  const first = Math.floor(Math.log10(lo));
  const last = Math.ceil(Math.log10(hi));
  const within = (v) => v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9);
  const ticks = (mantissas, every = 1) => {
    const out = [];
    for (let k = first; k <= last; k++) {
      if (k % every !== 0) continue;
      for (const m of mantissas) {
        const v = Number((m * 10 ** k).toPrecision(12));
        if (within(v)) out.push(v);
      }
    }
    return out;
  };
  const finest = ticks([1, 2, 5]);
  if (finest.length < 2) return {};
  let vals = finest;
  for (const mantissas of [[1, 2, 5], [1, 3], [1]]) {
    vals = ticks(mantissas);
    if (vals.length <= room) break;
  }
  for (let every = 2; vals.length > room && every <= 100; every++) vals = ticks([1], every);
  if (vals.length < 2) vals = finest.length <= room ? finest : [finest[0], finest[finest.length - 1]];
  return { tickmode: "array", tickvals: vals, ticktext: vals.map((v) => fmtNum(v)) };
}

/** `logTicks` over the positive finite values, or {} when there are none. */
export function logTicksOf(values, px, spacing) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values || []) {
    if (v === null || v === undefined || !Number.isFinite(v) || v <= 0) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo < hi ? logTicks(lo, hi, px, spacing) : {};
}

/** A 1-2-5 step between integer ticks over `count` values: a tick every ~70 px at most. */
export function integerStep(count, px = 800) {
  const room = Math.max(2, Math.floor(px / 70));
  let dtick = 1;
  for (const base of [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000]) {
    dtick = base;
    if (count / base <= room) break;
  }
  return dtick;
}

/**
 * Integer ticks for a first..n epoch axis about `px` pixels wide: a 1-2-5 step, never a
 * fraction. `first` is 1 for the built-in tasks, 0 where a runner reports step 0 (the client's
 * examples report steps 0..N-1). Returns {tick0, dtick, range}: the range has half an epoch of
 * room each side.
 */
export function epochAxis(n, px = 800, first = 1) {
  const start = Math.max(0, Math.min(1, Math.round(first ?? 1)));
  const last = Math.max(1, Math.round(n || 1));
  const dtick = integerStep(last - start + 1, px);
  const pad = Math.max(0.25, last * 0.01);
  return {
    tickmode: "linear",
    tick0: dtick === 1 ? start : 0,
    dtick,
    tickformat: "d",
    range: [last === 1 && start === 1 ? 0.5 : start - pad, last + pad],
    autorange: false,
  };
}

/** Integer ticks for a 0..last trial-number axis about `px` pixels wide (autoranged). */
export function trialAxis(last, px = 800) {
  return { tickmode: "linear", tick0: 0, dtick: integerStep(Math.max(1, Math.round(last || 0) + 1), px), tickformat: "d" };
}

/** `gain` (a fraction) as a signed percentage. */
export function fmtGain(gain) {
  if (gain === null || gain === undefined || !Number.isFinite(Number(gain))) return "–";
  const pct = Number(gain) * 100;
  let digits = Math.abs(pct) < 100 ? 1 : 0;
  // never round 99.97% up to a perfect 100%
  while (digits < 2 && Math.abs(Number(pct.toFixed(digits))) >= 100 && Math.abs(pct) < 100) digits++;
  let text = pct.toFixed(digits);
  if (Math.abs(pct) < 100 && Math.abs(Number(text)) >= 100) text = `${pct < 0 ? "-" : ""}99.99`; // 99.9999%
  return `${pct > 0 ? "+" : ""}${text}%`;
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return "–";
  let s = Math.max(0, Number(seconds));
  if (s < 10) return `${s.toFixed(1)} s`;
  s = Math.round(s);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const hours = Math.floor(m / 60);
  return `${hours} h ${m % 60} min`;
}

export function parseTime(iso) {
  if (!iso) return null;
  // the server keeps UTC: a time without an offset is UTC, not the browser's local time
  const text = String(iso);
  const naive = /^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(text);
  const d = new Date(naive ? `${text}Z` : text);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Local date and time, e.g. "2026-11-26 07:00". */
export function fmtTime(iso) {
  const d = parseTime(iso);
  if (!d) return "–";
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "5 min ago" style relative time. */
export function fmtAgo(iso, now = Date.now()) {
  const d = parseTime(iso);
  if (!d) return "–";
  const s = Math.round((now - d.getTime()) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 86400 * 14) return `${Math.round(s / 86400)} d ago`;
  return fmtTime(iso);
}

/**
 * The server's line to paste (`torch.optim.Adam(model.parameters(), lr=..., betas=(..., ...))`)
 * with one argument per line, for display: split at the top level's commas. With a schedule the
 * text has several lines (`optimizer = ...`, a comment, `scheduler = torch.optim.lr_scheduler...`):
 * each call into torch is split so, the others are kept as they are.
 */
export function torchLineLines(text) {
  return String(text)
    .split("\n")
    .map((line) => (line.includes("torch.optim.") ? splitCall(line) : line))
    .join("\n");
}

function splitCall(line) {
  const open = line.indexOf("(");
  if (open < 0 || !line.endsWith(")")) return line;
  const args = [];
  let depth = 0;
  let start = open + 1;
  for (let i = start; i < line.length - 1; i++) {
    if (line[i] === "(" || line[i] === "[") depth++;
    else if (line[i] === ")" || line[i] === "]") depth--;
    else if (line[i] === "," && depth === 0) {
      args.push(line.slice(start, i).trim());
      start = i + 1;
    }
  }
  args.push(line.slice(start, line.length - 1).trim());
  return `${line.slice(0, open)}(\n    ${args.filter(Boolean).join(",\n    ")},\n)`;
}
