// Small shared widgets: status badge and progress bar.
import { h } from "./dom.js";

const KNOWN_STATUS = new Set(["queued", "running", "stopping", "stopped", "completed", "failed"]);

export function statusBadge(status) {
  const s = String(status || "unknown");
  const cls = KNOWN_STATUS.has(s) ? s : "unknown";
  return h("span", { class: `badge status-${cls}`, dataset: { status: s }, text: s.replace(/_/g, "-") });
}

/** Failed for good: the API's `failed` counts interrupted trials too (stopped, then re-run). */
export function failedForGood(progress) {
  const p = progress || {};
  return Math.max(0, (p.failed || 0) - (p.interrupted || 0));
}

/**
 * A stacked bar (complete / pruned / failed / running) of `nTrials`, with "finished/n" text.
 * Interrupted trials (a stop) are not in it: they do not count, their re-runs do.
 */
export function progressBar(progress, nTrials) {
  const p = progress || {};
  const failed = failedForGood(p);
  const finished = p.finished ?? (p.complete || 0) + (p.pruned || 0) + failed;
  const total = nTrials || Math.max(finished + (p.running || 0) + (p.waiting || 0), 1);
  const pct = (n) => `${Math.min(100, (100 * (n || 0)) / total)}%`;
  const title = [
    `${p.complete || 0} complete`,
    `${p.pruned || 0} pruned`,
    `${failed} failed`,
    `${p.running || 0} running`,
    p.interrupted ? `${p.interrupted} stopped and re-run with the same parameters` : null,
  ]
    .filter(Boolean)
    .join(", ");
  return h(
    "div",
    { class: "progress", title },
    h(
      "div",
      { class: "bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": total, "aria-valuenow": finished },
      h("span", { class: "seg complete", style: { width: pct(p.complete) } }),
      h("span", { class: "seg pruned", style: { width: pct(p.pruned) } }),
      h("span", { class: "seg failed", style: { width: pct(failed) } }),
      h("span", { class: "seg running", style: { width: pct(p.running) } }),
    ),
    h("span", { class: "progress-text mono", text: nTrials ? `${finished}/${nTrials}` : `${finished}` }),
  );
}
