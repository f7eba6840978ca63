// New study form: task (or your own training code), budget, sampler/pruner, the optimizer family
// with its preset search space, and the validation. Every default comes from GET /api/options.
import { api, errorMessage, getToken, isAbort } from "../api.js";
import { clear, h, setText } from "../dom.js";
import { DIMENSIONS, PARAM_LABELS, metricLabel } from "../format.js";
import { DECAYS, NO_SCHEDULE } from "../schedule_data.js";
import { locKey, mergeErrors, readChoices, readDimension, readNumber, slotKey } from "../study_form.js";

const ONE_MINUS = new Set(["beta1", "beta2", "momentum"]); // log scale on 1 - x
const NOTHING = { description: "" };

export async function mount(root, ctx) {
  ctx.setTitle("New study");
  const status = h("p", { class: "muted", text: "Loading tasks and options…" });
  root.append(h("div", { class: "page-head" }, h("h1", { text: "New study" })), status);
  let tasks;
  let options;
  try {
    [tasks, options] = await Promise.all([
      api.get("/tasks", null, { signal: ctx.signal }),
      api.get("/options", null, { signal: ctx.signal }),
    ]);
  } catch (err) {
    if (isAbort(err) || !ctx.alive()) return;
    status.className = "alert error";
    setText(status, `Could not load the form: ${errorMessage(err)}`);
    return;
  }
  if (!ctx.alive()) return;
  status.remove();
  root.appendChild(buildForm(ctx, Array.isArray(tasks) ? tasks : tasks?.tasks || [], options || {}));
}

