// Comparisons of optimizer families: the list with a form to start one (#/comparisons), and one
// comparison (#/comparisons/3): per optimizer its validated mean with the 95 % CI, its best
// configuration, the budget it used, and the verdict against the first optimizer; then the time
// to result: each search's best so far against its compute, the validated points and the target.
import { api, errorMessage, isAbort } from "../api.js";
import { axisTitle, budgetSeries, logAxis } from "../budget_data.js";
import { compareHref } from "../compare_data.js";
import { h, labelCells, replace, setText } from "../dom.js";
import { fmtAgo, fmtDuration, fmtGain, fmtNum, fmtParam, fmtTime, logTicksOf, PARAM_LABELS } from "../format.js";
import { PLOT_CONFIG, ensurePlotly, lineChartLayout, onThemeChange, palette } from "../plot.js";
import { progressBar, statusBadge } from "../widgets.js";

const REFRESH_MS = 3000;
const ACTIVE = new Set(["queued", "running", "stopping"]);

/** One status for the whole comparison, from its studies' and their validations'. */
function overallStatus(comparison) {
  const rows = comparison.studies || [];
  if (comparison.complete) return "completed";
  if (rows.some((r) => ACTIVE.has(r.status) || ACTIVE.has(r.validation_status))) return "running";
  // a finished search whose validation is about to be queued: still running (keep refreshing)
  if (rows.some((r) => r.status === "completed" && !r.validation_status)) return "running";
  if (rows.some((r) => r.status === "failed")) return "failed";
  if (rows.some((r) => r.status === "stopped")) return "stopped";
  return rows.length ? rows[0].status : "unknown";
}

function optimizersText(comparison) {
  return (comparison.studies || []).map((r) => r.label || r.optimizer).join(" · ");
}

// ---------------------------------------------------------------- list and form

export async function mountList(root, ctx) {
  ctx.setTitle("Comparisons");
  const error = h("div", { class: "alert error", role: "alert", hidden: true });
  const tbody = h("tbody");
  const empty = h("p", { class: "empty muted", hidden: true, text: "No comparison yet: start one with the form above." });
  const table = h(
    "table",
    { class: "data comparisons-table reflow", id: "comparisons-table", hidden: true },
    h(
      "thead",
      {},
      h("tr", {}, h("th", { text: "Name" }), h("th", { text: "Task" }), h("th", { text: "Optimizers" }), h("th", { text: "Status" }), h("th", { text: "Verdict" }), h("th", { text: "Created" })),
    ),
    tbody,
  );
  const formSlot = h("section", { class: "panel", id: "comparison-form-panel" }, h("h2", { text: "New comparison" }), h("p", { class: "muted", text: "Loading tasks and optimizers…" }));
  root.append(
    h("div", { class: "page-head" }, h("h1", { text: "Comparisons" })),
    h("p", { class: "muted", text: "One study per optimizer on one task, under the same budget, sampler, pruner and seeds, run interleaved; each winner is then retrained on the same fresh seeds and compared with the first optimizer's." }),
    formSlot,
    error,
    h("section", { class: "panel flush" }, table, empty),
  );

  loadForm(formSlot, ctx);

  async function refresh() {
    if (document.hidden && !table.hidden) return;
    try {
      const data = await api.get("/comparisons", null, { signal: ctx.signal });
      if (!ctx.alive()) return;
      const list = data?.comparisons || [];
      error.hidden = true;
      table.hidden = !list.length;
      empty.hidden = list.length > 0;
      replace(tbody, list.map(listRow));
      labelCells(tbody.closest("table"));
    } catch (err) {
      if (isAbort(err) || !ctx.alive()) return;
      error.hidden = false;
      setText(error, `Could not load the comparisons: ${errorMessage(err)}`);
    }
  }
  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  ctx.onCleanup(() => clearInterval(timer));
}

function listRow(c) {
  const href = `#/comparisons/${c.id}`;
  return h(
    "tr",
    {
      class: "clickable",
      dataset: { comparisonId: c.id },
      onclick: (event) => {
        if (!event.target.closest("a")) location.hash = href;
      },
    },
    h("td", { class: "name" }, h("a", { href }, c.name)),
    h("td", { text: c.task }),
    h("td", { text: optimizersText(c) }),
    h("td", {}, statusBadge(overallStatus(c))),
    h("td", { class: "small", text: (c.verdicts || []).join(" ") || "–" }),
    h("td", { title: fmtTime(c.created_at), text: fmtAgo(c.created_at) }),
  );
}

