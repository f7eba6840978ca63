// What the compare page plots, computed from each study's summary, trials and best curve; no DOM,
// no Plotly, so each series is easy to read and to check.
import { METRICS } from "./curves_data.js";

const FINISHED = new Set(["COMPLETE", "PRUNED", "FAIL"]);
const ACTIVE = new Set(["queued", "running", "stopping"]);

/** Whether anything of the study can still change: it is active, or a trial still runs. */
export function isLive(s) {
  return ACTIVE.has(s.status) || (!s.read_only && (s.progress?.running || 0) > 0);
}

/** The ids of `#/compare?ids=3,4,5`, in order, each once; null when the list does not parse. */
export function parseIds(query) {
  const raw = new URLSearchParams(query || "").get("ids") || "";
  const parts = raw.split(",").map((p) => p.trim()).filter(Boolean);
  if (!parts.every((p) => /^\d{1,9}$/.test(p))) return null;
  return [...new Set(parts.map(Number))];
}

/** The link to the compare page of `ids`. */
export function compareHref(ids) {
  return `#/compare?ids=${ids.map((id) => encodeURIComponent(id)).join(",")}`;
}

/** Why the studies cannot share one chart (a message), or "" when they can. */
export function refusal(studies) {
  const directions = new Set(studies.map((s) => s.direction));
  if (directions.size <= 1) return "";
  const named = (dir) =>
    studies
      .filter((s) => s.direction === dir)
      .map((s) => `"${s.name}"`)
      .join(", ");
  return (
    "These studies do not share a direction, so no chart can rank them together: " +
    `${named("minimize")} minimise their metric, ${named("maximize")} maximise it. ` +
    "Compare studies that minimise, or studies that maximise."
  );
}

/** A caution (not a refusal) when the studies measure different things. */
export function caution(studies) {
  const what = new Set(studies.map((s) => `${s.task || "an Optuna script's value"} · ${s.metric}`));
  if (what.size <= 1) return "";
  return `These studies measure different things (${[...what].join("; ")}): their values may not compare.`;
}

/** The study's own metric in its curve points (a plain Optuna study's intermediate values are
 * in val_loss). */
export function curveKey(study) {
  return METRICS.includes(study.metric) ? study.metric : "val_loss";
}

function better(direction) {
  return direction === "maximize" ? (a, b) => a > b : (a, b) => a < b;
}

function finite(v) {
  return v !== null && v !== undefined && Number.isFinite(Number(v));
}

function ms(iso) {
  if (!iso) return null;
  const text = String(iso);
  const t = new Date(/^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(text) ? `${text}Z` : text).getTime();
  return Number.isNaN(t) ? null : t;
}

/**
 * Best value so far, one point per finished trial from the first complete one on:
 * `byNumber` in trial-number order; `byBudget` in completion order, against the seconds since
 * the study's first trial started and the epochs its finished trials had trained by then.
 */
export function bestSoFar(trials, direction) {
  const isBetter = better(direction);
  const byNumber = { x: [], y: [], trial: [] };
  let best = null;
  let bestTrial = null;
  for (const t of [...trials].sort((a, b) => a.number - b.number)) {
    if (!FINISHED.has(t.state)) continue;
    if (t.state === "COMPLETE" && finite(t.value) && (best === null || isBetter(t.value, best))) {
      best = Number(t.value);
      bestTrial = t.number;
    }
    if (best === null) continue;
    byNumber.x.push(t.number);
    byNumber.y.push(best);
    byNumber.trial.push(bestTrial);
  }

  const starts = trials.map((t) => ms(t.datetime_start)).filter((v) => v !== null);
  const t0 = starts.length ? Math.min(...starts) : null;
  const done = trials
    .filter((t) => FINISHED.has(t.state))
    .map((t) => ({ t, end: ms(t.datetime_complete) }))
    .sort((a, b) => (a.end ?? Infinity) - (b.end ?? Infinity) || a.t.number - b.t.number);
  const byBudget = { seconds: [], epochs: [], y: [], trial: [] };
  let epochs = 0;
  best = null;
  bestTrial = null;
  for (const { t, end } of done) {
    epochs += t.epochs_done || 0;
    if (t.state === "COMPLETE" && finite(t.value) && (best === null || isBetter(t.value, best))) {
      best = Number(t.value);
      bestTrial = t.number;
    }
    if (best === null) continue;
    byBudget.seconds.push(end !== null && t0 !== null ? (end - t0) / 1000 : null);
    byBudget.epochs.push(epochs);
    byBudget.y.push(best);
    byBudget.trial.push(bestTrial);
  }
  return { byNumber, byBudget, epochs: trials.reduce((n, t) => n + (t.epochs_done || 0), 0) };
}

/** Empirical distribution of the complete trials' values: x sorted, y the fraction <= x. */
export function edf(trials) {
  const x = trials
    .filter((t) => t.state === "COMPLETE" && finite(t.value))
    .map((t) => Number(t.value))
    .sort((a, b) => a - b);
  return { x, y: x.map((_, i) => (i + 1) / x.length) };
}

/** The validated winner (the best search trial retrained on fresh seeds) and the defaults. */
export function validated(study) {
  const configs = study.validation?.configs || [];
  const winner = configs.find((c) => c.label !== "default" && finite(c.mean)) || null;
  const defaults = configs.find((c) => c.label === "default" && finite(c.mean)) || null;
  return { winner, defaults, status: study.validation?.status || null };
}

/** One trial's curve in the study's metric: {x: epochs, y: values}. */
export function curveOf(detail, study) {
  const key = curveKey(study);
  const pts = detail?.curve || {};
  const x = [];
  const y = [];
  (pts.epoch || []).forEach((epoch, i) => {
    const v = pts[key]?.[i];
    if (finite(v)) {
      x.push(epoch);
      y.push(Number(v));
    }
  });
  return { x, y };
}

const MAX_LABEL = 40;

/**
 * Short names for the legends and axes: the prefix every name shares up to a " / " (a
 * comparison's "compare-task-time / ") is dropped, and a long name keeps its two ends.
 */
export function shortLabels(names) {
  let prefix = names.length > 1 ? names[0] : "";
  for (const name of names) while (prefix && !name.startsWith(prefix)) prefix = prefix.slice(0, -1);
  const cut = prefix.lastIndexOf(" / ") + 3; // 2: no " / " shared
  const drop = cut > 2 && names.every((n) => n.length > cut) ? cut : 0;
  return names.map((name) => {
    const rest = name.slice(drop);
    return rest.length > MAX_LABEL ? `${rest.slice(0, 18)}…${rest.slice(-(MAX_LABEL - 19))}` : rest;
  });
}
