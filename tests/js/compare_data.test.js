// frontend/js/compare_data.js: what the compare page plots, from plain study/trial objects.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  bestSoFar,
  caution,
  compareHref,
  curveKey,
  curveOf,
  edf,
  isLive,
  parseIds,
  refusal,
  shortLabels,
  validated,
} from "../../frontend/js/compare_data.js";

const trial = (number, state, value, extra = {}) => ({ number, state, value, ...extra });

describe("ids and links", () => {
  test("parseIds keeps the order, drops repeats and blanks", () => {
    assert.deepEqual(parseIds("ids=3,4,3, 5,"), [3, 4, 5]);
    assert.deepEqual(parseIds("?ids=7"), [7]);
    assert.deepEqual(parseIds(""), []);
    assert.deepEqual(parseIds(undefined), []);
  });

  test("parseIds refuses what is not a list of ids", () => {
    assert.equal(parseIds("ids=3,x"), null);
    assert.equal(parseIds("ids=-1"), null);
    assert.equal(parseIds("ids=1.5"), null);
    assert.equal(parseIds("ids=1234567890"), null);
  });

  test("compareHref is parseIds' inverse", () => {
    assert.equal(compareHref([3, 4]), "#/compare?ids=3,4");
    assert.deepEqual(parseIds(compareHref([9, 2, 5]).split("?")[1]), [9, 2, 5]);
  });
});

describe("isLive", () => {
  test("an active study, or a writable one with a running trial", () => {
    assert.equal(isLive({ status: "running" }), true);
    assert.equal(isLive({ status: "queued" }), true);
    assert.equal(isLive({ status: "stopping" }), true);
    assert.equal(isLive({ status: "finished" }), false);
    assert.equal(isLive({ status: "finished", progress: { running: 1 } }), true);
    assert.equal(isLive({ status: "finished", read_only: true, progress: { running: 1 } }), false);
  });
});

