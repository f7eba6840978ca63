// A search's validation on the study page (GET /validation), in two rounds on disjoint seeds:
// the selection retrains the best configs and the defaults and picks one, the confirmation
// retrains the pick and the defaults on other seeds and alone gives the gain, the verdict and
// the line. Per config the mean ± 95 % CI and the paired gain over the defaults, each run's
// curve, and a button for another round (POST /validate).
import { api, errorMessage, isAbort } from "./api.js";
import { spansDecades } from "./curves.js";
import { h, replace, setText } from "./dom.js";
import { AXIS_NUMBERS, PARAM_LABELS, epochAxis, fmtGain, fmtNum, fmtParam, fullNum, logTicksOf } from "./format.js";
import { PLOT_CONFIG, ensurePlotly, palette, themeTemplate } from "./plot.js";

const ACTIVE = new Set(["queued", "running", "stopping"]);
const POLL_MS = 2000;
const DEFAULT_LABEL = "default";

/** Whether the report's runs are still being trained. */
export function validating(report) {
  return !!report && ACTIVE.has(report.status);
}

/**
 * The pick as the confirmation measured it: the gain the product reports. Null until the
 * confirmation round has ended.
 */
export function validatedWinner(report) {
  if (!report || validating(report) || !report.confirmed || !report.confirmation) return null;
  return (report.confirmation.configs || []).find((c) => c.label !== DEFAULT_LABEL && c.gain !== null && c.gain !== undefined) || null;
}

/** The config the confirmed answer names (the pick, or the defaults) in the confirmation round. */
export function confirmedConfig(report) {
  if (!report || !report.confirmation) return null;
  return (report.confirmation.configs || []).find((c) => c.label === report.recommended) || null;
}

/** "0.1565 ± 0.0434": a mean and the half width of its 95 % CI. */
function meanCi(c) {
  if (c.mean === null || c.mean === undefined) return "–";
  if (c.ci_low === null || c.ci_high === null || c.ci_low === undefined) return fmtNum(c.mean);
  return `${fmtNum(c.mean)} ± ${fmtNum((c.ci_high - c.ci_low) / 2)}`;
}

function paramsText(params) {
  return Object.entries(params || {})
    .map(([k, v]) => `${PARAM_LABELS[k] || k} ${fmtParam(k, v)}`)
    .join(" · ");
}

/**
 * @param {HTMLElement} container
 * @param {{studyId: number, ctx, getStudy: () => object, onReport: (report) => void}} opts
 */
