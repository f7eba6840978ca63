// A search's validation on the study page: the best configs and the defaults retrained on fresh
// seeds (GET /validation), per config the mean ± 95 % CI and the paired gain over the defaults,
// the verdict, each run's curve, and a button for another round (POST /validate).
import { api, errorMessage, isAbort } from "./api.js";
import { spansDecades } from "./curves.js";
import { h, replace, setText } from "./dom.js";
import { AXIS_NUMBERS, PARAM_LABELS, epochAxis, fmtGain, fmtNum, fmtParam, fullNum } from "./format.js";
import { PLOT_CONFIG, ensurePlotly, palette, themeTemplate } from "./plot.js";

const ACTIVE = new Set(["queued", "running", "stopping"]);
const POLL_MS = 2000;
const DEFAULT_LABEL = "default";

/** Whether the report's runs are still being trained. */
export function validating(report) {
  return !!report && ACTIVE.has(report.status);
}

/**
 * The tuned config the verdict is about: the recommended one, or when the defaults won, the
 * best tuned one by validated mean (as optim/validation.py words its verdict). Null until a
 * validation has ended with a gain to show.
 */
export function validatedWinner(report, direction) {
  if (!report || validating(report) || !report.verdict) return null;
  const tuned = (report.configs || []).filter((c) => c.label !== DEFAULT_LABEL && c.gain !== null && c.gain !== undefined);
  if (!tuned.length) return null;
  const mine = tuned.find((c) => c.label === report.recommended);
  if (mine) return mine;
  const sign = direction === "maximize" ? -1 : 1;
  return tuned.reduce((a, b) => (sign * b.mean < sign * a.mean ? b : a));
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
  const tbody = h("tbody");
  const table = h(
    "table",
    { class: "data compact", id: "validation-table", hidden: true },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { text: "config" }),
        h("th", { class: "num", text: "search value", title: "one seed, as the search measured it: an estimate" }),
        h("th", { class: "num", text: "validated mean ± 95 % CI", title: "the test metric on the fresh seeds" }),
        h("th", { class: "num", text: "gain vs default (95 % CI)", title: "paired with the defaults seed by seed" }),
        h("th", { class: "num", text: "wins" }),
      ),
    ),
    tbody,
  );
  const topK = h("input", { id: "v-top_k", type: "text", inputmode: "numeric", class: "num-input", "aria-label": "configs to validate" });
  const seeds = h("input", { id: "v-seeds", type: "text", inputmode: "numeric", class: "num-input", "aria-label": "fresh seeds" });
  const button = h("button", { type: "button", id: "btn-validate", onclick: () => start() }, "Validate");
  const error = h("div", { class: "field-error", role: "alert", id: "validation-error" });
  const plot = h("div", { class: "validation-plot", id: "validation-plot", hidden: true });

  const panel = h(
    "section",
    { class: "panel validation", id: "validation" },
    h("h2", { text: "Validation on fresh seeds" }),
    status,
    verdict,
    h("div", { class: "table-wrap" }, table),
    plot,
    h(
      "div",
      { class: "validate-form" },
      h("label", { for: "v-top_k", text: "best configs" }),
      topK,
      h("label", { for: "v-seeds", text: "seeds" }),
      seeds,
      button,
      h("span", { class: "muted small", text: "retrains them and the defaults on seeds no trial used" }),
    ),
    error,
  );
  container.appendChild(panel);
  ctx.onCleanup(() => clearTimeout(timer));

  function fillDefaults() {
    const s = getStudy() || {};
    if (!topK.value) topK.value = String(s.validate_top_k || 3);
    if (!seeds.value) seeds.value = String(s.validate_seeds || 5);
  }

  function render() {
    const s = getStudy() || {};
    fillDefaults();
    button.disabled = validating(report);
    if (!report) {
      const auto = s.validate_top_k > 0 && s.validate_seeds > 0;
      setText(
        status,
        auto
          ? `Not validated yet: when the search ends, its best ${s.validate_top_k} config${s.validate_top_k === 1 ? "" : "s"} and the defaults are retrained on ${s.validate_seeds} fresh seeds.`
          : "Not validated: the search value of each trial is one training run, an estimate. Validate retrains the best configs on fresh seeds.",
      );
      setText(verdict, "");
      table.hidden = true;
      plot.hidden = true;
      return;
    }
    const round = report.round !== null && report.round !== undefined ? `round ${report.round + 1}: ` : "";
    const runs = `${report.runs_done}/${report.runs_total} runs`;
    setText(
      status,
      validating(report)
        ? `Validating (${round}${runs} on ${report.seeds.length} fresh seeds)…`
        : `${round[0] ? round[0].toUpperCase() + round.slice(1) : ""}${runs} on fresh seeds ${report.seeds.join(", ")}; the value is the held-out test metric.`,
    );
    setText(verdict, validating(report) ? "" : report.verdict || "");
    table.hidden = !(report.configs || []).length;
    replace(
      tbody,
      (report.configs || []).map((c) =>
        h(
          "tr",
          { dataset: { label: c.label }, class: c.label === report.recommended ? "best" : "" },
          h(
            "td",
            {},
            h("div", {}, c.label === DEFAULT_LABEL ? "defaults" : c.label, c.label === report.recommended ? h("span", { class: "tag best", text: "recommended" }) : null),
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

  /** Each run's curve, coloured by its config (matched by its params), one legend entry each. */
  async function drawRuns() {
    if (!report) return;
    let curves;
    try {
      curves = await api.get(`/studies/${report.study_id}/curves`, { after: 0 }, { signal: ctx.signal });
    } catch (err) {
      if (isAbort(err) || !ctx.alive()) return;
      return; // the table says what matters; the curves come with the next poll
    }
    const key = `${report.study_id}:${curves.points.trial.length}`;
    if (!ctx.alive() || key === drawn || !curves.points.trial.length) return;
    const Plotly = await ensurePlotly();
    if (!ctx.alive()) return;
    drawn = key;
    const c = palette();
    const configs = report.configs || [];
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
        xaxis: { title: { text: "epoch", standoff: 4 }, ...epochAxis((getStudy() || {}).epochs || Math.max(...p.epoch), 600) },
        yaxis: { title: { text: "val loss" }, type: spansDecades(getY, 10) ? "log" : "linear", ...AXIS_NUMBERS },
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
    for (const [key, input] of [["top_k", topK], ["seeds", seeds]]) {
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
