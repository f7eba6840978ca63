// New study form: task, budget, sampler/pruner and the search space over Adam's hyper-parameters.
import { api, errorMessage, isAbort } from "../api.js";
import { clear, h, setText } from "../dom.js";
import { DIMENSIONS, PARAM_LABELS, metricLabel } from "../format.js";

// torch.optim.Adam's defaults: what a dimension is fixed to when switched to "fixed"
const TORCH_DEFAULTS = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0 };
// a range to start from when a fixed dimension is switched to "range" (optim/space.py)
const RANGE_DEFAULTS = { lr: [1e-5, 0.1], beta1: [0.5, 0.999], beta2: [0.9, 0.99999], eps: [1e-10, 0.01], weight_decay: [1e-6, 0.01] };
const BETAS = new Set(["beta1", "beta2"]);

// What each choice does, in a line (the API lists names only).
const DESCRIPTIONS = {
  sampler: {
    tpe: "Tree-structured Parzen Estimator: models good and bad trials separately and samples where good ones are likely. A sound default.",
    random: "Independent uniform samples (on the log scale where set): no model, a baseline to beat.",
    qmc: "Scrambled Sobol sequence: covers the space more evenly than random samples.",
    cmaes: "CMA-ES: adapts a Gaussian search distribution; strong with many trials, weak with few.",
    gp: "Gaussian-process Bayesian optimisation: sample-efficient for small budgets, slower per trial.",
    grid: "Every combination of a few evenly spaced values per searched dimension.",
  },
  pruner: {
    none: "Every trial trains for all its epochs.",
    median: "Stops a trial whose loss is worse than the median of earlier trials at the same epoch.",
    successive_halving: "Keeps the best fraction of trials at each rung of epochs, stops the rest.",
    hyperband: "Successive halving run at several aggressiveness levels at once; the default.",
  },
};

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