describe("refusal and caution", () => {
  test("no refusal when the directions agree", () => {
    assert.equal(refusal([{ direction: "minimize" }, { direction: "minimize" }]), "");
    assert.equal(refusal([]), "");
  });

  test("mixed directions are refused, naming the studies on each side", () => {
    const msg = refusal([
      { name: "a", direction: "minimize" },
      { name: "b", direction: "maximize" },
      { name: "c", direction: "minimize" },
    ]);
    assert.match(msg, /do not share a direction/);
    assert.match(msg, /"a", "c" minimise/);
    assert.match(msg, /"b" maximise/);
  });

  test("a caution when tasks or metrics differ", () => {
    assert.equal(caution([{ task: "t", metric: "val_loss" }, { task: "t", metric: "val_loss" }]), "");
    const msg = caution([{ task: "t", metric: "val_loss" }, { task: null, metric: "value" }]);
    assert.match(msg, /t · val_loss; an Optuna script's value · value/);
  });
});

describe("curves", () => {
  test("curveKey: the study's metric when curves carry it, else val_loss", () => {
    assert.equal(curveKey({ metric: "val_accuracy" }), "val_accuracy");
    assert.equal(curveKey({ metric: "value" }), "val_loss");
  });

  test("curveOf keeps the finite points of the study's metric", () => {
    const detail = { curve: { epoch: [1, 2, 3, 4], val_accuracy: [0.5, null, "0.7", NaN] } };
    assert.deepEqual(curveOf(detail, { metric: "val_accuracy" }), { x: [1, 3], y: [0.5, 0.7] });
    assert.deepEqual(curveOf(null, { metric: "val_loss" }), { x: [], y: [] });
  });
});

describe("bestSoFar", () => {
  const trials = [
    trial(2, "COMPLETE", 0.5, { datetime_start: "2026-01-01T00:00:02", datetime_complete: "2026-01-01T00:00:20", epochs_done: 3 }),
    trial(0, "FAIL", null, { datetime_start: "2026-01-01T00:00:00", datetime_complete: "2026-01-01T00:00:05", epochs_done: 1 }),
    trial(1, "COMPLETE", 0.8, { datetime_start: "2026-01-01T00:00:01", datetime_complete: "2026-01-01T00:00:10", epochs_done: 3 }),
    trial(3, "PRUNED", null, { datetime_start: "2026-01-01T00:00:11", datetime_complete: "2026-01-01T00:00:15", epochs_done: 1 }),
    trial(4, "RUNNING", null, { datetime_start: "2026-01-01T00:00:16", epochs_done: 2 }),
  ];

  test("by trial number: from the first complete trial on, finished trials only", () => {
    const { byNumber } = bestSoFar(trials, "minimize");
    assert.deepEqual(byNumber, { x: [1, 2, 3], y: [0.8, 0.5, 0.5], trial: [1, 2, 2] });
  });

  test("by budget: completion order, seconds since the first start, epochs so far", () => {
    const { byBudget, epochs } = bestSoFar(trials, "minimize");
    assert.deepEqual(byBudget.trial, [1, 1, 2]);
    assert.deepEqual(byBudget.y, [0.8, 0.8, 0.5]);
    assert.deepEqual(byBudget.seconds, [10, 15, 20]);
    assert.deepEqual(byBudget.epochs, [4, 5, 8]); // the failed trial's epoch counts too
    assert.equal(epochs, 10); // every trial's epochs, the running one's included
  });

  test("maximize keeps the highest value", () => {
    const { byNumber } = bestSoFar(trials, "maximize");
    assert.deepEqual(byNumber.y, [0.8, 0.8, 0.8]);
    assert.deepEqual(byNumber.trial, [1, 1, 1]);
  });

  test("no complete trial: no points", () => {
    const r = bestSoFar([trial(0, "FAIL", null), trial(1, "PRUNED", null)], "minimize");
    assert.deepEqual(r.byNumber, { x: [], y: [], trial: [] });
    assert.deepEqual(r.byBudget.y, []);
  });
});

test("edf: sorted complete values against the fraction at or below", () => {
  const r = edf([trial(0, "COMPLETE", 3), trial(1, "COMPLETE", 1), trial(2, "PRUNED", 0), trial(3, "COMPLETE", null), trial(4, "COMPLETE", 2)]);
  assert.deepEqual(r.x, [1, 2, 3]);
  assert.deepEqual(r.y, [1 / 3, 2 / 3, 1]);
});

test("validated: the retrained winner and the defaults, each with a mean", () => {
  const study = {
    validation: {
      status: "done",
      configs: [
        { label: "default", mean: 0.4 },
        { label: "trial 3", mean: null },
        { label: "trial 5", mean: 0.3 },
      ],
    },
  };
  assert.deepEqual(validated(study), { winner: { label: "trial 5", mean: 0.3 }, defaults: { label: "default", mean: 0.4 }, status: "done" });
  assert.deepEqual(validated({}), { winner: null, defaults: null, status: null });
});

describe("shortLabels", () => {
  test("drops the shared prefix up to ' / '", () => {
    assert.deepEqual(shortLabels(["cmp / adam", "cmp / sgd"]), ["adam", "sgd"]);
  });

  test("keeps names that share no ' / ' prefix, and a single name", () => {
    assert.deepEqual(shortLabels(["alpha", "alps"]), ["alpha", "alps"]);
    assert.deepEqual(shortLabels(["cmp / adam"]), ["cmp / adam"]);
  });

  test("does not drop the prefix when a name would be left empty", () => {
    assert.deepEqual(shortLabels(["cmp / ", "cmp / sgd"]), ["cmp / ", "cmp / sgd"]);
  });

  test("a long name keeps its two ends in 40 characters", () => {
    const long = `${"a".repeat(30)}${"b".repeat(30)}`;
    const [out] = shortLabels([long]);
    assert.equal(out.length, 40);
    assert.ok(out.startsWith("a".repeat(18)));
    assert.ok(out.endsWith("b".repeat(21)));
    assert.ok(out.includes("…"));
  });
});
