// One study: live curves, analysis figures, trials, best parameters and the stop/resume/delete actions.
import { api, apiUrl, download, errorMessage, getToken, isAbort } from "../api.js";
import { LiveCurves, METRICS, spansDecades } from "../curves.js";
import { clear, h, replace, setText, throttle } from "../dom.js";
import { createFigures } from "../figures.js";
import { DIMENSIONS, PARAM_LABELS, adamParams, fmtDuration, fmtGain, fmtNum, fmtParam, fmtTime, fullNum, metricLabel, torchLineLines } from "../format.js";
import { noteEditor, notesSupported } from "../notes.js";
import { defaultsName, familyOf, loadOptions } from "../options.js";
import { ensurePlotly, onThemeChange } from "../plot.js";
import { StudyStream } from "../stream.js";
import { createTrialsTable } from "../trials_table.js";
import { confirmedConfig, createValidationPanel, validatedWinner, validating } from "../validation.js";
import { failedForGood, progressBar, statusBadge } from "../widgets.js";

const ACTIVE = new Set(["queued", "running", "stopping"]);
const POLL_MS = 5000;
const WAIT_MS = 1000;
// What Stop does (docs/API.md): said on the button and while the study stops.
const STOP_HELP = "Stop: no new trial starts, and running trials stop at their next epoch. They are queued again with the same parameters: Resume re-runs them first, so no trial is lost or counted twice.";

/** Whether anything of the study can still change: it is active, or a trial still runs. */
function isLive(s) {
  return ACTIVE.has(s.status) || (!s.read_only && (s.progress?.running || 0) > 0);
}

export async function mount(root, ctx, idText) {
  const id = Number(idText);
  // Plotly (3.5 MB of script) loads while the study is read: the curves wait on it
  ensurePlotly().catch(() => {}); // a failure is shown where the curves would be
  const loading = h("p", { class: "muted", text: "Loading study…" });
  root.appendChild(loading);

  let study;
  let tasks = [];
  let options = null;
  try {
    [study, tasks, options] = await Promise.all([
      api.get(`/studies/${id}`, null, { signal: ctx.signal }),
      api.get("/tasks", null, { signal: ctx.signal }).catch((err) => {
        if (isAbort(err)) throw err;
        return [];
      }),
      loadOptions().catch(() => null), // without them the page still shows the study
    ]);
  } catch (err) {
    if (isAbort(err) || !ctx.alive()) return;
    loading.remove();
    root.append(
      h("div", { class: "page-head" }, h("h1", { text: err.status === 404 ? "Study not found" : "Could not load the study" })),
      h("div", { class: "alert error", role: "alert", text: errorMessage(err) }),
      h("p", {}, h("a", { href: "#/" }, "Back to the studies")),
    );
    return;
  }
  if (!ctx.alive()) return;
  loading.remove();
  const task = (Array.isArray(tasks) ? tasks : tasks?.tasks || []).find((t) => t.name === study.task);
  ctx.setTitle(study.name || `study ${id}`);
  new StudyPage(root, ctx, id, study, task, familyOf(options, study.optimizer));
}

class StudyPage {
  constructor(root, ctx, id, study, task, family) {
    this.root = root;
    this.ctx = ctx;
    this.id = id;
    this.study = study;
    this.task = task;
    this.family = family; // the optimizer family's options: its defaults (null: unknown)
    this.validation = study.validation || null;
    this.curves = null;
    this.stream = null;
    this.totalTrials = 0;
    this.build();
    this.update(study);
    this.refreshSoon = throttle(() => this.refresh(), 1000);
    this.noteSoon = throttle(() => this.updateNote(), 500);
    this.lastRefresh = 0;
    this.refreshSeq = 0;
    this.timer = setInterval(() => {
      if (document.hidden) return;
      // a live study every 5 s (its events refresh it sooner); a completed search whose
      // validation is about to start every second: nothing else tells the page it has started
      const every = isLive(this.study) ? POLL_MS : this.awaitingValidation() ? WAIT_MS : 0;
      if (every && Date.now() - this.lastRefresh >= every) this.refresh();
    }, WAIT_MS);
    ctx.onCleanup(() => {
      this.stopLive();
      if (this.curves) this.curves.destroy();
    });
    ctx.onCleanup(
      onThemeChange(() => {
        this.curves?.retheme();
        this.figures.retheme();
        this.trials.retheme();
        this.validationPanel?.retheme();
      }),
    );
    this.startCurves();
  }