function choiceName(choice) {
  return typeof choice === "string" ? choice : choice?.name ?? String(choice);
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

  // --- task ---
  const taskSelect = h(
    "select",
    { id: "f-task", name: "task", required: true },
    tasks.map((t) => h("option", { value: t.name }, t.name)),
  );
  const taskInfo = h("div", { class: "hint task-info" });
  const nameInput = h("input", { id: "f-name", name: "name", type: "text", maxlength: 200, placeholder: "optional, e.g. mlp lr sweep" });
  const nTrials = h("input", {
    id: "f-n_trials",
    name: "n_trials",
    type: "text",
    inputmode: "numeric",
    value: String(Math.min(30, limits.max_trials || 30)),
  });
  const epochs = h("input", { id: "f-epochs", name: "epochs", type: "text", inputmode: "numeric" });
  const seed = h("input", { id: "f-seed", name: "seed", type: "text", inputmode: "numeric", value: "0" });
  let epochsTouched = false;
  epochs.addEventListener("input", () => {
    epochsTouched = true;
  });

  function currentTask() {
    return tasks.find((t) => t.name === taskSelect.value);
  }
  function showTask() {
    const t = currentTask();
    clear(taskInfo);
    if (!t) return;
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
  taskSelect.addEventListener("change", showTask);

  // --- sampler / pruner ---
  const choiceSelect = (id, name, choices, dflt) =>
    h(
      "select",
      { id, name },
      (choices || []).map((c) => {
        const value = choiceName(c);
        return h("option", { value, selected: value === dflt, title: c?.description || null }, value);
      }),
    );
  const sampler = choiceSelect("f-sampler", "sampler", options.samplers, options.default_sampler);
  const pruner = choiceSelect("f-pruner", "pruner", options.pruners, options.default_pruner);
  const describe = (select, kind) => {
    const hint = h("div", { class: "hint", id: `${select.id}-about`, "aria-live": "polite" });
    const show = () => {
      const choice = (options[`${kind}s`] || []).find((c) => choiceName(c) === select.value);
      setText(hint, choice?.description || DESCRIPTIONS[kind][select.value] || "");
    };
    select.addEventListener("change", show);
    select.setAttribute("aria-describedby", hint.id);
    show();
    return hint;
  };
  const samplerAbout = describe(sampler, "sampler");
  const prunerAbout = describe(pruner, "pruner");

  // --- advanced ---
  const timeout = h("input", { id: "f-timeout_s", name: "timeout_s", type: "text", inputmode: "decimal", placeholder: "none" });
  const parallelism = h("input", { id: "f-parallelism", name: "parallelism", type: "text", inputmode: "numeric", placeholder: "server default" });

  // --- search space ---
  const dims = DIMENSIONS.map((name) => dimensionRow(name, (options.default_space || {})[name], slot));

  const submit = h("button", { type: "submit", class: "primary", id: "f-submit" }, "Create study");
  const field = (label, input, key, hint) =>
    h(
      "div",
      { class: "field" },
      h("label", { for: input.id, text: label }),
      input,
      hint instanceof Node ? hint : hint ? h("div", { class: "hint", text: hint }) : null,
      slot(key),
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
      h(
        "div",
        { class: "grid-4" },
        field("Trials", nTrials, "n_trials", limits.max_trials ? `at most ${limits.max_trials}` : null),
        field("Epochs per trial", epochs, "epochs", limits.max_epochs ? `at most ${limits.max_epochs}` : null),
        field("Sampler", sampler, "sampler", samplerAbout),
        field("Pruner", pruner, "pruner", prunerAbout),
      ),
      h(
        "div",
        { class: "grid-4" },
        field("Seed", seed, "seed", "same seed, same trials"),
        field("Timeout (s)", timeout, "timeout_s", "stop the study after this long"),
        field("Parallel trials", parallelism, "parallelism"),
      ),
    ),
    h(
      "section",
      { class: "panel" },
      h("h2", { text: "Search space" }),
      h(
        "p",
        { class: "hint" },
        "Each hyper-parameter is either searched over a range or fixed. For β1 and β2 the log scale is on 1 − β, i.e. log(1 − β): it spreads 0.9, 0.99 and 0.999 evenly.",
      ),
      slot("space"),
      h("div", { class: "space-rows" }, dims.map((d) => d.el)),
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
    readNumber(nTrials, "n_trials", true, body, problems);
    readNumber(epochs, "epochs", true, body, problems);
    readNumber(seed, "seed", true, body, problems);
    readNumber(timeout, "timeout_s", false, body, problems);
    readNumber(parallelism, "parallelism", true, body, problems);
    if (sampler.value) body.sampler = sampler.value;
    if (pruner.value) body.pruner = pruner.value;
    body.space = {};
    for (const d of dims) {
      const before = problems.length;
      const value = d.read(problems);
      if (problems.length === before) body.space[d.name] = value;
    }
    if (problems.length) {
      // the server still checks every other field, so all the errors show at once
      const others = await serverErrors(body);
      if (!ctx.alive()) return;
      const mine = new Set(problems.map((p) => p.key));
      showErrors([...problems, ...others.filter((e) => !mine.has(e.key) && ![...mine].some((k) => e.key.startsWith(`${k}.`)))]);
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
      location.hash = id !== null ? `#/studies/${id}` : "#/";
    } catch (err) {
      if (isAbort(err) || !ctx.alive()) return;
      submit.disabled = false;
      setText(submit, "Create study");
      const fieldErrors = err.fieldErrors || [];
      if (err.status === 422 && fieldErrors.length) {
        showErrors(fieldErrors.map((e) => ({ key: locKey(e.loc), msg: e.msg })));
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
      return err.status === 422 ? (err.fieldErrors || []).map((e) => ({ key: locKey(e.loc), msg: e.msg })) : [];
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
      let k = key;
      while (k && !slots.has(k)) k = k.includes(".") ? k.slice(0, k.lastIndexOf(".")) : "";
      if (k) {
        const el = slots.get(k);
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

  showTask();
  return form;
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

/** ["body", "space", "lr", "low"] -> "space.lr.low" */
function locKey(loc) {
  const parts = (loc || []).map(String);
  if (parts[0] === "body") parts.shift();
  return parts.join(".");
}

function parseNumber(text, integer) {
  const t = text.trim();
  if (!t) return { empty: true };
  const v = Number(t);
  if (!Number.isFinite(v)) return { error: "not a number" };
  if (integer && !Number.isInteger(v)) return { error: "must be a whole number" };
  return { value: v };
}

function readNumber(input, key, integer, body, problems) {
  const r = parseNumber(input.value, integer);
  if (r.error) problems.push({ key, msg: r.error });
  else if (!r.empty) body[key] = r.value;
}

function dimensionRow(name, dflt, slot) {
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
  const value = num("value", isFixed ? d.value : TORCH_DEFAULTS[name], "value");
  const sync = (event) => {
    const fixed = fixedRadio.checked;
    if (event && !fixed && !low.value.trim() && !high.value.trim() && RANGE_DEFAULTS[name]) {
      // switched to a range with nothing entered: start from the usual one, not from empty
      [low.value, high.value] = RANGE_DEFAULTS[name].map(String);
      log.checked = true;
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
    h("div", { class: "dim-name" }, h("div", { class: "mono", text: label }), BETAS.has(name) ? h("div", { class: "muted small", text: name }) : null),
    h(
      "div",
      { class: "dim-range" },
      h("label", { class: "radio" }, rangeRadio, " range"),
      low,
      h("span", { class: "muted", text: "to" }),
      high,
      h(
        "label",
        { class: "check", title: BETAS.has(name) ? "sample log(1 − β) uniformly" : "sample log(value) uniformly" },
        log,
        BETAS.has(name) ? " log scale on 1 − β" : " log scale",
      ),
    ),
    h("div", { class: "dim-fixed" }, h("label", { class: "radio" }, fixedRadio, " fixed"), value),
    slot(`space.${name}`),
  );
  sync();

  function read(problems) {
    if (fixedRadio.checked) {
      const r = parseNumber(value.value, false);
      if (r.empty) problems.push({ key: `space.${name}`, msg: "enter a value", inputs: [value] });
      else if (r.error) problems.push({ key: `space.${name}`, msg: `value: ${r.error}`, inputs: [value] });
      return { value: r.value };
    }
    const a = parseNumber(low.value, false);
    const b = parseNumber(high.value, false);
    for (const [which, r, input] of [["low", a, low], ["high", b, high]]) {
      if (r.empty) problems.push({ key: `space.${name}`, msg: `enter ${which}`, inputs: [input] });
      else if (r.error) problems.push({ key: `space.${name}`, msg: `${which}: ${r.error}`, inputs: [input] });
    }
    return { low: a.value, high: b.value, log: log.checked };
  }
  return { name, el, read };
}