async function loadForm(slot, ctx) {
  let tasks;
  let options;
  try {
    [tasks, options] = await Promise.all([api.get("/tasks", null, { signal: ctx.signal }), api.get("/options", null, { signal: ctx.signal })]);
  } catch (err) {
    if (isAbort(err) || !ctx.alive()) return;
    replace(slot, h("h2", { text: "New comparison" }), h("div", { class: "alert error", role: "alert", text: `Could not load the form: ${errorMessage(err)}` }));
    return;
  }
  if (!ctx.alive()) return;
  replace(slot, h("h2", { text: "New comparison" }), comparisonForm(ctx, Array.isArray(tasks) ? tasks : tasks?.tasks || [], options || {}));
}

function comparisonForm(ctx, tasks, options) {
  const limits = options.limits || {};
  const field = (label, input, hint) => h("div", { class: "field" }, h("label", { for: input.id, text: label }), input, hint ? h("span", { class: "hint", text: hint }) : null);
  const task = h("select", { id: "cmp-task", name: "task" }, tasks.map((t) => h("option", { value: t.name }, t.name)));
  const epochs = h("input", { id: "cmp-epochs", name: "epochs", type: "number", min: 1, max: limits.max_epochs || null, step: 1, class: "num-input" });
  const setEpochsHint = () => {
    const t = tasks.find((x) => x.name === task.value);
    epochs.placeholder = t ? String(t.default_epochs) : "";
  };
  task.addEventListener("change", setEpochsHint);
  setEpochsHint();
  const nTrials = h("input", { id: "cmp-trials", name: "n_trials", type: "number", min: 1, max: limits.max_trials || null, step: 1, value: "20", class: "num-input" });
  const seed = h("input", { id: "cmp-seed", name: "seed", type: "number", min: 0, step: 1, value: "0", class: "num-input" });
  const seeds = h("input", { id: "cmp-validate-seeds", name: "validate_seeds", type: "number", min: 2, max: 50, step: 1, value: "5", class: "num-input" });
  const confirmSeeds = h("input", { id: "cmp-confirm-seeds", name: "confirm_seeds", type: "number", min: 2, max: 100, step: 1, value: "10", class: "num-input" });
  const name = h("input", { id: "cmp-name", name: "name", type: "text", placeholder: "compare-TASK-time", autocomplete: "off" });
  // the tuning-free families (one-shot baselines at their defaults) start unticked: a
  // comparison takes at most four optimizers
  const optimizers = (options.optimizers || []).map((o) =>
    h("label", { class: "check", title: o.torch_class || "" }, h("input", { type: "checkbox", name: "optimizers", value: o.name, checked: !o.tuning_free }), ` ${o.label || o.name}${o.tuning_free ? " (one-shot)" : ""}`),
  );
  const error = h("div", { class: "alert error", id: "cmp-error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "primary", id: "cmp-submit" }, "Start comparison");
  const integer = (input) => (input.value.trim() === "" ? undefined : Number(input.value));

  const form = h(
    "form",
    {
      class: "study-form comparison-form",
      id: "comparison-form",
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const chosen = [...form.querySelectorAll("input[name=optimizers]:checked")].map((i) => i.value);
        const body = { task: task.value, optimizers: chosen, n_trials: integer(nTrials), epochs: integer(epochs), seed: integer(seed), validate_seeds: integer(seeds), confirm_seeds: integer(confirmSeeds) };
        if (name.value.trim()) body.name = name.value.trim();
        for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
        error.hidden = true;
        if (chosen.length < 2) {
          error.hidden = false;
          setText(error, "Tick two or more optimizers: the first is the reference the others are compared with.");
          return;
        }
        submit.disabled = true;
        try {
          const created = await api.post("/comparisons", body, { signal: ctx.signal });
          if (ctx.alive()) location.hash = `#/comparisons/${created.id}`;
        } catch (err) {
          if (isAbort(err) || !ctx.alive()) return;
          error.hidden = false;
          setText(error, `Could not start the comparison: ${errorMessage(err)}`);
        } finally {
          submit.disabled = false;
        }
      },
    },
    h("div", { class: "grid-2" }, field("Task", task), field("Name", name, "optional")),
    h("div", { class: "field optimizers-field" }, h("span", { class: "field-label", text: "Optimizers (the first ticked is the reference)" }), h("div", { class: "toolbar", id: "cmp-optimizers" }, optimizers)),
    h(
      "div",
      { class: "grid-4" },
      field("Trials per optimizer", nTrials, limits.max_trials ? `at most ${limits.max_trials}` : null),
      field("Epochs per trial", epochs, "empty: the task's default"),
      field("Seed", seed, "same seed, same trials"),
      field("Selection seeds", seeds, "fresh seeds each winner and its defaults are retrained on"),
      field("Confirmation seeds", confirmSeeds, "further seeds the families are compared on"),
    ),
    error,
    h("div", { class: "form-actions" }, submit),
  );
  return form;
}

// ---------------------------------------------------------------- one comparison

export async function mountDetail(root, ctx, idText) {
  const id = Number(idText);
  const loading = h("p", { class: "muted", text: "Loading the comparison…" });
  root.appendChild(loading);
  let comparison;
  try {
    comparison = await api.get(`/comparisons/${id}`, null, { signal: ctx.signal });
  } catch (err) {
    if (isAbort(err) || !ctx.alive()) return;
    loading.remove();
    root.append(
      h("div", { class: "page-head" }, h("h1", { text: err.status === 404 ? "Comparison not found" : "Could not load the comparison" })),
      h("div", { class: "alert error", role: "alert", text: errorMessage(err) }),
      h("p", {}, h("a", { href: "#/comparisons" }, "Back to the comparisons")),
    );
    return;
  }
  if (!ctx.alive()) return;
  loading.remove();
  ctx.setTitle(comparison.name);

  const badge = h("span", { class: "badge-slot", id: "comparison-status" });
  const alert = h("div", { class: "alert error", role: "alert", hidden: true });
  const stopBtn = h("button", { type: "button", id: "cmp-stop", title: "Every study of the comparison stops: interleaved, each has spent about the same." }, "Stop");
  const deleteBtn = h("button", { type: "button", id: "cmp-delete", class: "danger" }, "Delete");
  const compareLink = h("a", { class: "button", id: "cmp-compare-link" }, "Compare the studies");
  const meta = h("p", { class: "meta muted" });
  const verdicts = h("ul", { class: "verdicts", id: "cmp-verdicts" });
  // the comparison's one answer, with the only line to paste on the page
  const advice = h("p", { class: "advice", id: "cmp-advice", hidden: true });
  const tbody = h("tbody");
  // the time to result: a chart of compute against test loss, and its sentences
  const budgetAxisSelect = h(
    "select",
    { id: "cmp-budget-x", "aria-label": "compute axis", onchange: () => drawBudget() },
    h("option", { value: "epochs" }, "epochs trained"),
    h("option", { value: "seconds" }, "seconds of training"),
  );
  const budgetPlot = h("div", { class: "compare-plot", id: "cmp-budget-plot" });
  const budgetNote = h("p", { class: "muted small", id: "cmp-budget-note" });
  const timeToResult = h("ul", { class: "verdicts", id: "cmp-time-to-result" });
  root.append(
    h("div", { class: "page-head" }, h("div", { class: "title" }, h("h1", { id: "comparison-name", text: comparison.name }), badge), h("div", { class: "actions" }, compareLink, stopBtn, deleteBtn)),
    meta,
    alert,
    h("section", { class: "panel" }, h("h2", { text: "Verdict" }), advice, verdicts),
    h(
      "section",
      { class: "panel flush" },
      h(
        "table",
        { class: "data comparison-table reflow", id: "comparison-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { text: "Optimizer" }),
            h("th", { text: "Study" }),
            h("th", { class: "progress-col", text: "Progress" }),
            h("th", { class: "num", text: "Validated mean [95 % CI]" }),
            h("th", { class: "num", text: "vs first", title: "relative gain over the first optimizer, seed by seed, 95 % CI" }),
            h("th", { text: "Best config" }),
            h("th", { class: "num", text: "Epochs", title: "compute: epochs its search and validation trials trained" }),
            h("th", { class: "num", text: "Training time", title: "compute: seconds its search and validation trials trained" }),
            h("th", { class: "num", text: "Wall time", title: "its search, start to end (shared with the studies it ran interleaved with)" }),
          ),
        ),
        tbody,
      ),
    ),
    h(
      "section",
      { class: "panel", id: "cmp-budget" },
      h("div", { class: "panel-head" }, h("h2", { text: "Time to result: test loss against compute" }), h("div", { class: "toolbar" }, budgetAxisSelect)),
      budgetNote,
      budgetPlot,
      timeToResult,
    ),
  );

  let timer = null;
  let budget = null; // GET /comparisons/{id}/budget, drawn by drawBudget
  let budgetState = ""; // the comparison's progress when `budget` was read
  let summaries = new Map(); // study id -> StudyPublic (progress and the search's best)
  const showError = (text) => {
    alert.hidden = !text;
    setText(alert, text);
  };

  function render(c) {
    comparison = c;
    const status = overallStatus(c);
    replace(badge, statusBadge(status));
    stopBtn.hidden = !(c.studies || []).some((r) => ACTIVE.has(r.status));
    compareLink.href = compareHref((c.studies || []).map((r) => r.study_id));
    const cfg = c.config || {};
    setText(
      meta,
      [`task ${c.task}`, `${cfg.n_trials} trials per optimizer`, cfg.epochs ? `${cfg.epochs} epochs` : "the task's epochs", cfg.sampler ? `sampler ${cfg.sampler}` : null, cfg.pruner ? `pruner ${cfg.pruner}` : null, `seed ${cfg.seed ?? 0}`, `picked on ${cfg.validate_seeds} fresh seeds, confirmed on ${cfg.confirm_seeds ?? 10} others`, `created ${fmtTime(c.created_at)}`]
        .filter(Boolean)
        .join(" · "),
    );
    advice.hidden = !c.advice;
    setText(advice, c.advice || "");
    const lines = c.verdicts || [];
    replace(
      verdicts,
      lines.length
        ? lines.map((v) => h("li", { text: v }))
        : h("li", { class: "muted", text: status === "running" ? "No verdict yet: each optimizer's winner is retrained on the same fresh seeds once its search ends, then compared with the first optimizer's." : "No verdict: the winners were not all validated on the same seeds." }),
    );
    replace(tbody, (c.studies || []).map((r, i) => detailRow(r, summaries.get(r.study_id), i === 0)));
    labelCells(tbody.closest("table"));
  }

  let reading = null; // the refresh in flight: Delete aborts it first (no 404 after the delete)
  async function refresh() {
    reading?.abort();
    const mine = new AbortController();
    reading = mine;
    const leave = () => mine.abort();
    ctx.signal.addEventListener("abort", leave, { once: true });
    const signal = mine.signal;
    try {
      const c = await api.get(`/comparisons/${id}`, null, { signal });
      // the budget is rebuilt on the server from the same report: ask again only when a search
      // or a validation moved since the last answer (a finished comparison asks once)
      const state = JSON.stringify([c.status, (c.studies || []).map((r) => [r.status, r.epochs_trained, r.search_s, r.validation_status, r.validation_epochs])]);
      const [found, spent] = await Promise.all([
        Promise.all((c.studies || []).map((r) => api.get(`/studies/${r.study_id}`, null, { signal }).catch((err) => (isAbort(err) ? Promise.reject(err) : null)))),
        budget && state === budgetState ? null : api.get(`/comparisons/${id}/budget`, null, { signal }).catch((err) => (isAbort(err) ? Promise.reject(err) : null)),
      ]);
      if (!ctx.alive()) return;
      summaries = new Map(found.filter(Boolean).map((s) => [s.id, s]));
      render(c);
      if (spent) {
        budget = spent;
        budgetState = state;
        drawBudget();
      }
    } catch (err) {
      if (isAbort(err) || !ctx.alive()) return;
      showError(`Could not refresh the comparison: ${errorMessage(err)}`);
    } finally {
      ctx.signal.removeEventListener("abort", leave);
    }
  }

  stopBtn.addEventListener("click", async () => {
    stopBtn.disabled = true;
    showError("");
    try {
      const c = await api.post(`/comparisons/${id}/stop`, undefined, { signal: ctx.signal });
      if (ctx.alive()) render(c);
    } catch (err) {
      if (isAbort(err) || !ctx.alive()) return;
      showError(`Could not stop the comparison: ${errorMessage(err)}`);
    } finally {
      stopBtn.disabled = false;
    }
  });
  deleteBtn.addEventListener("click", async () => {
    if (!window.confirm(`Delete "${comparison.name}" with its ${comparison.studies.length} studies, their trials and validations? This cannot be undone.`)) return;
    deleteBtn.disabled = true;
    clearInterval(timer);
    reading?.abort();
    try {
      await api.del(`/comparisons/${id}`, { signal: ctx.signal });
      if (ctx.alive()) location.hash = "#/comparisons";
    } catch (err) {
      if (isAbort(err) || !ctx.alive()) return;
      deleteBtn.disabled = false;
      showError(`Could not delete the comparison: ${errorMessage(err)}`);
    }
  });

  /** The budget chart and the time-to-result sentences, from `budget` (budget_data.js). */
  async function drawBudget() {
    if (!budget) return;
    setText(budgetNote, budget.note || "");
    replace(timeToResult, (budget.time_to_result || []).map((line) => h("li", { text: line })));
    const axis = budgetAxisSelect.value;
    const series = budgetSeries(budget, axis);
    const empty = !series.searches.length && !series.points.length;
    budgetPlot.hidden = empty;
    let Plotly;
    try {
      Plotly = await ensurePlotly();
    } catch (err) {
      showError(`Could not draw the time to result: ${errorMessage(err)}`);
      return;
    }
    if (!ctx.alive()) return;
    if (empty) {
      Plotly.purge(budgetPlot);
      return;
    }
    await Plotly.react(budgetPlot, budgetTraces(series, axis), budgetLayout(series, axis), PLOT_CONFIG);
  }

  render(comparison);
  refresh();
  timer = setInterval(() => {
    if (!document.hidden && overallStatus(comparison) === "running") refresh();
  }, REFRESH_MS);
  const unsubscribe = onThemeChange(() => drawBudget());
  ctx.onCleanup(() => {
    clearInterval(timer);
    unsubscribe();
    if (window.Plotly) window.Plotly.purge(budgetPlot);
  });
}

