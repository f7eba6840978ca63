// Analysis figures (GET /figures/{kind}): the shown one reloaded at most every ~5 s as trials finish.
//
// The server builds Adam-aware figures (betas on a 1 − β log axis labelled β, the metric's name
// on the axes) and lists the parameters it can show in `layout.meta.params`; this panel adds the
// pickers (which parameters, which contour pair), the history's "include pruned" and "log y",
// the page's colours in both themes, and brushing in parallel coordinates, which selects trials
// in the trials table.
import { api, errorMessage, isAbort } from "./api.js";
import { h, replace, setText, throttle } from "./dom.js";
import { logTicksOf, trialAxis } from "./format.js";
import { PLOT_CONFIG, ensurePlotly, palette, themedLayout } from "./plot.js";

export const KINDS = [
  { kind: "history", label: "History", needs: 1 },
  { kind: "parallel_coordinate", label: "Parallel coordinates", needs: 1, pick: "many" },
  { kind: "importances", label: "Importances", needs: 2 },
  { kind: "contour", label: "Contour", needs: 2, pick: "pair" },
  { kind: "slice", label: "Slice", needs: 1, pick: "many" },
  { kind: "edf", label: "EDF", needs: 1 },
  { kind: "timeline", label: "Timeline", needs: 1 },
];
const REFRESH_MS = 5000;
const ROLES = { complete: "complete", pruned: "pruned", fail: "failed", running: "running", best: "best", baseline: "baseline" };

/**
 * The slice figure's log x axes (lr, eps: one narrow subplot each) get ticks of their own, as
 * many as the subplot's width holds, written as numbers: Plotly's collided ("1e-51e-4").
 */
function spaceLogTicks(data, layout, width) {
  for (const key of Object.keys(layout)) {
    const axis = layout[key];
    if (!/^xaxis\d*$/.test(key) || axis?.type !== "log") continue;
    const [a, b] = axis.domain || [0, 1];
    const px = Math.max(40, width * (b - a) - 20);
    if (Array.isArray(axis.tickvals)) {
      // the server's ticks (β on 1 − β): every k-th where the subplot is narrow
      const k = Math.ceil(axis.tickvals.length / Math.max(2, Math.floor(px / 45)));
      const keep = (_, i) => i % k === 0;
      layout[key] = { ...axis, tickvals: axis.tickvals.filter(keep), ticktext: (axis.ticktext || []).filter(keep) };
      continue;
    }
    const ref = `x${key.slice(5)}`;
    const xs = data.filter((t) => (t.xaxis || "x") === ref).flatMap((t) => t.x || []);
    const ticks = logTicksOf(xs, px, 55);
    if (ticks.tickvals && px < 110) {
      // room for one label only (a phone's subplot): the middle one
      const mid = Math.floor((ticks.tickvals.length - 1) / 2);
      ticks.tickvals = [ticks.tickvals[mid]];
      ticks.ticktext = [ticks.ticktext[mid]];
    }
    layout[key] = { ...axis, ...ticks };
  }
}

/**
 * @param {HTMLElement} container where the panel goes
 * @param {{studyId, ctx, getStudy: () => object}} opts
 */
