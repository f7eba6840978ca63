// Studies list: auto-refreshing table with progress, best value, gain over default Adam and the
// validated gain; tick studies to open them side by side on the compare page.
import { api, errorMessage, isAbort } from "../api.js";
import { compareHref, validated } from "../compare_data.js";
import { h, labelCells, replace, setText } from "../dom.js";
import { fmtAgo, fmtGain, fmtNum, fmtTime } from "../format.js";
import { progressBar, statusBadge } from "../widgets.js";

const REFRESH_MS = 3000;

export function mount(root, ctx) {
  const ticked = new Set(); // study ids, kept across refreshes
  const compareBtn = h("button", { type: "button", id: "btn-compare", disabled: true, title: "Tick two or more studies of the same direction" }, "Compare");
  const updateCompare = () => {
    compareBtn.disabled = ticked.size < 2;
    setText(compareBtn, ticked.size ? `Compare (${ticked.size})` : "Compare");
  };
  compareBtn.addEventListener("click", () => {
    if (ticked.size >= 2) location.hash = compareHref([...ticked].sort((a, b) => a - b));
  });
  const tick = (id, on) => {
    if (on) ticked.add(id);
    else ticked.delete(id);
    updateCompare();
  };
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
    { class: "data studies-table reflow", hidden: true },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { class: "pick-col" }, h("span", { class: "offscreen", text: "Compare" })),
        h("th", { text: "Name" }),
        h("th", { text: "Task" }),
        h("th", { text: "Status" }),
        h("th", { class: "progress-col", text: "Progress" }),
        h("th", { class: "num", text: "Best" }),
        h("th", { class: "num", text: "Gain vs default Adam", title: "(baseline − best) / baseline for a minimised metric" }),
        h("th", { class: "num", text: "Validated gain", title: "the best configuration against the defaults, retrained on the same fresh seeds: mean gain and its 95 % CI" }),
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
      h("div", { class: "actions" }, compareBtn, h("a", { class: "button primary", href: "#/new" }, "New study")),
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
      const known = new Set(studies.map((s) => s.id));
      for (const id of [...ticked]) if (!known.has(id)) ticked.delete(id); // deleted meanwhile
      updateCompare();
      replace(tbody, studies.map((s) => row(s, ticked.has(s.id), tick)));
      labelCells(table);
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

function row(study, checked, tick) {
  const href = `#/studies/${encodeURIComponent(study.id)}`;
  const p = study.progress || {};
  const tr = h(
    "tr",
    {
      class: "clickable",
      dataset: { studyId: study.id },
      onclick: (event) => {
        if (event.target.closest("a, .pick-col")) return;
        location.hash = href;
      },
    },
    h(
      "td",
      { class: "pick-col" },
      h("input", {
        type: "checkbox",
        class: "pick",
        checked,
        "aria-label": `compare ${study.name || `study ${study.id}`}`,
        dataset: { studyId: study.id },
        onchange: (event) => tick(study.id, event.target.checked),
      }),
    ),
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
    validatedGain(study),
    h("td", { title: study.created_at ? fmtTime(study.created_at) : "", text: fmtAgo(study.created_at) }),
  );
  return tr;
}

/** The validated winner's gain over the defaults, with its 95 % CI in the tooltip. */
function validatedGain(study) {
  const { winner, status } = validated(study);
  if (!winner || winner.gain === null || winner.gain === undefined) {
    return h("td", { class: "num muted small validated-gain", text: status && status !== "completed" ? `validation ${status}` : "–" });
  }
  const ci = `95 % CI ${fmtGain(winner.gain_low)} to ${fmtGain(winner.gain_high)}, ${winner.n} seeds, better on ${winner.wins}`;
  return h("td", { class: `num mono validated-gain ${gainClass(winner.gain)}`, title: ci, text: fmtGain(winner.gain) });
}

function gainClass(gain) {
  if (gain === null || gain === undefined) return "";
  return gain > 0 ? "good" : gain < 0 ? "bad" : "";
}