function buildForm(ctx, tasks, options) {
  const slots = new Map(); // field key ("n_trials", "space.lr") -> error element
  const slot = (key) => {
    const el = h("div", { class: "field-error", role: "alert", dataset: { errorFor: key } });
    slots.set(key, el);
    return el;
  };
  const topError = h("div", { class: "alert error", role: "alert", hidden: true, dataset: { errorFor: "form" } });
  const limits = options.limits || {};
  const defaults = options.study_defaults || {};
  const EXTERNAL = options.external_task || "external";
  const text = (id, name, value, extra = {}) =>
    h("input", { id, name, type: "text", inputmode: "numeric", value: value === undefined || value === null ? "" : String(value), ...extra });

  // --- task ---
  const taskSelect = h(
    "select",
    { id: "f-task", name: "task", required: true },
    tasks.map((t) => h("option", { value: t.name }, t.name)),
    h("option", { value: EXTERNAL }, "your own training code"),
  );
  const taskInfo = h("div", { class: "hint task-info" });
  const nameInput = h("input", { id: "f-name", name: "name", type: "text", maxlength: 200, placeholder: "optional, e.g. mlp lr sweep" });
  const nTrials = text("f-n_trials", "n_trials", Math.min(defaults.n_trials ?? 30, limits.max_trials || Infinity));
  const epochs = text("f-epochs", "epochs", "");
  const seed = text("f-seed", "seed", defaults.seed ?? 0);
  const metric = h("input", { id: "f-metric", name: "metric", type: "text", value: defaults.metric || "", placeholder: "e.g. val_loss" });
  const direction = h(
    "select",
    { id: "f-direction", name: "direction" },
    ["minimize", "maximize"].map((d) => h("option", { value: d, selected: d === defaults.direction }, d === "minimize" ? "minimise" : "maximise")),
  );
  const externalFields = h("div", { class: "grid-2 external-fields", hidden: true });
  let epochsTouched = false;
  epochs.addEventListener("input", () => {
    epochsTouched = true;
  });

  const isExternal = () => taskSelect.value === EXTERNAL;
  function currentTask() {
    return tasks.find((t) => t.name === taskSelect.value);
  }
  function showTask() {
    const t = currentTask();
    clear(taskInfo);
    externalFields.hidden = !isExternal();
    epochsLabel.textContent = isExternal() ? "Steps per trial" : "Epochs per trial";
    if (isExternal()) {
      taskInfo.append(
        h("div", { text: "Your training loop, on any machine, asks the server for trials over HTTP and reports your metric at each step; after creating the study you get the two lines to paste." }),
        h("div", { class: "muted", text: "steps: how many reports a full trial makes (what a pruner judges on); empty: the server's default" }),
      );
      if (!epochsTouched) epochs.value = "";
      epochs.placeholder = "server default";
    } else if (t) {
      taskInfo.append(
        h("div", { text: t.description || "" }),
        h(
          "div",
          { class: "muted" },
          `metric: ${metricLabel(t.metric)} · default ${t.default_epochs} epochs · batch size ${t.batch_size}`,
          t.has_accuracy ? " · reports accuracy" : "",
        ),
      );
      if (!epochsTouched) epochs.value = String(t.default_epochs ?? "");
      epochs.placeholder = String(t.default_epochs ?? "");
    }
    warnPruner();
  }
  taskSelect.addEventListener("change", showTask);

  // --- sampler / pruner, each with what it does (the API describes them) ---
  const choices = (kind) => options[`${kind}_choices`] || (options[`${kind}s`] || []).map((name) => ({ name, description: "" }));
  const choiceSelect = (kind, dflt) =>
    h(
      "select",
      { id: `f-${kind}`, name: kind },
      choices(kind).map((c) => h("option", { value: c.name, selected: c.name === dflt, title: c.description || null }, c.name)),
    );
  const sampler = choiceSelect("sampler", options.default_sampler);
  const pruner = choiceSelect("pruner", options.default_pruner);
  const describe = (select, kind) => {
    const hint = h("div", { class: "hint", id: `${select.id}-about`, "aria-live": "polite" });
    const show = () => setText(hint, (choices(kind).find((c) => c.name === select.value) || NOTHING).description);
    select.addEventListener("change", show);
    select.setAttribute("aria-describedby", hint.id);
    show();
    return hint;
  };
  const samplerAbout = describe(sampler, "sampler");
  const prunerAbout = describe(pruner, "pruner");
  const prunerWarning = h("div", { class: "alert info small", id: "f-pruner-warning", role: "status", hidden: true });
  /** A pruner compares trials at the same epoch: with a couple of epochs it has next to nothing to judge on. */
  function warnPruner() {
    const n = Number(epochs.value.trim() || epochs.placeholder);
    const least = options.pruner_min_epochs || 0;
    const small = pruner.value !== "none" && Number.isFinite(n) && n > 0 && n < least;
    prunerWarning.hidden = !small;
    setText(
      prunerWarning,
      small
        ? `With ${n} ${isExternal() ? "step" : "epoch"}${n === 1 ? "" : "s"} per trial the ${pruner.value} pruner has next to nothing to judge on (it needs about ${least}): it may stop the trial that would have won. Choose the pruner "none", or more ${isExternal() ? "steps" : "epochs"}.`
        : "",
    );
  }
  pruner.addEventListener("change", warnPruner);
  epochs.addEventListener("input", warnPruner);

  // --- optimizer family, preset, eps placement ---
  const families = options.optimizers || [];
  const optimizer = h(
    "select",
    { id: "f-optimizer", name: "optimizer" },
    families.map((f) => h("option", { value: f.name, selected: f.name === options.default_optimizer }, f.label || f.name)),
  );
  const optimizerAbout = h("div", { class: "hint", id: "f-optimizer-about" });
  const preset = h(
    "select",
    { id: "f-preset", name: "preset" },
    (options.presets || []).map((p) => h("option", { value: p, selected: p === options.default_preset }, p)),
  );
  const epsMode = h(
    "select",
    { id: "f-eps_mode", name: "eps_mode" },
    (options.eps_modes || []).map((m) => h("option", { value: m, selected: m === defaults.eps_mode }, m)),
  );
  const seedsPerTrial = text("f-seeds_per_trial", "seeds_per_trial", defaults.seeds_per_trial ?? 1);
  const validateTopK = text("f-validate_top_k", "validate_top_k", defaults.validate_top_k ?? 3);
  const validateSeeds = text("f-validate_seeds", "validate_seeds", defaults.validate_seeds ?? 5);
  const family = () => families.find((f) => f.name === optimizer.value) || null;

  // --- advanced ---
  const timeout = h("input", { id: "f-timeout_s", name: "timeout_s", type: "text", inputmode: "decimal", placeholder: "none" });
  const parallelism = h("input", { id: "f-parallelism", name: "parallelism", type: "text", inputmode: "numeric", placeholder: "server default" });

  // --- search space: the family's own parameters, from its preset ---
  const spaceRows = h("div", { class: "space-rows" });
  const scheduleRows = h("div", { class: "schedule-rows", id: "schedule-rows" });
  let dims = [];
  function buildSpace() {
    const f = family();
    const space = f?.presets?.[preset.value] || options.default_space || {};
    const ranges = f?.ranges?.[preset.value] || {};
    const names = f ? f.dims : DIMENSIONS.filter((d) => space[d]);
    dims = names.map((name) =>
      dimensionRow(name, space[name], slot, {
        range: ranges[name],
        fallback: f?.baseline?.[name],
        tunable: !f || (f.tunable || f.dims).includes(name),
      }),
    );
    // the learning-rate schedule, every family's: fixed at none unless the preset tunes it
    const schedule = [
      dimensionRow("warmup", space.warmup, slot, { range: ranges.warmup, fallback: NO_SCHEDULE.warmup }),
      decayRow(space.decay, slot, options.decays || DECAYS),
      dimensionRow("final_fraction", space.final_fraction, slot, { range: ranges.final_fraction, fallback: NO_SCHEDULE.final_fraction }),
    ];
    spaceRows.replaceChildren(...dims.map((d) => d.el));
    scheduleRows.replaceChildren(...schedule.map((d) => d.el));
    dims = [...dims, ...schedule];
    const epsRow = f ? f.dims.includes("eps") : true;
    epsMode.disabled = !epsRow;
    const tuned = f ? f.tuned_by_default.map((d) => PARAM_LABELS[d] || d).join(", ") : "";
    setText(optimizerAbout, f ? `${f.torch_class}: tunes ${tuned} by default; its baseline trial trains with the library's defaults.` : "");
  }
  optimizer.addEventListener("change", buildSpace);
  preset.addEventListener("change", buildSpace);

  // --- the five-trial starter: five fixed configs that work broadly, then the validation ---
  const starterInfo = options.starter || null;
  const starter = h("input", { id: "f-starter", name: "starter", type: "checkbox", disabled: !starterInfo });
  const starterList = h("ol", { class: "hint starter-configs", id: "f-starter-configs", hidden: true });
  const spaceSection = h("div", { class: "space-section" });
  const held = [nTrials, optimizer, preset, pruner];
  /** Ticked: the study trains the starter's five (its trials, family, preset; no pruner), so
   * those fields and the space follow it and are not edited. */
  function applyStarter() {
    const on = starter.checked && starterInfo;
    for (const el of held) el.disabled = Boolean(on);
    spaceSection.hidden = Boolean(on);
    starterList.hidden = !on;
    if (!on) return;
    nTrials.value = String(starterInfo.trials);
    optimizer.value = starterInfo.optimizer;
    preset.value = starterInfo.preset;
    pruner.value = "none";
    pruner.dispatchEvent(new Event("change"));
    buildSpace();
  }
  spaceSection.append(
    h("p", { class: "hint" }, "Each hyper-parameter is either searched over a range or fixed. For β1, β2 and momentum the log scale is on 1 − β, i.e. log(1 − β): it spreads 0.9, 0.99 and 0.999 evenly."),
    slot("space"),
    spaceRows,
    h("h3", { class: "space-subhead", text: "Learning-rate schedule" }),
    h("p", { class: "hint", id: "schedule-hint" }, "Every optimizer step's lr: a warmup over a fraction of the run's steps, climbing linearly to the peak lr, then the decay shape down to the final lr fraction of the peak at the last step (constant ignores it). The peak lr is tuned with its schedule; the baseline trial always trains without one. Fixed at none unless set here or by the schedule preset, which tunes all three."),
    scheduleRows,
  );
  if (starterInfo) {
    starterList.replaceChildren(...starterInfo.configs.map((c) => h("li", { text: describeConfig(c) })));
  }
  starter.addEventListener("change", applyStarter);

  const submit = h("button", { type: "submit", class: "primary", id: "f-submit" }, "Create study");
  const epochsLabel = h("label", { for: epochs.id, text: "Epochs per trial" });
  const field = (label, input, key, hint) =>
    h(
      "div",
      { class: "field" },
      label instanceof Node ? label : h("label", { for: input.id, text: label }),
      input,
      hint instanceof Node ? hint : hint ? h("div", { class: "hint", text: hint }) : null,
      slot(key),
    );
  externalFields.append(
    field("Metric name", metric, "metric", "what your code reports at each step"),
    field("Direction", direction, "direction"),
  );

  const form = h(
    "form",
    { class: "study-form", novalidate: true, id: "new-study-form" },
    topError,
    h(
      "section",
      { class: "panel" },
      h("h2", { text: "What to train" }),
      h("div", { class: "grid-2" }, field("Task", taskSelect, "task"), field("Name", nameInput, "name")),
      taskInfo,
      externalFields,
      h(
        "div",
        { class: "grid-4" },
        field("Trials", nTrials, "n_trials", limits.max_trials ? `at most ${limits.max_trials}` : null),
        field(epochsLabel, epochs, "epochs", limits.max_epochs ? `at most ${limits.max_epochs}` : null),
        field("Sampler", sampler, "sampler", samplerAbout),
        field("Pruner", pruner, "pruner", prunerAbout),
      ),
      prunerWarning,
      h(
        "div",
        { class: "grid-4" },
        field("Seed", seed, "seed", "same seed, same trials"),
        field("Training seeds per trial", seedsPerTrial, "seeds_per_trial", "a trial's value is the mean over this many"),
        field("Timeout (s)", timeout, "timeout_s", "stop the study after this long"),
        field("Parallel trials", parallelism, "parallelism"),
      ),
    ),
    h(
      "section",
      { class: "panel" },
      h("h2", { text: "Optimizer" }),
      h(
        "div",
        { class: "grid-4" },
        field("Optimizer", optimizer, "optimizer", optimizerAbout),
        field("Search-space preset", preset, "preset", "default: today's ranges; wide: TaskSet's (Metz et al. 2020); schedule: default's with a learning-rate schedule tuned too"),
        field("eps placement", epsMode, "eps_mode", "where Adam adds eps: after bias correction (pytorch) or before it (tf, as in the Adam article)"),
      ),
      h(
        "div",
        { class: "field starter-field" },
        h("label", { for: starter.id }, starter, " Five-trial starter: try the 5 configs that work broadly"),
        h("div", { class: "hint", text: "Five fixed Adam configs, schedule included, chosen across the built-in tasks (docs/BENCHMARKS.md section 12): a cheap first study of 5 trials, validated like any other. Its trials, optimizer, preset and pruner are its own." }),
        starterList,
        slot("starter"),
      ),
      spaceSection,
    ),
    h(
      "section",
      { class: "panel" },
      h("h2", { text: "Validation" }),
      h("p", { class: "hint", text: "When the search ends, its best configs and the defaults are retrained on fresh seeds: the gain the study reports is the validated one, with its 95 % CI. 0: no validation." }),
      h(
        "div",
        { class: "grid-4" },
        field("Best configs to validate", validateTopK, "validate_top_k"),
        field("Fresh seeds", validateSeeds, "validate_seeds"),
      ),
    ),
    h("div", { class: "form-actions" }, submit, h("a", { href: "#/", class: "button ghost" }, "Cancel")),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const problems = [];
    const body = { task: taskSelect.value };
    const name = nameInput.value.trim();
    if (name) body.name = name;
    readNumber(nTrials.value, "n_trials", true, body, problems);
    readNumber(epochs.value, "epochs", true, body, problems);
    readNumber(seed.value, "seed", true, body, problems);
    readNumber(seedsPerTrial.value, "seeds_per_trial", true, body, problems);
    readNumber(validateTopK.value, "validate_top_k", true, body, problems);
    readNumber(validateSeeds.value, "validate_seeds", true, body, problems);
    readNumber(timeout.value, "timeout_s", false, body, problems);
    readNumber(parallelism.value, "parallelism", true, body, problems);
    if (sampler.value) body.sampler = sampler.value;
    if (pruner.value) body.pruner = pruner.value;
    if (optimizer.value) body.optimizer = optimizer.value;
    if (preset.value) body.preset = preset.value;
    if (epsMode.value && !epsMode.disabled) body.eps_mode = epsMode.value;
    if (isExternal()) {
      body.metric = metric.value.trim();
      body.direction = direction.value;
    }
    body.space = {};
    for (const d of dims) {
      const before = problems.length;
      const value = d.read(problems);
      if (problems.length === before) body.space[d.name] = value;
    }
    if (starter.checked && starterInfo) {
      body.starter = true; // the preset's space, which holds the five
      delete body.space;
    }
    if (problems.length) {
      // the server still checks every other field, so all the errors show at once
      const others = await serverErrors(body);
      if (!ctx.alive()) return;
      showErrors(mergeErrors(problems, others));
      return;
    }
    submit.disabled = true;
    setText(submit, "Creating…");
    try {
      const { data, headers } = await api.post("/studies", body, { signal: ctx.signal, withHeaders: true });
      if (!ctx.alive()) return;
      let id = data && data.id;
      if (id === undefined || id === null) {
        const m = (headers.get("Location") || "").match(/(\d+)\/?$/);
        id = m ? m[1] : null;
      }
      if (isExternal() && id !== null) {
        form.replaceWith(externalNext(id, body.metric, options.client_wheel));
        return;
      }
      location.hash = id !== null ? `#/studies/${id}` : "#/";
    } catch (err) {
      if (isAbort(err) || !ctx.alive()) return;
      submit.disabled = false;
      setText(submit, "Create study");
      const fieldErrors = err.fieldErrors || [];
      if (err.status === 422 && fieldErrors.length) {
        showErrors(fieldErrors.map((e) => ({ key: locKey(e.loc, e.msg), msg: e.msg })));
      } else if (err.status === 409 && /\bnamed\b/.test(err.message)) {
        showErrors([{ key: "name", msg: err.message }]); // the name is taken
      } else {
        showErrors([{ key: "", msg: errorMessage(err) }]);
      }
    }
  });

  /** The server's 422 errors for a body (the fields parsed here), without creating anything. */
  async function serverErrors(body) {
    try {
      await api.post("/studies", body, { signal: ctx.signal, query: { dry_run: "true" } });
      return [];
    } catch (err) {
      if (isAbort(err)) return [];
      return err.status === 422 ? (err.fieldErrors || []).map((e) => ({ key: locKey(e.loc, e.msg), msg: e.msg })) : [];
    }
  }

  function clearErrors() {
    topError.hidden = true;
    clear(topError);
    for (const el of slots.values()) {
      clear(el);
      el.closest(".field, .dim")?.classList.remove("invalid");
    }
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  }

  /** Put each error next to its field: the longest key prefix with a slot, else at the top. */
  function showErrors(errors) {
    let first = null;
    for (const { key, msg, inputs } of errors) {
      const k = slotKey(key, (prefix) => slots.has(prefix));
      if (k) {
        const el = slots.get(k);
        if (!el.isConnected) continue; // a row of another family's space
        el.appendChild(h("div", { text: msg }));
        const box = el.closest(".field, .dim");
        box?.classList.add("invalid");
        // outline the input that is wrong: one bound of a range, not both
        for (const input of inputs || invalidInputs(box, key, msg)) input.setAttribute("aria-invalid", "true");
        first = first || el;
      } else {
        topError.hidden = false;
        topError.appendChild(h("div", { text: key ? `${key}: ${msg}` : msg }));
        first = first || topError;
      }
    }
    first?.scrollIntoView({ block: "center", behavior: "smooth" });
  }

  buildSpace();
  showTask();
  return form;
}

