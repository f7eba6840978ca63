// Studies list: auto-refreshing table with progress, best value and gain over default Adam.
import { api, errorMessage, isAbort } from "../api.js";
import { h, replace, setText } from "../dom.js";
import { fmtAgo, fmtGain, fmtNum, fmtTime } from "../format.js";
import { progressBar, statusBadge } from "../widgets.js";

const REFRESH_MS = 3000;

export function mount(root, ctx) {
  const error = h("div", { class: "alert error", role: "alert", hidden: true });
  const tbody = h("tbody");
  const empty = h(
    "div",
    { class: "empty", hidden: true },
    h("p", { text: "No studies yet." }),
    h("a", { class: "button primary", href: "#/new" }, "Create the first study"),
  );
  const table = h(
    "table",
    { class: "data studies-table", hidden: true },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { text: "Name" }),
        h("th", { text: "Task" }),
        h("th", { text: "Status" }),
        h("th", { class: "progress-col", text: "Progress" }),
        h("th", { class: "num", text: "Best" }),
        h("th", { class: "num", text: "Gain vs default Adam", title: "(baseline − best) / baseline for a minimised metric" }),
        h("th", { text: "Created" }),
      ),
    ),
    tbody,
  );
  const loading = h("p", { class: "muted", text: "Loading studies…" });

  root.append(
    h(
      "div",
      { class: "page-head" },
      h("h1", { text: "Studies" }),
      h("a", { class: "button primary", href: "#/new" }, "New study"),
    ),
    error,
    h("section", { class: "panel flush" }, loading, table, empty),
  );

  async function refresh() {
    if (document.hidden && table.hidden === false) return; // keep quiet in a background tab
    try {
      const data = await api.get("/studies", null, { signal: ctx.signal });
      if (!ctx.alive()) return;
      const studies = (data && data.studies) || [];
      loading.hidden = true;
      error.hidden = true;
      table.hidden = studies.length === 0;
      empty.hidden = studies.length > 0;
      replace(tbody, studies.map(row));
    } catch (err) {
      if (isAbort(err) || !ctx.alive()) return;
      loading.hidden = true;
      error.hidden = false;
      setText(error, `Could not load the studies: ${errorMessage(err)}`);
    }
  }

  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  ctx.onCleanup(() => clearInterval(timer));
}

function row(study) {
  const href = `#/studies/${encodeURIComponent(study.id)}`;
  const p = study.progress || {};
  const tr = h(
    "tr",
    {
      class: "clickable",
      dataset: { studyId: study.id },
      onclick: (event) => {
        if (event.target.closest("a")) return;
        location.hash = href;
      },
    },
    h(
      "td",
      { class: "name" },
      h("a", { href }, study.name || `study ${study.id}`),
      study.read_only && study.status !== "read_only" ? h("span", { class: "tag", title: "Written by another Optuna script: view only", text: "read-only" }) : null,
    ),
    h("td", { text: study.task || "–" }),
    h("td", {}, statusBadge(study.status)),
    h("td", { class: "progress-col" }, progressBar(p, study.n_trials)),
    h("td", { class: "num mono", text: study.best ? fmtNum(study.best.value) : "–" }),
    h("td", { class: `num mono ${gainClass(study.gain)}`, text: fmtGain(study.gain) }),
    h("td", { title: study.created_at ? fmtTime(study.created_at) : "", text: fmtAgo(study.created_at) }),
  );
  return tr;
}

function gainClass(gain) {
  if (gain === null || gain === undefined) return "";
  return gain > 0 ? "good" : gain < 0 ? "bad" : "";
}
