// GET /api/options, loaded once per page load: the optimizer families with their defaults and
// ranges, samplers, pruners and limits. The dashboard writes no optimizer default of its own.
import { api } from "./api.js";

let loading = null;

/** The options (a failed load is retried on the next call). */
export function loadOptions() {
  if (!loading) {
    loading = api.get("/options").catch((err) => {
      loading = null;
      throw err;
    });
  }
  return loading;
}

/** The optimizer family `name` of the options (null: unknown, e.g. a plain Optuna study). */
export function familyOf(options, name) {
  return (options?.optimizers || []).find((f) => f.name === name) || null;
}

/** "default Adam", "default AdamW", "default SGD": what a baseline trial trains with. */
export function defaultsName(family) {
  const cls = family?.torch_class ? family.torch_class.split(".").pop() : "Adam";
  return `default ${cls}`;
}