/** One starter config as a line: "lr 0.003, betas (0.9, 0.999), eps 1e-8; warmup 5 %, cosine to 0 × peak". */
function describeConfig(c) {
  const fmt = (v) => Number(v).toPrecision(3).replace(/\.?0+(e|$)/, "$1");
  const schedule =
    c.decay && c.decay !== "constant"
      ? `; warmup ${fmt(100 * (c.warmup || 0))} %, ${c.decay} to ${fmt(c.final_fraction || 0)} × peak`
      : c.warmup
        ? `; warmup ${fmt(100 * c.warmup)} %, then constant`
        : "; constant";
  return `lr ${fmt(c.lr)}, betas (${fmt(c.beta1)}, ${fmt(c.beta2)}), eps ${fmt(c.eps)}${schedule}`;
}

/** The server this page talks to, as a runner reaches it (the page's own address). */
function serverUrl() {
  const url = new URL(".", location.href);
  return url.href.replace(/\/$/, "");
}

/**
 * After an external study is created: the two lines to paste, one for a Python loop with
 * `adamtune.client` (installed from the server's own wheel, `wheel`), one for any command driven
 * by `adamtune agent` (examples/own-model/).
 */
function externalNext(id, metric, wheel) {
  const url = serverUrl();
  const token = getToken();
  const tokenArg = token ? ', token=os.environ["ADAMTUNE_API_TOKEN"]' : "";
  const client = [
    "from adamtune.client import Study",
    "",
    `for trial in Study("${url}", ${id}${tokenArg}).trials():`,
    "    with trial:",
    "        opt = trial.optimizer(model.parameters())",
    "        for step in range(trial.steps):",
    "            ...  # train, then measure",
    `            trial.report(step, ${metric.replace(/[^A-Za-z0-9_]/g, "_")})`,
  ].join("\n");
  const agent = `adamtune agent ${url} ${id} -- python train.py`;
  const block = (title, id_, code, hint) =>
    h(
      "div",
      { class: "snippet" },
      h("h3", { text: title }),
      h("pre", {}, h("code", { id: id_, text: code })),
      h("div", {}, copyButton(code, id_), " ", h("span", { class: "hint", text: hint })),
    );
  return h(
    "section",
    { class: "panel", id: "external-next" },
    h("h2", { text: `Study ${id} waits for your training code` }),
    h("p", { class: "hint", text: `Run either on any machine that reaches ${url}; several at once share the trials.${token ? " Set ADAMTUNE_API_TOKEN to the API token there." : ""}` }),
    block("In your Python training loop", "snippet-client", client, `report "${metric}" each step; on that machine: pip install ${url}${wheel} (the client alone, standard library only; with Lightning or Transformers, adamtune.integrations has their callbacks: pip install "adamtune-client[lightning] @ ${url}${wheel}")`),
    block("Or any command, driven by the agent", "snippet-agent", agent, `the command reads ADAMTUNE_LR, ADAMTUNE_BETA1, … and prints JSON lines such as {"epoch": 3, "${metric}": 0.41}`),
    h("div", { class: "form-actions" }, h("a", { href: `#/studies/${id}`, class: "button primary", id: "open-study" }, "Open the study")),
  );
}

