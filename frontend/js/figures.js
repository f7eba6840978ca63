// Optuna analysis figures (GET /figures/{kind}), refreshed at most every ~5 s while visible.
import { api, errorMessage, isAbort } from "./api.js";
import { h, setText, throttle } from "./dom.js";
import { PLOT_CONFIG, ensurePlotly, themedLayout } from "./plot.js";

export const KINDS = [
  { kind: "history", label: "History", needs: 1 },
  { kind: "parallel_coordinate", label: "Parallel coordinates", needs: 1 },
  { kind: "importances", label: "Importances", needs: 2 },
  { kind: "contour", label: "Contour", needs: 2 },
  { kind: "slice", label: "Slice", needs: 1 },
  { kind: "edf", label: "EDF", needs: 1 },
  { kind: "timeline", label: "Timeline", needs: 1 },
];
const REFRESH_MS = 5000;

/**
 * @param {HTMLElement} container where the panel goes
 * @param {{studyId, ctx, getStudy: () => object}} opts
 */
export function createFigures(container, { studyId, ctx, getStudy }) {
  let active = "history";
  const stale = new Set(KINDS.map((k) => k.kind));
  const figures = new Map(); // kind -> last {data, layout}
  let visible = false;
  let seq = 0;
  let abort = null;

  const plot = h("div", { class: "figure-plot", id: "figure-plot" });
  const message = h("div", { class: "figure-message muted", role: "status", hidden: true });
  const tabs = KINDS.map(({ kind, label }) =>
    h("button", { type: "button", class: "tab", role: "tab", dataset: { kind }, onclick: () => select(kind) }, label),
  );
  const panel = h(
    "section",
    { class: "panel figures" },
    h("div", { class: "panel-head" }, h("h2", { text: "Analysis" }), h("div", { class: "tabs", role: "tablist" }, tabs)),
    message,
    plot,
  );
  container.appendChild(panel);

  function select(kind) {
    active = kind;
    plot.dataset.kind = kind;
    for (const t of tabs) t.setAttribute("aria-selected", String(t.dataset.kind === kind));
    if (figures.has(kind) && !stale.has(kind)) draw(kind);
    else load(kind);
  }

  function showMessage(text) {
    setText(message, text);
    message.hidden = false;
    plot.hidden = true;
    if (window.Plotly) window.Plotly.purge(plot);
  }

  async function draw(kind) {
    const fig = figures.get(kind);
    if (!fig) return;
    const Plotly = await ensurePlotly();
    if (!ctx.alive() || kind !== active) return;
    message.hidden = true;
    plot.hidden = false;
    await Plotly.react(plot, fig.data || [], themedLayout(fig.layout), PLOT_CONFIG);
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
    try {
      const fig = await api.get(`/studies/${studyId}/figures/${kind}`, null, { signal: abort.signal });
      if (mine !== seq || !ctx.alive()) return;
      figures.set(kind, fig || {});
      if (kind === active) await draw(kind);
    } catch (err) {
      if (isAbort(err) || mine !== seq || !ctx.alive()) return;
      figures.delete(kind);
      if (kind === active) showMessage(`Not available yet: ${errorMessage(err)}`);
    } finally {
      ctx.signal.removeEventListener("abort", onLeave);
    }
  }

  const refreshNow = throttle(() => {
    if (!ctx.alive()) return;
    if (visible && !document.hidden) load(active);
  }, REFRESH_MS);

  if ("IntersectionObserver" in window) {
    const io = new IntersectionObserver((entries) => {
      visible = entries.some((e) => e.isIntersecting);
      if (visible && stale.has(active)) refreshNow();
    });
    io.observe(panel);
    ctx.onCleanup(() => io.disconnect());
  } else {
    visible = true;
  }
  ctx.onCleanup(() => {
    refreshNow.cancel();
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
  };
}