  // ---------- layout ----------

  build() {
    const s = this.study;
    this.alert = h("div", { class: "alert error", role: "alert", hidden: true });
    this.badge = h("span", { class: "badge-slot", id: "study-status" });
    this.stopBtn = h("button", { type: "button", id: "btn-stop", title: STOP_HELP, onclick: () => this.action("stop") }, "Stop");
    this.resumeBtn = h("button", { type: "button", id: "btn-resume", onclick: () => this.action("resume") }, "Resume");
    this.deleteBtn = h("button", { type: "button", id: "btn-delete", class: "danger", onclick: () => this.remove() }, "Delete");
    const exportCsv = h("a", { class: "button", id: "export-csv", href: apiUrl(`/studies/${this.id}/export.csv`), download: `study-${this.id}.csv`, onclick: (e) => this.exportCsv(e) }, "Export CSV");
    this.actions = h("div", { class: "actions" }, this.stopBtn, this.resumeBtn, this.deleteBtn, exportCsv);
    this.meta = h("p", { class: "meta muted" });
    this.stopNote = h("div", { class: "alert info", id: "stop-note", role: "status", hidden: true });

    // summary cards
    this.progressSlot = h("div", { class: "progress-slot" });
    this.progressText = h("div", { class: "muted small", id: "study-progress-text" });
    this.eta = h("div", { class: "muted small", id: "study-eta" });
    this.bestValue = h("div", { class: "big mono", id: "best-value" });
    this.bestTrial = h("div", { class: "muted small" });
    this.baseValue = h("div", { class: "big mono", id: "baseline-value" });
    this.baseTrial = h("div", { class: "muted small" });
    this.gain = h("div", { class: "big mono", id: "study-gain" });
    this.gainNote = h("div", { class: "muted small", id: "gain-note" });
    this.gainVerdict = h("div", { class: "small verdict", id: "gain-verdict" });
    this.bestNote = h("p", { class: "muted small", id: "best-note" });
    // said before the line whenever it is not a confirmed answer: it can be worse than the defaults
    this.pasteWarning = h("p", { class: "paste-warning", id: "paste-warning", role: "note", hidden: true });
    const card = (title, ...body) => h("div", { class: "card" }, h("div", { class: "card-title", text: title }), body);

    // best parameters
    this.paramsBody = h("tbody");
    this.code = h("code", { id: "adam-line" });
    this.codeRow = h("div", { class: "code-row" });
    this.copyBtn = h("button", { type: "button", id: "btn-copy", class: "small", onclick: () => this.copy() }, "Copy");
    this.copyNote = h("span", { class: "muted small", role: "status" });

    // curves
    this.metricSelect = h(
      "select",
      { id: "curves-metric", "aria-label": "metric", onchange: () => this.curves?.setMetric(this.metricSelect.value) },
      METRICS.map((m) =>
        h(
          "option",
          { value: m, disabled: (m === "val_accuracy" && this.task && !this.task.has_accuracy) || (s.read_only && m !== "val_loss") },
          this.curveLabel(m),
        ),
      ),
    );
    this.metricSelect.value = METRICS.includes(s.metric) && s.task !== "external" ? s.metric : "val_loss";
    this.logY = h("input", { type: "checkbox", id: "curves-logy", onchange: () => this.curves?.setLogY(this.logY.checked) });
    this.hidePruned = h("input", { type: "checkbox", id: "curves-hide-pruned", onchange: () => this.curves?.setHidePruned(this.hidePruned.checked) });
    this.offNote = h("span", { class: "small off-note", id: "curves-off", title: "Points beyond the y-range are marked on its edge; double-click the chart for the full range." });
    this.note = h("span", { class: "muted small", id: "curves-note" });
    this.liveMode = h("span", { class: "live-mode small", id: "live-mode" });
    this.curvesDiv = h("div", { id: "curves-plot", class: "curves-plot" });
    this.curvesEmpty = h("div", { class: "plot-overlay muted", text: "Loading curves…" });

    this.figuresSlot = h("div");
    this.validationSlot = s.read_only || s.kind !== "search" ? null : h("div");
    this.trialsSlot = h("div");
    this.notesSlot = h("section", { class: "panel notes", id: "study-notes", hidden: true }, h("h2", { text: "Notes" }));

    append(
      this.root,
      h(
        "div",
        { class: "page-head" },
        h(
          "div",
          { class: "title" },
          h("h1", { id: "study-name", text: s.name || `study ${this.id}` }),
          this.badge,
          s.read_only && s.status !== "read_only" ? h("span", { class: "tag", id: "read-only", title: "Written by another Optuna script: view only", text: "read-only" }) : null,
        ),
        this.actions,
      ),
      this.meta,
      this.alert,
      this.stopNote,
      h(
        "div",
        { class: "cards" },
        card("Progress", this.progressSlot, this.progressText, this.eta),
        card("Best", this.bestValue, this.bestTrial),
        card(defaultsName(this.family).replace(/^d/, "D"), this.baseValue, this.baseTrial),
        card("Gain vs default", this.gain, this.gainNote, this.gainVerdict),
      ),
      h(
        "section",
        { class: "panel curves" },
        h(
          "div",
          { class: "panel-head" },
          h("h2", { text: "Convergence" }),
          h(
            "div",
            { class: "toolbar" },
            this.metricSelect,
            h("label", { class: "check" }, this.logY, " log y"),
            h("label", { class: "check" }, this.hidePruned, " hide pruned"),
            this.offNote,
            this.note,
            this.liveMode,
          ),
        ),
        h("div", { class: "plot-wrap" }, this.curvesDiv, this.curvesEmpty),
      ),
      h(
        "div",
        { class: "two-col" },
        h(
          "section",
          { class: "panel best-params" },
          h("h2", { text: "Best parameters" }),
          this.bestNote,
          this.pasteWarning,
          h("div", { class: "best-body" }, h("table", { class: "data compact" }, this.paramsBody), this.codeRow),
        ),
        this.notesSlot,
      ),
      this.validationSlot,
      this.trialsSlot,
      this.figuresSlot,
    );
    append(this.codeRow, h("pre", {}, this.code), h("div", {}, this.copyBtn, " ", this.copyNote));

    if (this.validationSlot) {
      this.validationPanel = createValidationPanel(this.validationSlot, {
        studyId: this.id,
        ctx: this.ctx,
        getStudy: () => this.study,
        onReport: (report) => {
          this.validation = report;
          this.showResult();
          if (!validating(report)) this.refresh(); // the summary has the final report too
        },
      });
    }
    this.figures = createFigures(this.figuresSlot, { studyId: this.id, ctx: this.ctx, getStudy: () => this.study });
    this.trials = createTrialsTable(this.trialsSlot, {
      studyId: this.id,
      ctx: this.ctx,
      getStudy: () => this.study,
      onHover: (n) => this.curves?.highlight(n),
      onSelect: (n) => this.curves?.select(n),
      onRows: (rows) => {
        for (const r of rows) {
          this.curves?.setParams(r.number, r.params);
          if (r.interrupted) this.curves?.setInterrupted(r.number);
        }
      },
      liveEpochs: (n) => this.curves?.epochsOf(n) || 0,
      baselineName: defaultsName(this.family),
    });
    this.figures.onSelection((numbers, label) => this.trials.setSelection(numbers, label));
    this.mountNotes();
  }