export function createFigures(container, { studyId, ctx, getStudy }) {
  let active = "history";
  const stale = new Set(KINDS.map((k) => k.kind));
  const figures = new Map(); // kind -> last {data, layout}
  const picked = new Map(); // kind -> chosen parameter names (Optuna's), null: the default
  let known = []; // [{name, label}] of the study's parameters, from the last figure
  let includePruned = true;
  let logY = false;
  let seq = 0;
  let abort = null;
  let selectionListener = null;

  const plot = h("div", { class: "figure-plot", id: "figure-plot" });
  const message = h("div", { class: "figure-message muted", role: "status", hidden: true });
  const controls = h("div", { class: "figure-controls toolbar", id: "figure-controls" });
  const tabs = KINDS.map(({ kind, label }) =>
    h("button", { type: "button", class: "tab", role: "tab", dataset: { kind }, onclick: () => select(kind) }, label),
  );
  const panel = h(
    "section",
    { class: "panel figures" },
    h("div", { class: "panel-head" }, h("h2", { text: "Analysis" }), h("div", { class: "tabs", role: "tablist" }, tabs)),
    controls,
    message,
    plot,
  );
  container.appendChild(panel);

  function select(kind) {
    active = kind;
    plot.dataset.kind = kind;
    for (const t of tabs) t.setAttribute("aria-selected", String(t.dataset.kind === kind));
    renderControls();
    if (figures.has(kind) && !stale.has(kind)) draw(kind);
    else load(kind);
  }

  function showMessage(text) {
    setText(message, text);
    message.hidden = false;
    plot.hidden = true;
    if (window.Plotly) window.Plotly.purge(plot);
    delete plot.dataset.listening; // purge dropped the listeners
  }

  // ---------- controls ----------

  function renderControls() {
    const spec = KINDS.find((k) => k.kind === active);
    const parts = [];
    if (active === "history") {
      parts.push(
        h("label", { class: "check" }, h("input", { type: "checkbox", id: "history-pruned", checked: includePruned, onchange: (e) => ((includePruned = e.target.checked), draw("history")) }), " include pruned"),
        h("label", { class: "check" }, h("input", { type: "checkbox", id: "history-logy", checked: logY, onchange: (e) => ((logY = e.target.checked), draw("history")) }), " log y"),
      );
    }
    if (spec.pick === "pair" && known.length >= 2) {
      const pair = picked.get(active) || currentPair();
      const choose = (axis, value) =>
        h(
          "select",
          {
            id: `contour-${axis}`,
            "aria-label": `contour ${axis} axis`,
            onchange: (e) => {
              const next = [...pair];
              next[axis === "x" ? 0 : 1] = e.target.value;
              if (next[0] === next[1]) next[axis === "x" ? 1 : 0] = pair[axis === "x" ? 0 : 1];
              picked.set("contour", next);
              reload("contour");
            },
          },
          known.map((p) => h("option", { value: p.name, selected: p.name === value }, p.label)),
        );
      parts.push(h("span", { class: "muted small", text: "x" }), choose("x", pair[0]), h("span", { class: "muted small", text: "y" }), choose("y", pair[1]));
    }
    if (spec.pick === "many" && known.length >= 2) {
      const chosen = new Set(picked.get(active) || known.map((p) => p.name));
      parts.push(
        h("span", { class: "muted small", text: "parameters" }),
        known.map((p) =>
          h(
            "label",
            { class: "check" },
            h("input", {
              type: "checkbox",
              dataset: { param: p.name },
              checked: chosen.has(p.name),
              onchange: (e) => {
                if (e.target.checked) chosen.add(p.name);
                else chosen.delete(p.name);
                if (!chosen.size) {
                  e.target.checked = true;
                  chosen.add(p.name);
                  return;
                }
                const names = known.map((k) => k.name).filter((n) => chosen.has(n));
                picked.set(active, names.length === known.length ? null : names);
                reload(active);
              },
            }),
            ` ${p.label}`,
          ),
        ),
      );
    }
    if (active === "parallel_coordinate") {
      parts.push(h("span", { class: "muted small hint", text: "drag along an axis to select trials in the table" }));
    }
    replace(controls, parts);
    controls.hidden = !parts.length;
  }

  function currentPair() {
    const fig = figures.get("contour");
    const fromFig = fig?.layout?.meta?.pair;
    if (Array.isArray(fromFig) && fromFig.length === 2) return fromFig;
    return known.slice(0, 2).map((p) => p.name);
  }

  function reload(kind) {
    stale.add(kind);
    if (kind === active) load(kind);
  }

  // ---------- theming: the page's colours, in both themes ----------

  function themed(kind, fig) {
    const c = palette();
    const data = (fig.data || []).map((trace) => {
      const t = { ...trace };
      const role = t.meta && t.meta.role;
      if (role && ROLES[role]) {
        const color = { complete: c.colorway[0], pruned: c.pruned, fail: c.failed, running: c.running, best: c.best, baseline: c.baseline }[role];
        if (t.type === "bar") t.marker = { ...(t.marker || {}), color };
        else {
          if (t.marker) t.marker = { ...t.marker, color: t.marker.color && role === "complete" && Array.isArray(t.marker.color) ? t.marker.color : color };
          if (t.line) t.line = { ...t.line, color };
        }
        if (kind === "history" && role === "pruned") t.visible = includePruned;
      }
      if (t.type === "parcoords") {
        t.line = { ...t.line, colorscale: c.scale };
        if (t.line.colorbar) t.line.colorbar = { ...t.line.colorbar, tickfont: { color: c.fg }, title: { ...(t.line.colorbar.title || {}), font: { color: c.fg } } };
        t.labelfont = { color: c.fg, size: 12 };
        t.tickfont = { color: c.fg, size: 10, shadow: "none" };
        t.rangefont = { color: "rgba(0,0,0,0)", size: 1 }; // raw range ends: the ticks say it
      }
      if (t.type === "contour" && t.colorbar) t.colorbar = { ...t.colorbar, tickfont: { color: c.fg } };
      if (t.marker && t.marker.colorbar) t.marker = { ...t.marker, colorbar: { ...t.marker.colorbar, tickfont: { color: c.fg } } };
      return t;
    });
    const layout = themedLayout(fig.layout);
    if (layout.title) layout.title = { ...layout.title, font: { size: 14, color: c.fg }, x: 0, xanchor: "left", y: 0.98, yanchor: "top" };
    layout.margin = { ...layout.margin, t: Math.max(fig.layout?.margin?.t ?? 0, layout.title ? 44 : 20) };
    layout.meta = fig.layout?.meta;
    if (kind === "history") {
      const ys = data.filter((t) => t.visible !== false).flatMap((t) => t.y || []);
      const ticks = logY ? logTicksOf(ys, (plot.clientHeight || 450) - 100) : { tickmode: "auto" };
      layout.yaxis = { ...layout.yaxis, type: logY ? "log" : "linear", autorange: true, ...ticks };
      // the x axis is the trial number: integer ticks (4 trials read "0 1 1 2 2 3 3")
      const last = Math.max(0, ...data.flatMap((t) => (t.x || []).filter(Number.isFinite)));
      layout.xaxis = { ...layout.xaxis, ...trialAxis(last, (plot.clientWidth || 800) - 100) };
    }
    if (kind === "slice") spaceLogTicks(data, layout, plot.clientWidth || 800);
    if (layout.legend) layout.legend = { ...layout.legend, font: { color: c.fg }, bgcolor: "rgba(0,0,0,0)" };
    layout.annotations = (layout.annotations || []).map((a) => ({ ...a, font: { ...(a.font || {}), color: c.muted } }));
    layout.paper_bgcolor = "rgba(0,0,0,0)";
    layout.plot_bgcolor = "rgba(0,0,0,0)";
    return { data, layout };
  }

  // ---------- brushing ----------

  function brushed() {
    const trace = plot.data?.[0];
    if (!trace || trace.type !== "parcoords") return null;
    const trials = trace.meta?.trials || [];
    let keep = trials.map(() => true);
    let any = false;
    for (const dim of trace.dimensions || []) {
      const cr = dim.constraintrange;
      if (!cr || !cr.length) continue;
      any = true;
      const ranges = Array.isArray(cr[0]) ? cr : [cr];
      keep = keep.map((k, i) => k && ranges.some(([a, b]) => dim.values[i] >= Math.min(a, b) && dim.values[i] <= Math.max(a, b)));
    }
    return any ? trials.filter((_, i) => keep[i]) : null;
  }

  const announceBrush = throttle(() => {
    if (!ctx.alive() || active !== "parallel_coordinate") return;
    selectionListener?.(brushed(), "parallel coordinates");
  }, 250);

  // ---------- loading ----------

  async function draw(kind) {
    const fig = figures.get(kind);
    if (!fig) return;
    const Plotly = await ensurePlotly();
    if (!ctx.alive() || kind !== active) return;
    message.hidden = true;
    plot.hidden = false;
    const { data, layout } = themed(kind, fig);
    await Plotly.react(plot, data, layout, PLOT_CONFIG);
    if (!plot.dataset.listening && plot.on) {
      plot.dataset.listening = "1";
      plot.on("plotly_restyle", () => announceBrush());
    }
  }

  async function load(kind) {
    const spec = KINDS.find((k) => k.kind === kind);
    const study = getStudy() || {};
    const p = study.progress || {};
    const have = p.complete || 0;
    stale.delete(kind);
    if (have < spec.needs) {
      figures.delete(kind);
      showMessage(
        spec.needs === 1
          ? "This figure appears once a trial has completed."
          : `This figure needs at least ${spec.needs} complete trials (${have} so far).`,
      );
      return;
    }
    const mine = ++seq;
    if (abort) abort.abort();
    abort = new AbortController();
    const onLeave = () => abort && abort.abort();
    ctx.signal.addEventListener("abort", onLeave, { once: true });
    if (!figures.has(kind)) showMessage("Loading…");
    const names = picked.get(kind);
    try {
      const fig = await api.get(`/studies/${studyId}/figures/${kind}`, names ? { params: names.join(",") } : null, { signal: abort.signal });
      if (mine !== seq || !ctx.alive()) return;
      figures.set(kind, fig || {});
      const listed = fig?.layout?.meta?.params;
      if (Array.isArray(listed) && listed.length && JSON.stringify(listed) !== JSON.stringify(known)) {
        known = listed;
        if (kind === active) renderControls();
      } else if (kind === active && kind === "contour") renderControls();
      if (kind === active) await draw(kind);
    } catch (err) {
      if (isAbort(err) || mine !== seq || !ctx.alive()) return;
      figures.delete(kind);
      if (kind === active) showMessage(`Not available yet: ${errorMessage(err)}`);
    } finally {
      ctx.signal.removeEventListener("abort", onLeave);
    }
  }

  // the visible tab's figure follows the trials wherever the panel is on the page: waiting for
  // it to scroll into view left "appears once a trial has completed" up after 20 trials
  const refreshNow = throttle(() => {
    if (!ctx.alive()) return;
    if (!document.hidden) load(active);
  }, REFRESH_MS);
  const onShown = () => {
    if (!document.hidden && stale.has(active)) refreshNow();
  };
  document.addEventListener("visibilitychange", onShown);
  ctx.onCleanup(() => document.removeEventListener("visibilitychange", onShown));
  ctx.onCleanup(() => {
    refreshNow.cancel();
    announceBrush.cancel();
    if (abort) abort.abort();
    if (window.Plotly) window.Plotly.purge(plot);
  });

  select(active);

  return {
    /** Trials finished: every figure is out of date; reload the visible one (throttled). */
    refresh() {
      for (const k of KINDS) stale.add(k.kind);
      refreshNow();
    },
    retheme() {
      if (figures.has(active)) draw(active);
    },
    /** `fn(numbers | null, label)` whenever a brush selects trials (null: cleared). */
    onSelection(fn) {
      selectionListener = fn;
    },
  };
}