export function createValidationPanel(container, { studyId, ctx, getStudy, onReport }) {
  let report = null;
  let timer = null;
  let drawn = ""; // the runs the plot shows (skip redrawing the same)

  const status = h("p", { class: "muted small", id: "validation-status" });
  const verdict = h("p", { class: "verdict", id: "validation-verdict" });
  const selection = roundTable("validation-table", "search estimate", "one seed, as the search measured it: an estimate");
  const confirmation = roundTable("confirmation-table", "search estimate", "one seed, as the search measured it: an estimate");
  const selectionTitle = h("h3", { id: "selection-title", text: "Round 1 · selection: picks among the best configs" });
  const confirmationTitle = h("h3", { id: "confirmation-title", text: "Round 2 · confirmation: the pick against the defaults on other seeds" });
  const topK = h("input", { id: "v-top_k", type: "text", inputmode: "numeric", class: "num-input", "aria-label": "configs to validate" });
  const seeds = h("input", { id: "v-seeds", type: "text", inputmode: "numeric", class: "num-input", "aria-label": "fresh seeds" });
  const confirmSeeds = h("input", { id: "v-confirm_seeds", type: "text", inputmode: "numeric", class: "num-input", "aria-label": "confirmation seeds" });
  const button = h("button", { type: "button", id: "btn-validate", onclick: () => start() }, "Validate");
  const error = h("div", { class: "field-error", role: "alert", id: "validation-error" });
  const plot = h("div", { class: "validation-plot", id: "validation-plot", hidden: true });

  const panel = h(
    "section",
    { class: "panel validation", id: "validation" },
    h("h2", { text: "Validation on fresh seeds" }),
    status,
    verdict,
    selectionTitle,
    h("div", { class: "table-wrap" }, selection.table),
    confirmationTitle,
    h("div", { class: "table-wrap" }, confirmation.table),
    plot,
    h(
      "div",
      { class: "validate-form" },
      h("label", { for: "v-top_k", text: "best configs" }),
      topK,
      h("label", { for: "v-seeds", text: "seeds" }),
      seeds,
      h("label", { for: "v-confirm_seeds", text: "confirmation seeds" }),
      confirmSeeds,
      button,
      h("span", { class: "muted small", text: "retrains them and the defaults on seeds no trial used, picks one, then confirms it on others" }),
    ),
    error,
  );
  container.appendChild(panel);
  ctx.onCleanup(() => clearTimeout(timer));

  function fillDefaults() {
    const s = getStudy() || {};
    if (!topK.value) topK.value = String(s.validate_top_k || 3);
    if (!seeds.value) seeds.value = String(s.validate_seeds || 5);
    if (!confirmSeeds.value) confirmSeeds.value = String(s.confirm_seeds ?? 10);
  }

  function render() {
    const s = getStudy() || {};
    fillDefaults();
    button.disabled = validating(report);
    if (!report) {
      const auto = s.validate_top_k > 0 && s.validate_seeds > 0;
      const confirm = s.confirm_seeds > 0 ? `, then the pick and the defaults on ${s.confirm_seeds} other seeds` : "";
      setText(
        status,
        auto
          ? `Not validated yet: when the search ends, its best ${s.validate_top_k} config${s.validate_top_k === 1 ? "" : "s"} and the defaults are retrained on ${s.validate_seeds} fresh seeds${confirm}.`
          : "Not validated: the search value of each trial is one training run, an estimate. Validate retrains the best configs on fresh seeds.",
      );
      setText(verdict, "");
      for (const part of [selection.table, confirmation.table, selectionTitle, confirmationTitle, plot]) part.hidden = true;
      return;
    }
    const round = report.round !== null && report.round !== undefined ? `Validation ${report.round + 1}: ` : "";
    const runs = `${report.runs_done}/${report.runs_total} runs`;
    const where = report.phase === "selection" ? "selecting" : report.phase === "confirmation" ? "confirming the pick" : "done";
    setText(
      status,
      validating(report)
        ? `${round}${where}, ${runs}…`
        : `${round}${runs}; the value is the held-out test metric. Selection seeds ${(report.selection_seeds || report.seeds || []).join(", ")}${report.confirmation_seeds?.length ? `; confirmation seeds ${report.confirmation_seeds.join(", ")}` : ""}.`,
    );
    const unconfirmed = !validating(report) && report.verdict && !report.confirmed;
    setText(verdict, validating(report) ? report.selection_verdict || "" : unconfirmed ? `Unconfirmed: ${report.verdict}` : report.verdict || "");
    verdict.dataset.confirmed = String(!!report.confirmed);
    selectionTitle.hidden = selection.table.hidden = !(report.configs || []).length;
    selection.fill(report.configs || [], report.picked, "picked");
    const second = report.confirmation;
    confirmationTitle.hidden = confirmation.table.hidden = !second;
    if (second) confirmation.fill(second.configs || [], report.confirmed ? report.recommended : null, "use this");
  }

  /** A round's table: per config its search estimate, its mean ± CI here, its gain and wins. */
  function roundTable(id, searchHead, searchTitle) {
    const tbody = h("tbody");
    const table = h(
      "table",
      { class: "data compact", id, hidden: true },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { text: "config" }),
          h("th", { class: "num", text: searchHead, title: searchTitle }),
          h("th", { class: "num", text: "mean ± 95 % CI", title: "the held-out test metric on this round's seeds" }),
          h("th", { class: "num", text: "gain vs default (95 % CI)", title: "paired with the defaults seed by seed" }),
          h("th", { class: "num", text: "wins" }),
        ),
      ),
      tbody,
    );
    function fill(configs, marked, tag) {
      replace(
        tbody,
        configs.map((c) =>
          h(
            "tr",
            { dataset: { label: c.label }, class: c.label === marked ? "best" : "" },
            h(
              "td",
              {},
              h("div", {}, c.label === DEFAULT_LABEL ? "defaults" : c.label, c.label === marked ? h("span", { class: "tag best", text: tag }) : null),
              h("div", { class: "muted small mono", text: paramsText(c.params) }),
            ),
            h("td", { class: "num mono", text: fmtNum(c.search_value), title: fullNum(c.search_value) }),
            h("td", { class: "num mono mean", text: meanCi(c), dataset: { mean: c.mean ?? "", low: c.ci_low ?? "", high: c.ci_high ?? "" } }),
            h(
              "td",
              { class: "num mono gain", dataset: { gain: c.gain ?? "" } },
              c.label === DEFAULT_LABEL || c.gain === null || c.gain === undefined
                ? "–"
                : `${fmtGain(c.gain)} (${fmtGain(c.gain_low)} to ${fmtGain(c.gain_high)})`,
            ),
            h("td", { class: "num mono wins", text: c.label === DEFAULT_LABEL ? "–" : `${c.wins}/${c.n}` }),
          ),
        ),
      );
    }
    return { table, fill };
  }

  /** The round whose runs the plot shows: the confirmation once it exists, else the selection. */
  function shownRound() {
    return report.confirmation || report;
  }

  /** Each run's curve, coloured by its config (matched by its params), one legend entry each. */
  async function drawRuns() {
    if (!report) return;
    let curves;
    try {
      curves = await api.get(`/studies/${shownRound().study_id}/curves`, { after: 0 }, { signal: ctx.signal });
    } catch (err) {
      if (isAbort(err) || !ctx.alive()) return;
      return; // the table says what matters; the curves come with the next poll
    }
    const key = `${shownRound().study_id}:${curves.points.trial.length}`;
    if (!ctx.alive() || key === drawn || !curves.points.trial.length) return;
    const Plotly = await ensurePlotly();
    if (!ctx.alive()) return;
    drawn = key;
    const c = palette();
    const configs = shownRound().configs || [];
    const byParams = new Map(configs.map((cfg, i) => [JSON.stringify(cfg.params), i]));
    const info = new Map((curves.trials || []).map((t) => [t.number, t]));
    const runs = new Map(); // trial -> {x, y}
    const p = curves.points;
    for (let i = 0; i < p.trial.length; i++) {
      if (!runs.has(p.trial[i])) runs.set(p.trial[i], { x: [], y: [] });
      runs.get(p.trial[i]).x.push(p.epoch[i]);
      runs.get(p.trial[i]).y.push(p.val_loss[i]);
    }
    const legend = new Set();
    const traces = [...runs.entries()].map(([trial, run]) => {
      const t = info.get(trial) || {};
      const index = byParams.get(JSON.stringify(t.params || {})) ?? configs.length;
      const label = configs[index] ? (configs[index].label === DEFAULT_LABEL ? "defaults" : configs[index].label) : "other";
      const first = !legend.has(label);
      legend.add(label);
      return {
        type: "scatter",
        mode: run.x.length <= 2 ? "lines+markers" : "lines",
        x: run.x,
        y: run.y,
        name: label,
        legendgroup: label,
        showlegend: first,
        meta: { trial, config: label },
        text: run.y.map((v) => fmtNum(v)),
        hovertemplate: `${label} · seed ${(t.seeds || [])[0] ?? "?"}<br>epoch %{x}: val loss %{text}<extra></extra>`,
        line: { color: c.colorway[index % c.colorway.length], width: 1.5, dash: configs[index]?.label === DEFAULT_LABEL ? "dash" : "solid" },
        marker: { size: 5 },
      };
    });
    const getY = [...runs.values()].flatMap((r) => r.y);
    plot.hidden = false;
    await Plotly.react(
      plot,
      traces,
      {
        template: themeTemplate(),
        height: 260,
        margin: { l: 55, r: 10, t: 10, b: 40 },
        xaxis: { title: { text: "epoch", standoff: 4 }, ...epochAxis((getStudy() || {}).epochs || Math.max(...p.epoch), 600, Math.min(...p.epoch)) },
        yaxis: { title: { text: "val loss" }, ...(spansDecades(getY, 10) ? { type: "log", ...AXIS_NUMBERS, ...logTicksOf(getY, 200) } : { type: "linear", ...AXIS_NUMBERS }) },
        legend: { orientation: "h", x: 0, y: 1, yanchor: "bottom" },
        hovermode: "closest",
      },
      PLOT_CONFIG,
    );
  }

  function schedule() {
    clearTimeout(timer);
    if (!validating(report)) return;
    timer = setTimeout(async () => {
      if (!ctx.alive()) return;
      try {
        const fresh = await api.get(`/studies/${studyId}/validation`, null, { signal: ctx.signal });
        if (ctx.alive()) set(fresh, true);
      } catch (err) {
        if (isAbort(err) || !ctx.alive()) return;
        schedule(); // try again: the server may be busy
      }
    }, POLL_MS);
  }

  /** A report from the study summary or from this panel's own polling. */
  function set(fresh, own = false) {
    const before = report;
    if (fresh && before && fresh.study_id === before.study_id && fresh.runs_done < before.runs_done) return; // an older read
    report = fresh || null;
    const moved = JSON.stringify(before) !== JSON.stringify(report);
    render();
    if (moved || !drawn) drawRuns();
    if (own && moved) onReport?.(report);
    schedule();
  }

  async function start() {
    setText(error, "");
    const body = {};
    for (const [key, input] of [["top_k", topK], ["seeds", seeds], ["confirm_seeds", confirmSeeds]]) {
      const v = Number(input.value.trim());
      if (!input.value.trim() || !Number.isInteger(v)) {
        setText(error, `${key}: must be a whole number`);
        input.setAttribute("aria-invalid", "true");
        return;
      }
      input.removeAttribute("aria-invalid");
      body[key] = v;
    }
    button.disabled = true;
    try {
      const started = await api.post(`/studies/${studyId}/validate`, body, { signal: ctx.signal });
      if (!ctx.alive()) return;
      set(started, true);
    } catch (err) {
      if (isAbort(err) || !ctx.alive()) return;
      button.disabled = validating(report);
      const field = (err.fieldErrors || [])[0];
      setText(error, field ? `${field.loc[field.loc.length - 1]}: ${field.msg}` : `Could not validate: ${errorMessage(err)}`);
    }
  }

  render();
  return {
    update: (fresh) => set(fresh),
    retheme() {
      drawn = "";
      drawRuns();
    },
  };
}