  /** A curve's name: an external study reports its own metric where a task reports val_loss. */
  curveLabel(metric) {
    const s = this.study;
    if (metric !== "val_loss") return metricLabel(metric);
    if (s.read_only) return "intermediate value";
    return s.task === "external" ? metricLabel(s.metric) : metricLabel(metric);
  }

  async mountNotes() {
    const supported = await notesSupported();
    if (!this.ctx.alive() || !supported.study) return;
    this.notesSlot.hidden = false;
    this.notesSlot.appendChild(noteEditor({ path: `/studies/${this.id}/note`, ctx: this.ctx, label: "study note", id: "study-note" }));
  }

  // ---------- state ----------

  update(study) {
    const prevStatus = this.study.status;
    const prevFinished = `${this.study.progress?.finished}/${this.study.progress?.failed}`;
    const prevProgress = JSON.stringify(this.study.progress || {});
    this.study = study;
    const s = study;
    replace(this.badge, statusBadge(s.status));
    const readOnly = !!s.read_only;
    this.actions.classList.toggle("read-only", readOnly);
    this.stopBtn.hidden = readOnly || !(s.status === "queued" || s.status === "running" || s.status === "stopping");
    this.stopBtn.disabled = s.status === "stopping";
    setText(this.stopBtn, s.status === "stopping" ? "Stopping…" : "Stop");
    this.resumeBtn.hidden = readOnly || !(s.status === "stopped" || s.status === "failed");
    this.deleteBtn.hidden = readOnly;

    const metaParts = [
      s.task === "external" ? "trained by your own code" : s.task ? `task ${s.task}` : "study written by another Optuna script",
      `${s.direction === "maximize" ? "maximise" : "minimise"} ${metricLabel(s.metric)}`,
      s.epochs ? `${s.epochs} epochs` : null,
      s.sampler ? `sampler ${s.sampler}` : null,
      s.pruner ? `pruner ${s.pruner}` : null,
      s.seed !== null && s.seed !== undefined ? `seed ${s.seed}` : null,
      s.created_at ? `created ${fmtTime(s.created_at)}` : null,
    ].filter(Boolean);
    setText(this.meta, metaParts.join(" · "));
    if (s.error) this.showError(`Study failed: ${s.error}`);
    const running = s.progress?.running || 0;
    const waiting = s.progress?.waiting || 0;
    const trialsText = (n) => `${n} trial${n === 1 ? "" : "s"}`;
    let stopText = "";
    if (s.status === "stopping") {
      stopText = running
        ? `Stopping: ${trialsText(running)} stop at the next epoch and will be re-run with the same parameters on Resume; no new trial starts.`
        : "Stopping: no trial is running; no new trial starts.";
    } else if (s.status === "stopped" && running > 0) {
      stopText = `Stopped; ${trialsText(running)} still stopping at the next epoch.`;
    } else if (s.status === "stopped" && waiting > 0) {
      stopText = `Stopped: ${trialsText(waiting)} interrupted by the stop ${waiting === 1 ? "waits" : "wait"} to be re-run with the same parameters on Resume.`;
    } else if (s.status === "running" && running > 0) {
      stopText = `Stop would interrupt ${trialsText(running)} at the next epoch; Resume re-runs them with the same parameters.`;
    }
    this.stopNote.hidden = !stopText;
    this.stopNote.className = s.status === "running" ? "muted small" : "alert info"; // a hint, not news
    setText(this.stopNote, stopText);

    const p = s.progress || {};
    replace(this.progressSlot, progressBar(p, s.n_trials));
    const parts = [`${p.complete || 0} complete`, `${p.pruned || 0} pruned`, `${failedForGood(p)} failed`];
    if (p.running) parts.push(`${p.running} running`);
    if (p.reserved) parts.push(`${p.reserved} reserved`); // asked ahead by a runner, not started
    if (p.interrupted) parts.push(`${p.interrupted} stopped and re-run`);
    setText(this.progressText, parts.join(" · "));
    const timing = [];
    if (s.elapsed_s !== null && s.elapsed_s !== undefined) timing.push(`elapsed ${fmtDuration(s.elapsed_s)}`);
    if (ACTIVE.has(s.status) && s.eta_s !== null && s.eta_s !== undefined) timing.push(`ETA ${fmtDuration(s.eta_s)}`);
    setText(this.eta, timing.join(" · "));
    this.totalTrials = Math.max(this.totalTrials, (p.finished || 0) + (p.running || 0) + (p.reserved || 0) + (p.waiting || 0));

    setText(this.bestValue, s.best ? fmtNum(s.best.value) : "–");
    this.bestValue.title = s.best ? fullNum(s.best.value) : "";
    setText(this.bestTrial, s.best ? `trial ${s.best.trial} · ${metricLabel(s.metric)}` : "no complete trial yet");
    setText(this.baseValue, s.baseline && s.baseline.value !== null && s.baseline.value !== undefined ? fmtNum(s.baseline.value) : "–");
    this.baseValue.title = s.baseline?.value !== null && s.baseline?.value !== undefined ? fullNum(s.baseline.value) : "";
    setText(this.baseTrial, s.baseline ? `trial ${s.baseline.trial}${this.baselineText()}` : "no baseline trial");
    if (s.validation !== undefined && !validating(this.validation)) this.validation = s.validation || null;
    this.validationPanel?.update(this.validation);
    this.showResult();

    if (this.curves) {
      if (s.baseline && s.baseline.trial !== null && s.baseline.trial !== undefined) this.curves.setBaseline(s.baseline.trial);
      this.curves.setBest(s.best ? s.best.trial : null);
    }
    this.updateNote();
    if (this.figures && `${s.progress?.finished}/${s.progress?.failed}` !== prevFinished) {
      // trials finished: the figures (throttled, the shown one only) are stale
      this.figures.refresh();
    }
    // the table follows the summary it is shown beside: a trial started, finished or stopped
    if (this.trials && JSON.stringify(s.progress || {}) !== prevProgress) this.trials.refresh();
    if (this.stream) {
      if (isLive(s)) this.stream.start();
      else if (prevStatus !== s.status || !this.stream.stopped) this.finishStream();
    }
  }