function copyButton(text, id) {
  const note = h("span", { class: "muted small", role: "status" });
  const button = h(
    "button",
    {
      type: "button",
      class: "small",
      id: `copy-${id}`,
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(text);
          setText(note, "Copied");
        } catch {
          setText(note, "Select the text and copy it");
        }
      },
    },
    "Copy",
  );
  return h("span", {}, button, " ", note);
}

/** The inputs of a field or a search-space row that an error is about. */
function invalidInputs(box, key, msg) {
  if (!box) return [];
  if (!box.classList.contains("dim")) return [...box.querySelectorAll("input, select")];
  const part = key.split(".")[2]; // space.lr.low -> low
  const named = (which) => box.querySelector(`input[name$=".${which}"]`);
  if (part === "low" || part === "high" || part === "value") return [named(part)].filter(Boolean);
  const fixed = box.classList.contains("fixed");
  if (fixed) return [named("value")].filter(Boolean);
  const low = /\blow\b/.test(msg);
  const high = /\bhigh\b/.test(msg);
  if (low && !high) return [named("low")];
  if (high && !low) return [named("high")];
  // "eps must be > 0 (got -1)": the bound holding the value named
  const got = /\(got ([^)]*)\)/.exec(msg);
  if (got && !low && !high) {
    const values = got[1].split("..").map(Number);
    const hit = [named("low"), named("high")].filter((input) => input && values.includes(Number(input.value)));
    if (hit.length) return hit;
  }
  return [named("low"), named("high")].filter(Boolean);
}

