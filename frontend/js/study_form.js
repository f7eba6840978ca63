// What the new-study form (pages/new_study.js) sends and where its errors go, without a DOM:
// field text -> request body values, the client's own problems, the server's 422 locations.

/** A field's text as a number: {value}, {empty: true} or {error: "why"}. */
export function parseNumber(text, integer) {
  const t = text.trim();
  if (!t) return { empty: true };
  const v = Number(t);
  if (!Number.isFinite(v)) return { error: "not a number" };
  if (integer && !Number.isInteger(v)) return { error: "must be a whole number" };
  return { value: v };
}

/** Put a number field's value in `body[key]` (an empty field sends nothing), or its problem. */
export function readNumber(text, key, integer, body, problems) {
  const r = parseNumber(text, integer);
  if (r.error) problems.push({ key, msg: r.error });
  else if (!r.empty) body[key] = r.value;
}

/**
 * One parameter of the search space from its row: {value} when fixed, else {low, high, log};
 * each problem names the input (`inputs`, passed through: the page outlines it).
 * @param {string} name the parameter ("lr")
 * @param {{fixed: boolean, value: string, low: string, high: string, log: boolean}} row
 * @param {{value?, low?, high?}} inputs
 */
export function readDimension(name, row, inputs, problems) {
  if (row.fixed) {
    const r = parseNumber(row.value, false);
    if (r.empty) problems.push({ key: `space.${name}`, msg: "enter a value", inputs: [inputs.value] });
    else if (r.error) problems.push({ key: `space.${name}`, msg: `value: ${r.error}`, inputs: [inputs.value] });
    return { value: r.value };
  }
  const a = parseNumber(row.low, false);
  const b = parseNumber(row.high, false);
  for (const [which, r, input] of [["low", a, inputs.low], ["high", b, inputs.high]]) {
    if (r.empty) problems.push({ key: `space.${name}`, msg: `enter ${which}`, inputs: [input] });
    else if (r.error) problems.push({ key: `space.${name}`, msg: `${which}: ${r.error}`, inputs: [input] });
  }
  return { low: a.value, high: b.value, log: row.log };
}

/**
 * A categorical dimension (a schedule's decay shape) from its ticked boxes: one is a fixed
 * {value}, several are {choices} to tune among, none is a problem naming `inputs`.
 */
export function readChoices(name, ticked, inputs, problems) {
  if (!ticked.length) {
    problems.push({ key: `space.${name}`, msg: "tick at least one", inputs });
    return {};
  }
  return ticked.length === 1 ? { value: ticked[0] } : { choices: [...ticked] };
}

/**
 * ["body", "space", "lr", "low"] -> "space.lr.low". An error of the whole body or the whole
 * space that starts with a field's name ("metric: ...", "beta1: ...") goes to that field.
 */
export function locKey(loc, msg) {
  const parts = (loc || []).map(String);
  if (parts[0] === "body") parts.shift();
  const named = /^(\w+): /.exec(String(msg || ""));
  if (named && (parts.length === 0 || (parts.length === 1 && parts[0] === "space"))) parts.push(named[1]);
  return parts.join(".");
}

/** The client's problems, then the server's errors about every other field (all show at once). */
export function mergeErrors(problems, others) {
  const mine = new Set(problems.map((p) => p.key));
  return [...problems, ...others.filter((e) => !mine.has(e.key) && ![...mine].some((k) => e.key.startsWith(`${k}.`)))];
}

/** The longest prefix of `key` that `has` a slot ("space.lr.low" -> "space.lr"), or "" for none. */
export function slotKey(key, has) {
  let k = key;
  while (k && !has(k)) k = k.includes(".") ? k.slice(0, k.lastIndexOf(".")) : "";
  return k;
}
