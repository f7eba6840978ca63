// Number, time and label formatting shared by the pages.

export const METRIC_LABELS = {
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
};

export const DIMENSIONS = ["lr", "beta1", "beta2", "eps", "weight_decay"];

export function metricLabel(metric) {
  return METRIC_LABELS[metric] || String(metric);
}

/** A compact number: 4 significant digits, exponent notation for tiny/huge magnitudes. */
export function fmtNum(value, digits = 4) {
  if (value === null || value === undefined || value === "") return "–";
  const v = Number(value);
  if (!Number.isFinite(v)) return String(value);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e6) return v.toExponential(Math.max(0, digits - 2)).replace(/\.?0+e/, "e");
  return String(Number(v.toPrecision(digits)));
}

/** A hyper-parameter value: betas keep enough digits to tell 0.999 from 0.9999. */
export function fmtParam(name, value) {
  if (value === null || value === undefined) return "–";
  if (name === "beta1" || name === "beta2") {
    const v = Number(value);
    if (v > 0.9 && v < 1) return String(Number(v.toPrecision(Math.max(4, 2 - Math.floor(Math.log10(1 - v)) + 1))));
    return fmtNum(v, 4);
  }
  return fmtNum(value, 4);
}

/** A number as Python source: short but exact enough (6 significant digits). */
export function pyNum(value) {
  const v = Number(value);
  if (!Number.isFinite(v)) return "float('nan')";
  if (v === 0) return "0.0";
  let s = String(Number(v.toPrecision(6)));
  if (/^-?\d+$/.test(s)) s += ".0";
  return s;
}

/** `gain` (a fraction) as a signed percentage. */
export function fmtGain(gain) {
  if (gain === null || gain === undefined || !Number.isFinite(Number(gain))) return "–";
  const pct = Number(gain) * 100;
  let digits = Math.abs(pct) < 100 ? 1 : 0;
  // never round 99.97% up to a perfect 100%
  while (digits < 3 && Math.abs(Number(pct.toFixed(digits))) >= 100 && Math.abs(pct) < 100) digits++;
  return `${pct > 0 ? "+" : ""}${pct.toFixed(digits)}%`;
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

/** The line to paste into a training script (`multiline`: one argument per line, for display). */
export function adamLine(params, multiline = false) {
  const p = params || {};
  const parts = [`lr=${pyNum(p.lr ?? 1e-3)}`];
  parts.push(`betas=(${pyNum(p.beta1 ?? 0.9)}, ${pyNum(p.beta2 ?? 0.999)})`);
  parts.push(`eps=${pyNum(p.eps ?? 1e-8)}`);
  if (p.weight_decay) parts.push(`weight_decay=${pyNum(p.weight_decay)}`);
  if (multiline) return `torch.optim.Adam(\n    model.parameters(),\n    ${parts.join(",\n    ")},\n)`;
  return `torch.optim.Adam(model.parameters(), ${parts.join(", ")})`;
}