  /** ": lr 0.001, β1 0.9, ...": the family's defaults, as the options list them. */
  baselineText() {
    const params = this.family?.baseline;
    if (!params) return "";
    return ` · ${Object.entries(params).map(([k, v]) => `${PARAM_LABELS[k] || k} ${fmtParam(k, v)}`).join(", ")}`;
  }

  /**
   * The gain card and "Best parameters": the confirmed answer once the confirmation round has
   * ended (its gain measured on seeds that neither searched nor picked), else the search's best
   * with its gain labelled as the search estimate and its line marked unvalidated.
   */
  showResult() {
    const s = this.study;
    const v = this.validation;
    const winner = validatedWinner(v);
    if (winner) {
      setText(this.gain, fmtGain(winner.gain));
      this.gain.className = `big mono ${winner.gain_low > 0 ? "good" : winner.gain_high < 0 ? "bad" : ""}`;
      this.gain.dataset.kind = "confirmed";
      setText(
        this.gainNote,
        `confirmed on ${winner.n} fresh seeds: 95 % CI ${fmtGain(winner.gain_low)} to ${fmtGain(winner.gain_high)}, ${winner.wins}/${winner.n} seeds · search estimate ${fmtGain(s.gain)}`,
      );
      setText(this.gainVerdict, v.verdict);
    } else {
      setText(this.gain, fmtGain(s.gain));
      this.gain.className = `big mono ${s.gain > 0 ? "good" : s.gain < 0 ? "bad" : ""}`;
      this.gain.dataset.kind = "search";
      const running = validating(v) ? ` · validating: ${v.runs_done}/${v.runs_total} runs` : "";
      setText(this.gainNote, `search estimate: best vs baseline, one seed each${running}`);
      setText(this.gainVerdict, !validating(v) && v?.verdict ? v.verdict : "");
    }

    // one line to paste: the confirmed answer, else the best so far marked unvalidated
    const confirmed = v && !validating(v) && v.confirmed && v.torch_line;
    const answer = confirmed ? confirmedConfig(v) : null;
    let params = null;
    let line = null;
    let warning = "";
    if (answer && s.best) {
      params = answer.params;
      line = v.torch_line;
      setText(
        this.bestNote,
        answer.label === "default"
          ? `Confirmed on fresh seeds: ${v.picked || "the pick"} did not beat the defaults, so keep them.`
          : `Confirmed on fresh seeds: ${answer.label}, picked on other seeds, beats the defaults.`,
      );
    } else if (v && !validating(v) && v.torch_line && v.recommended) {
      // picked on the selection seeds, never confirmed (confirm_seeds 0)
      const picked = (v.configs || []).find((c) => c.label === v.recommended);
      params = picked ? picked.params : null;
      line = v.torch_line;
      warning = `Unvalidated: ${v.recommended} was picked on the selection seeds and not confirmed on others; its gain there is overstated.`;
      setText(this.bestNote, "");
    } else if (s.best) {
      params = adamParams(s.best.params);
      line = s.best.torch_line || null;
      if (!s.read_only) {
        warning = `Unvalidated: the search's best (trial ${s.best.trial}) on one seed. On fresh seeds it can be worse than the defaults${validating(v) ? "; the validation is running" : ""}.`;
      }
      setText(this.bestNote, "");
    } else {
      setText(this.bestNote, "");
    }
    setText(this.pasteWarning, warning);
    this.pasteWarning.hidden = !warning || !params;
    this.code.dataset.validated = warning ? "false" : "true";
    clear(this.paramsBody);
    if (params) {
      const extra = Object.keys(params).filter((k) => !DIMENSIONS.includes(k)).sort();
      for (const d of [...DIMENSIONS, ...extra]) {
        if (params[d] === undefined) continue;
        const fixed = s.space && s.space[d] && s.space[d].value !== undefined && s.space[d].value !== null;
        this.paramsBody.appendChild(
          h("tr", {}, h("th", { text: PARAM_LABELS[d] || d }), h("td", { class: "mono", text: fmtParam(d, params[d]), title: fullNum(params[d]) }), h("td", { class: "muted small", text: fixed ? "fixed" : "" })),
        );
      }
      // a study from another script may tune something else than an optimizer: no line then
      setText(this.code, line ? torchLineLines(line) : "These parameters are not an optimizer's.");
      this.code.dataset.copy = line || "";
      this.copyBtn.disabled = !line;
      this.codeRow.hidden = false;
    } else {
      // no line to paste before a trial has completed: the defaults are not a result
      this.paramsBody.appendChild(h("tr", {}, h("td", { class: "muted", text: "No complete trial yet: the best parameters and the line to paste appear with the first one." })));
      setText(this.code, "");
      this.code.dataset.copy = "";
      this.copyBtn.disabled = true;
      this.codeRow.hidden = true;
    }
  }