/** Plotly traces of the budget series: a step curve per search (dotted: its own seed), each
 * validated point with its 95 % CI (diamonds: tuned picks; squares: one-shot runs), a star where
 * a search reached the target, and the target as a dashed line. */
function budgetTraces(series, axis) {
  const c = palette();
  const colour = (i) => c.colorway[i % c.colorway.length];
  const at = axis === "seconds" ? "%{x:.1f} s" : "%{x} epochs";
  const traces = [];
  for (const s of series.searches) {
    traces.push({
      type: "scatter",
      mode: s.x.length <= 2 ? "lines+markers" : "lines",
      name: s.name,
      x: s.x,
      y: s.y,
      text: s.trial.map((n, i) => `trial ${n}: best ${fmtNum(s.y[i])}`),
      line: { color: colour(s.index), width: 2, shape: "hv", dash: "dot" },
      marker: { color: colour(s.index), size: 5 },
      hovertemplate: `%{fullData.name}<br>${at}: %{text}<extra></extra>`,
      meta: { optimizer: s.optimizer, role: "search" },
    });
    if (s.reach) {
      traces.push({
        type: "scatter",
        mode: "markers",
        name: `${s.label}: search reached the target`,
        x: [s.reach.x],
        y: [s.reach.y],
        marker: { color: colour(s.index), size: 13, symbol: "star" },
        text: [`trial ${s.reach.trial}`],
        hovertemplate: `%{fullData.name}<br>${at}, %{text}<extra></extra>`,
        meta: { optimizer: s.optimizer, role: "reach" },
      });
    }
  }
  for (const p of series.points) {
    traces.push({
      type: "scatter",
      mode: "markers",
      name: p.name,
      x: [p.x],
      y: [p.y],
      error_y: { type: "data", symmetric: false, array: [p.high - p.y], arrayminus: [p.y - p.low], color: colour(p.index), thickness: 1.5, width: 6 },
      marker: { color: colour(p.index), size: 11, symbol: p.oneShot ? "square" : "diamond" },
      text: [`${p.label}: ${fmtNum(p.y)} [${fmtNum(p.low)}, ${fmtNum(p.high)}], n=${p.n}`],
      hovertemplate: `%{fullData.name}<br>${at}: %{text}<extra></extra>`,
      meta: { optimizer: p.optimizer, role: p.oneShot ? "one-shot" : "validated" },
    });
  }
  if (series.target) {
    traces.push({
      type: "scatter",
      mode: "lines",
      name: series.target.name,
      x: series.target.x,
      y: [series.target.y, series.target.y],
      line: { color: c.muted, width: 1.5, dash: "dash" },
      hovertemplate: `%{fullData.name}: ${fmtNum(series.target.y)}<extra></extra>`,
      meta: { role: "target" },
    });
  }
  return traces;
}

