// frontend/js/study_form.js: the new-study form's values, problems and error placement.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { locKey, mergeErrors, parseNumber, readChoices, readDimension, readNumber, slotKey } from "../../frontend/js/study_form.js";

describe("numbers", () => {
  test("parseNumber: a value, an empty field, or why not", () => {
    assert.deepEqual(parseNumber(" 12 ", true), { value: 12 });
    assert.deepEqual(parseNumber("1e-3", false), { value: 0.001 });
    assert.deepEqual(parseNumber("   ", true), { empty: true });
    assert.deepEqual(parseNumber("abc", false), { error: "not a number" });
    assert.deepEqual(parseNumber("Infinity", false), { error: "not a number" });
    assert.deepEqual(parseNumber("2.5", true), { error: "must be a whole number" });
    assert.deepEqual(parseNumber("2.5", false), { value: 2.5 });
  });

  test("readNumber: the body gets the value, an empty field sends nothing", () => {
    const body = {};
    const problems = [];
    readNumber("20", "n_trials", true, body, problems);
    readNumber("", "seed", true, body, problems);
    readNumber("1.5", "epochs", true, body, problems);
    readNumber("30.5", "timeout_s", false, body, problems);
    assert.deepEqual(body, { n_trials: 20, timeout_s: 30.5 });
    assert.deepEqual(problems, [{ key: "epochs", msg: "must be a whole number" }]);
  });
});

describe("readDimension", () => {
  const inputs = { value: "V", low: "L", high: "H" };

  test("a range", () => {
    const problems = [];
    const spec = readDimension("lr", { fixed: false, value: "", low: "1e-5", high: "0.1", log: true }, inputs, problems);
    assert.deepEqual(spec, { low: 1e-5, high: 0.1, log: true });
    assert.deepEqual(problems, []);
  });

  test("a fixed value ignores the range's fields", () => {
    const problems = [];
    const spec = readDimension("beta1", { fixed: true, value: "0.9", low: "x", high: "", log: false }, inputs, problems);
    assert.deepEqual(spec, { value: 0.9 });
    assert.deepEqual(problems, []);
  });

  test("each bad bound is a problem naming its input", () => {
    const problems = [];
    readDimension("eps", { fixed: false, value: "", low: "", high: "x", log: true }, inputs, problems);
    assert.deepEqual(problems, [
      { key: "space.eps", msg: "enter low", inputs: ["L"] },
      { key: "space.eps", msg: "high: not a number", inputs: ["H"] },
    ]);
  });

  test("a fixed value that is missing or not a number", () => {
    const problems = [];
    readDimension("lr", { fixed: true, value: "", low: "", high: "", log: true }, inputs, problems);
    readDimension("lr", { fixed: true, value: "fast", low: "", high: "", log: true }, inputs, problems);
    assert.deepEqual(problems, [
      { key: "space.lr", msg: "enter a value", inputs: ["V"] },
      { key: "space.lr", msg: "value: not a number", inputs: ["V"] },
    ]);
  });
});

describe("error placement", () => {
  test("locKey drops 'body' and joins the location", () => {
    assert.equal(locKey(["body", "space", "lr", "low"], "bad"), "space.lr.low");
    assert.equal(locKey(["body", "n_trials"], "too big"), "n_trials");
    assert.equal(locKey(["query", 3], "x"), "query.3");
    assert.equal(locKey(null, "x"), "");
  });

  test("locKey sends a whole-body or whole-space error to the field it names", () => {
    assert.equal(locKey(["body"], "metric: enter a metric"), "metric");
    assert.equal(locKey([], "metric: enter a metric"), "metric");
    assert.equal(locKey(["body", "space"], "beta1: must be < 1"), "space.beta1");
    assert.equal(locKey(["body", "space", "lr"], "eps: x"), "space.lr"); // a field's own error stays
    assert.equal(locKey(["body"], "no field named here"), "");
  });

  test("mergeErrors keeps the client's problems and the server's about other fields", () => {
    const mine = [{ key: "epochs", msg: "must be a whole number" }, { key: "space.lr", msg: "enter low" }];
    const server = [
      { key: "epochs", msg: "Input should be a valid integer" },
      { key: "space.lr.low", msg: "must be > 0" },
      { key: "space.lrx", msg: "unknown" },
      { key: "n_trials", msg: "too big" },
    ];
    assert.deepEqual(mergeErrors(mine, server), [...mine, { key: "space.lrx", msg: "unknown" }, { key: "n_trials", msg: "too big" }]);
    assert.deepEqual(mergeErrors([], server), server);
  });

  test("slotKey: the longest prefix with a slot, else ''", () => {
    const slots = new Set(["space", "space.lr", "n_trials"]);
    const has = (k) => slots.has(k);
    assert.equal(slotKey("space.lr.low", has), "space.lr");
    assert.equal(slotKey("space.eps.low", has), "space");
    assert.equal(slotKey("n_trials", has), "n_trials");
    assert.equal(slotKey("query.3", has), "");
    assert.equal(slotKey("", has), "");
  });
});

describe("readChoices", () => {
  test("one ticked shape is fixed, several are tuned among, none is a problem", () => {
    const problems = [];
    assert.deepEqual(readChoices("decay", ["cosine"], [], problems), { value: "cosine" });
    assert.deepEqual(readChoices("decay", ["cosine", "linear"], [], problems), { choices: ["cosine", "linear"] });
    assert.deepEqual(problems, []);
    const box = { id: "f-decay-cosine" };
    assert.deepEqual(readChoices("decay", [], [box], problems), {});
    assert.deepEqual(problems, [{ key: "space.decay", msg: "tick at least one", inputs: [box] }]);
  });
});