  /** A completed search that will be validated (its validation job not listed yet). */
  awaitingValidation() {
    const s = this.study;
    return s.kind === "search" && s.status === "completed" && (s.validate_seeds || 0) > 0 && !s.validation && !this.validation;
  }

  /**
   * Reload the summary; `update` then reloads the table and the figures from it, so every part
   * of the page moves on the same event. An answer older than one already shown is dropped
   * (an earlier request that came back last put the cards back to 0/12 beside a complete row).
   */
  async refresh() {
    const mine = ++this.refreshSeq;
    this.lastRefresh = Date.now();
    try {
      const s = await api.get(`/studies/${this.id}`, null, { signal: this.ctx.signal });
      if (this.ctx.alive() && mine === this.refreshSeq) this.update(s);
    } catch (err) {
      if (isAbort(err) || !this.ctx.alive()) return;
      if (err.status === 404) this.showError("This study no longer exists.");
    }
  }

  updateNote() {
    if (!this.curves) return;
    const shown = this.curves.shown();
    const total = this.totalTrials;
    // only a big study's first load is cut to max_trials (the baseline, the best, the latest)
    setText(this.note, this.limited && shown < total ? `showing ${shown} of ${total} trials' curves` : "");
    setText(this.offNote, this.curves.offNote());
    this.curvesEmpty.hidden = shown > 0;
    if (shown === 0) {
      setText(this.curvesEmpty, isLive(this.study) ? "Waiting for the first epoch…" : "No curves recorded.");
    }
  }