function budgetLayout(series, axis) {
  const log = logAxis(series);
  const xs = [...series.searches.flatMap((s) => s.x), ...series.points.map((p) => p.x)];
  return lineChartLayout({
    height: 360,
    xaxis: { title: { text: axisTitle(axis) }, ...(log ? { type: "log", ...logTicksOf(xs, 600, 60) } : { type: "linear" }) },
    yaxis: { title: { text: "held-out test loss" }, type: "linear" },
    uirevision: "budget",
  });
}

function detailRow(r, summary, reference) {
  const w = r.winner;
  const mean = w && w.mean !== null ? `${fmtNum(w.mean)} [${fmtNum(w.ci_low)}, ${fmtNum(w.ci_high)}]` : r.validation_status ? `validation ${r.validation_status}` : "not validated yet";
  const gain = reference ? "reference" : r.gain !== null && r.gain !== undefined ? `${fmtGain(r.gain)} [${fmtGain(r.gain_low)}, ${fmtGain(r.gain_high)}]` : "–";
  let config;
  if (w?.params) {
    // the family's confirmed config as settings; the one line to paste is the advice's
    config = h(
      "span",
      { class: "small mono", dataset: { confirmed: String(!!r.confirmed) } },
      Object.keys(w.params)
        .sort()
        .map((k) => `${PARAM_LABELS[k] || k} ${fmtParam(k, w.params[k])}`)
        .join(", "),
      h("span", { class: "muted", text: w.label === "default" ? " (its defaults)" : ` (${w.label})` }),
    );
  } else if (summary?.best?.params) {
    const p = summary.best.params;
    config = h(
      "span",
      { class: "small" },
      Object.keys(p)
        .sort()
        .map((k) => `${PARAM_LABELS[k] || k} ${fmtParam(k, p[k])}`)
        .join(", "),
      h("span", { class: "muted", text: " (search, not validated)" }),
    );
  } else config = h("span", { class: "muted", text: "–" });
  return h(
    "tr",
    { dataset: { optimizer: r.optimizer, studyId: r.study_id } },
    h("td", { class: "name", text: `${r.label || r.optimizer}${r.one_shot ? " (one-shot)" : ""}`, title: r.one_shot ? "its published defaults, no search" : "" }),
    h("td", {}, h("a", { href: `#/studies/${r.study_id}` }, `study ${r.study_id}`), " ", statusBadge(r.status)),
    h("td", { class: "progress-col" }, summary ? progressBar(summary.progress, summary.n_trials) : "–"),
    h("td", { class: "num mono validated", text: mean, title: w ? `n = ${w.n} seeds` : "" }),
    h("td", { class: `num mono ${r.gain > 0 ? "good" : r.gain < 0 ? "bad" : ""}`, text: gain, title: r.wins !== null && r.wins !== undefined ? `better on ${r.wins} of ${w?.n ?? "?"} seeds` : "" }),
    h("td", { class: "config" }, config),
    h("td", { class: "num mono compute-epochs", text: String(r.total_epochs ?? r.epochs_trained ?? "–"), title: `search ${r.epochs_trained ?? 0} + validation ${r.validation_epochs ?? 0}` }),
    h("td", { class: "num mono compute-time", text: fmtDuration(r.total_s), title: `search ${fmtDuration(r.search_s)} + validation ${fmtDuration(r.validation_s)}` }),
    h("td", { class: "num mono", text: fmtDuration(r.wall_s) }),
  );
}
