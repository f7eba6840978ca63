// Small shared widgets: status badge and progress bar.
import { h } from "./dom.js";

const KNOWN_STATUS = new Set(["queued", "running", "stopping", "stopped", "completed", "failed"]);

export function statusBadge(status) {
  const s = String(status || "unknown");
  const cls = KNOWN_STATUS.has(s) ? s : "unknown";
  return h("span", { class: `badge status-${cls}`, dataset: { status: s }, text: s.replace(/_/g, "-") });
}

/** A stacked bar (complete / pruned / failed / running) of `nTrials`, with "finished/n" text. */
export function progressBar(progress, nTrials) {
  const p = progress || {};
  const finished = p.finished ?? (p.complete || 0) + (p.pruned || 0) + (p.failed || 0);
  const total = nTrials || Math.max(finished + (p.running || 0) + (p.waiting || 0), 1);
  const pct = (n) => `${Math.min(100, (100 * (n || 0)) / total)}%`;
  const title = [
    `${p.complete || 0} complete`,
    `${p.pruned || 0} pruned`,
    `${p.failed || 0} failed`,
    `${p.running || 0} running`,
  ].join(", ");
  return h(
    "div",
    { class: "progress", title },
    h(
      "div",
      { class: "bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": total, "aria-valuenow": finished },
      h("span", { class: "seg complete", style: { width: pct(p.complete) } }),
      h("span", { class: "seg pruned", style: { width: pct(p.pruned) } }),
      h("span", { class: "seg failed", style: { width: pct(p.failed) } }),
      h("span", { class: "seg running", style: { width: pct(p.running) } }),
    ),
    h("span", { class: "progress-text mono", text: nTrials ? `${finished}/${nTrials}` : `${finished}` }),
  );
}