  showError(message) {
    this.alert.hidden = !message;
    setText(this.alert, message || "");
  }

  // ---------- live curves ----------

  async startCurves() {
    // the curves are asked for while Plotly loads (3.5 MB of script to parse), not after it
    const answer = api.get(`/studies/${this.id}/curves`, { after: 0, max_trials: 1000 }, { signal: this.ctx.signal });
    answer.catch(() => {}); // its failure is reported below, once Plotly is there
    let Plotly;
    try {
      Plotly = await ensurePlotly();
    } catch (err) {
      setText(this.curvesEmpty, `Cannot draw plots: ${err.message}`);
      return;
    }
    if (!this.ctx.alive() || !Plotly) return;
    performance.mark("curves:plotly");
    let resp;
    try {
      resp = await answer;
    } catch (err) {
      if (isAbort(err) || !this.ctx.alive()) return;
      setText(this.curvesEmpty, `Could not load the curves: ${errorMessage(err)}`);
      return;
    }
    if (!this.ctx.alive()) return;
    performance.mark("curves:answer");
    const curves = new LiveCurves(this.curvesDiv, {
      metric: this.metricSelect.value,
      metricLabel: (m) => this.curveLabel(m),
      baselineName: defaultsName(this.family),
      direction: this.study.direction,
      epochs: this.study.epochs,
      onHover: (n) => this.trials.highlight(n),
      onClick: (n) => this.trials.open(n),
      onRange: () => setText(this.offNote, curves.offNote()),
    });
    this.curves = curves;
    if (this.study.baseline) curves.baseline = this.study.baseline.trial ?? null;
    curves.best = this.study.best ? this.study.best.trial : null;
    const metric = this.metricSelect.value;
    // a loss over more than a decade (most training runs, and every lr sweep) reads on a log
    // axis: the best and default-Adam curves, close at the end, stay apart
    if (metric !== "val_accuracy" && spansDecades(resp.points?.[metric], 10)) this.logY.checked = true;
    curves.logY = this.logY.checked;
    this.totalTrials = Math.max(this.totalTrials, resp.total_trials || 0);
    this.limited = (resp.trials_shown ?? 0) < (resp.total_trials ?? 0);
    await curves.load(resp);
    // bench/first_view.py: when the curves were painted (two frames after Plotly drew them)
    requestAnimationFrame(() => requestAnimationFrame(() => performance.mark("curves:painted")));
    if (!this.ctx.alive()) return;
    this.updateNote();

    this.stream = new StudyStream(this.id, resp.cursor, {
      epoch: (d) => {
        curves.onEpoch(d);
        this.noteSoon();
        // the table's "epochs" cell of a running trial follows the chart; a trial the table
        // does not show as running yet (it started since the last load) reloads it
        const row = this.trials.liveEpoch(d.trial, curves.epochsOf(d.trial));
        if (row === "stale" || (row === "absent" && d.epoch <= 1)) this.trials.refresh();
      },
      // the summary first: its new progress refreshes the table and the figures (update)
      trialStarted: (d) => {
        curves.onTrialStarted(d);
        this.totalTrials = Math.max(this.totalTrials, Number(d.trial) + 1);
        this.refreshSoon();
      },
      trialFinished: (d) => {
        curves.onTrialFinished(d);
        this.refreshSoon();
      },
      status: (d) => {
        if (!d || !d.status) return;
        this.update({ ...this.study, status: d.status });
        this.refresh(); // at once (status changes are rare): progress may have moved with it
      },
      mode: (m) => {
        setText(this.liveMode, m === "live" ? "● live" : m === "polling" ? "● polling" : "○ reconnecting…");
        this.liveMode.dataset.mode = m;
      },
    });
    this.stream.seed(resp.trials);
    if (isLive(this.study)) this.stream.start();
  }

