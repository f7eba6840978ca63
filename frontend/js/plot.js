// Plotly loading (served by the backend, never from a CDN) and light/dark theming.

import { AXIS_NUMBERS } from "./format.js";

let loading = null;

/** Load /vendor/plotly.min.js once; resolves to window.Plotly. */
export function ensurePlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "vendor/plotly.min.js";
      script.async = true;
      script.onload = () =>
        window.Plotly ? resolve(window.Plotly) : reject(new Error("Plotly did not load"));
      script.onerror = () => {
        loading = null;
        script.remove();
        reject(new Error("could not load vendor/plotly.min.js"));
      };
      document.head.appendChild(script);
    });
  }
  return loading;
}

const darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

export function isDark() {
  return !!(darkQuery && darkQuery.matches);
}

/** Call `fn` when the system theme changes; returns an unsubscribe function. */
export function onThemeChange(fn) {
  if (!darkQuery) return () => {};
  const listener = () => fn(isDark());
  darkQuery.addEventListener("change", listener);
  return () => darkQuery.removeEventListener("change", listener);
}

/**
 * Okabe & Ito's palette ("Color Universal Design", 2008): told apart by readers with any common
 * colour-vision deficiency. Every chart's series colours come from it (the validation chart's
 * orange and red were hard to tell apart); vermillion comes late, far from orange.
 */
export const OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
const SERIES_LIGHT = [0, 1, 2, 3, 4, 5].map((i) => OKABE_ITO[i]);
// on the near-black page the dark blue recedes: sky blue leads
const SERIES_DARK = [4, 1, 2, 3, 6, 5].map((i) => OKABE_ITO[i]);

export function palette() {
  return isDark()
    ? {
        fg: "#e6e8ec",
        muted: "#9aa3b2",
        grid: "#2c313b",
        zero: "#4a5160",
        bg: "#171a21",
        complete: "rgba(110, 168, 255, 0.75)",
        running: "rgba(45, 212, 191, 0.95)",
        pruned: "rgba(150, 158, 172, 0.45)",
        failed: "rgba(255, 100, 100, 0.8)",
        best: "#ffb020",
        baseline: "#ffffff",
        highlight: "#e879f9",
        off: "#ff7b7b",
        // parallel coordinates: the best lines the most salient, the worst fading into the page
        scale: [[0, "#ffb020"], [0.2, "#6ea8ff"], [1, "#39404d"]],
        colorway: SERIES_DARK,
      }
    : {
        fg: "#1f2328",
        muted: "#5b6472",
        grid: "#e6e8ec",
        zero: "#c4c9d2",
        bg: "#ffffff",
        complete: "rgba(37, 99, 235, 0.7)",
        running: "rgba(13, 148, 136, 0.95)",
        pruned: "rgba(120, 128, 140, 0.45)",
        failed: "rgba(220, 38, 38, 0.75)",
        best: "#e8590c",
        baseline: "#000000",
        highlight: "#a21caf",
        off: "#dc2626",
        scale: [[0, "#e8590c"], [0.2, "#2563eb"], [1, "#d5dae2"]],
        colorway: SERIES_LIGHT,
      };
}

/** A Plotly layout template matching the page theme (figure layouts still override it). */
export function themeTemplate() {
  const c = palette();
  const axis = {
    gridcolor: c.grid,
    linecolor: c.zero,
    zerolinecolor: c.zero,
    tickcolor: c.zero,
    color: c.fg,
    automargin: true,
    ...AXIS_NUMBERS,
  };
  return {
    layout: {
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { color: c.fg, family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12 },
      colorway: c.colorway,
      xaxis: axis,
      yaxis: axis,
      polar: { bgcolor: "rgba(0,0,0,0)" },
      hoverlabel: {
        bgcolor: c.bg,
        bordercolor: c.zero,
        font: { color: c.fg, family: "ui-monospace, SFMono-Regular, Menlo, monospace", size: 12 },
      },
      legend: { bgcolor: "rgba(0,0,0,0)" },
    },
  };
}

/**
 * Re-theme a figure returned by the API: drop its own template (Python plotly embeds the light
 * "plotly" one) and colours that would clash with the page background.
 */
export function themedLayout(layout) {
  const out = { ...(layout || {}) };
  out.template = themeTemplate();
  delete out.paper_bgcolor;
  delete out.plot_bgcolor;
  out.font = { ...(out.font || {}), color: palette().fg };
  out.autosize = true;
  delete out.width;
  out.margin = { l: 60, r: 30, t: out.title ? 50 : 20, b: 50, ...(out.margin || {}) };
  // every axis writes numbers as the rest of the page does (figures bring xaxis2, yaxis3...)
  for (const key of Object.keys(out)) {
    if (/^[xy]axis\d*$/.test(key)) out[key] = { ...AXIS_NUMBERS, ...out[key], color: palette().fg, gridcolor: palette().grid };
  }
  return out;
}

/**
 * The layout of the pages' own line charts (compare, comparison budget): themed, a legend on
 * top, closest-point hover, and the user's zoom kept through live redraws (`uirevision`).
 */
export function lineChartLayout({ height, xaxis, yaxis, uirevision }) {
  return {
    template: themeTemplate(),
    autosize: true,
    height,
    margin: { l: 60, r: 20, t: 30, b: 50 },
    showlegend: true,
    legend: { orientation: "h", x: 0, y: 1, yanchor: "bottom", font: { color: palette().fg } },
    xaxis,
    yaxis,
    hovermode: "closest",
    uirevision,
  };
}

export const PLOT_CONFIG = {
  responsive: true,
  displaylogo: false,
  modeBarButtonsToRemove: ["lasso2d", "select2d"],
};