/**
 * The schedule's decay shape: tick one to fix it, several to tune among them.
 */
function decayRow(dflt, slot, decays) {
  const d = dflt || {};
  const ticked = new Set(d.choices || (d.value ? [d.value] : ["constant"]));
  const boxes = decays.map((shape) => h("input", { type: "checkbox", id: `f-decay-${shape}`, name: "decay.choices", value: shape, checked: ticked.has(shape) }));
  const el = h(
    "div",
    { class: "dim", dataset: { dim: "decay" } },
    h("div", { class: "dim-name" }, h("div", { class: "mono", text: PARAM_LABELS.decay || "decay" })),
    h("div", { class: "dim-range" }, boxes.map((box) => h("label", { class: "check" }, box, ` ${box.value}`))),
    h("div", { class: "dim-fixed muted small", text: "one ticked: fixed; several: searched" }),
    slot("space.decay"),
  );
  function read(problems) {
    return readChoices("decay", boxes.filter((b) => b.checked).map((b) => b.value), boxes, problems);
  }
  return { name: "decay", el, read };
}

/**
 * One parameter of the space: a range or a fixed value. `range`: where a range starts when a
 * fixed parameter is switched to "range" (the preset's); `fallback`: the fixed value to start
 * from (the family's default); `tunable`: whether this family may search it at all.
 */