  /** The study ended: give the stream a moment to deliver the last events, then catch up once. */
  finishStream() {
    const stream = this.stream;
    if (!stream || this.finishing) return;
    this.finishing = setTimeout(async () => {
      this.finishing = null;
      if (!this.ctx.alive() || isLive(this.study)) return;
      stream.stop();
      setText(this.liveMode, "");
      this.liveMode.dataset.mode = "off";
      try {
        const resp = await api.get(`/studies/${this.id}/curves`, { after: stream.cursor }, { signal: this.ctx.signal });
        if (this.ctx.alive() && !isLive(this.study)) stream.ingest(resp);
      } catch {
        /* the plot already shows what arrived live */
      }
      this.figures.refresh();
      this.trials.refresh();
    }, 2000);
    this.ctx.onCleanup(() => clearTimeout(this.finishing));
  }

  // ---------- actions ----------

  async action(kind) {
    const btn = kind === "stop" ? this.stopBtn : this.resumeBtn;
    btn.disabled = true;
    this.showError("");
    try {
      const s = await api.post(`/studies/${this.id}/${kind}`, undefined, { signal: this.ctx.signal });
      if (!this.ctx.alive()) return;
      if (s && s.id !== undefined) this.update(s);
      else this.update({ ...this.study, status: kind === "stop" ? "stopping" : "queued" });
      this.refreshSoon();
    } catch (err) {
      if (isAbort(err) || !this.ctx.alive()) return;
      this.showError(`Could not ${kind} the study: ${errorMessage(err)}`);
    } finally {
      btn.disabled = this.study.status === "stopping" && kind === "stop";
    }
  }