function dimensionRow(name, dflt, slot, { range, fallback, tunable = true } = {}) {
  const d = dflt || {};
  const isFixed = d.value !== undefined && d.value !== null;
  const radio = (mode, checked) =>
    h("input", { type: "radio", name: `mode-${name}`, value: mode, checked, id: `f-${name}-${mode}` });
  const rangeRadio = radio("range", !isFixed);
  const fixedRadio = radio("fixed", isFixed);
  const num = (suffix, value, label) =>
    h("input", {
      id: `f-${name}-${suffix}`,
      name: `${name}.${suffix}`,
      type: "text",
      inputmode: "decimal",
      class: "num-input",
      "aria-label": `${name} ${label}`,
      value: value === undefined || value === null ? "" : String(value),
    });
  const low = num("low", d.low, "low");
  const high = num("high", d.high, "high");
  const log = h("input", { type: "checkbox", id: `f-${name}-log`, checked: d.log ?? true });
  const value = num("value", isFixed ? d.value : fallback, "value");
  rangeRadio.disabled = !tunable;
  const sync = (event) => {
    const fixed = fixedRadio.checked;
    if (event && !fixed && !low.value.trim() && !high.value.trim() && range) {
      // switched to a range with nothing entered: start from the preset's, not from empty
      [low.value, high.value] = range.map(String);
      log.checked = range[0] > 0 || ONE_MINUS.has(name);
    }
    low.disabled = fixed;
    high.disabled = fixed;
    log.disabled = fixed;
    value.disabled = !fixed;
    el.classList.toggle("fixed", fixed);
  };
  rangeRadio.addEventListener("change", sync);
  fixedRadio.addEventListener("change", sync);
  const label = PARAM_LABELS[name] || name;
  const el = h(
    "div",
    { class: "dim", dataset: { dim: name } },
    h("div", { class: "dim-name" }, h("div", { class: "mono", text: label }), name.startsWith("beta") ? h("div", { class: "muted small", text: name }) : null),
    h(
      "div",
      { class: "dim-range" },
      h("label", { class: "radio" }, rangeRadio, " range"),
      low,
      h("span", { class: "muted", text: "to" }),
      high,
      h(
        "label",
        { class: "check", title: ONE_MINUS.has(name) ? "sample log(1 − β) uniformly" : "sample log(value) uniformly" },
        log,
        ONE_MINUS.has(name) ? ` log scale on 1 − ${name === "momentum" ? "momentum" : "β"}` : " log scale",
      ),
    ),
    h("div", { class: "dim-fixed" }, h("label", { class: "radio" }, fixedRadio, " fixed"), value),
    slot(`space.${name}`),
  );
  sync();

  function read(problems) {
    const row = { fixed: fixedRadio.checked, value: value.value, low: low.value, high: high.value, log: log.checked };
    return readDimension(name, row, { value, low, high }, problems);
  }
  return { name, el, read };
}