  // Stop polling and the event stream: nothing should ask for a study being deleted.
  stopLive() {
    clearInterval(this.timer);
    this.refreshSoon.cancel();
    this.noteSoon.cancel();
    if (this.stream) this.stream.stop();
  }

  async remove() {
    const name = this.study.name || `study ${this.id}`;
    if (!window.confirm(`Delete "${name}" with all its trials and metrics? This cannot be undone.`)) return;
    this.deleteBtn.disabled = true;
    this.stopLive();
    try {
      await api.del(`/studies/${this.id}`, { signal: this.ctx.signal });
      if (this.ctx.alive()) location.hash = "#/";
    } catch (err) {
      if (isAbort(err) || !this.ctx.alive()) return;
      this.deleteBtn.disabled = false;
      this.showError(`Could not delete the study: ${errorMessage(err)}`);
    }
  }

  /** With a token the plain link would get 401: fetch the file with the header instead. */
  async exportCsv(event) {
    if (!getToken()) return; // the link downloads it
    event.preventDefault();
    try {
      await download(`/studies/${this.id}/export.csv`, `study-${this.id}.csv`, { signal: this.ctx.signal });
    } catch (err) {
      if (isAbort(err) || !this.ctx.alive()) return;
      this.showError(`Could not export the trials: ${errorMessage(err)}`);
    }
  }

  async copy() {
    const text = this.code.dataset.copy;
    if (!text) return;
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        ok = true;
      }
    } catch {
      ok = false;
    }
    if (!ok) {
      // plain http on a LAN address has no async clipboard: use a temporary textarea
      const ta = h("textarea", { class: "offscreen", readonly: true });
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      try {
        ok = document.execCommand("copy");
      } catch {
        ok = false;
      }
      ta.remove();
    }
    setText(this.copyNote, ok ? "Copied" : "Select the line and copy it");
    setTimeout(() => setText(this.copyNote, ""), 2000);
  }
}

function append(parent, ...children) {
  for (const c of children) if (c) parent.appendChild(c);
}
