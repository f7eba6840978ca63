// frontend/js/budget_data.js: what a comparison's budget chart plots, from the budget report.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { axisTitle, budgetSeries, logAxis } from "../../frontend/js/budget_data.js";

// a report as GET /api/comparisons/{id}/budget gives it: Adam searched (its first trial pruned
// before any completed), Prodigy one-shot, whose validated mean is the target
const BUDGET = {
  run_epochs: 4,
  target: { value: 0.3, source: "one_shot", optimizer: "prodigy", label: "Prodigy" },
  families: [
    {
      optimizer: "adam",
      label: "Adam",
      one_shot: false,
      curve: {
        trial: [1, 0, 2, 3],
        state: ["PRUNED", "COMPLETE", "COMPLETE", "COMPLETE"],
        epochs: [1, 5, 9, 13],
        seconds: [0.5, 2.5, 4.0, 6.0],
        best: [null, 0.5, 0.25, 0.25],
      },
      reached: { trial: 2, best: 0.25, epochs: 9, seconds: 4.0, runs: 2.25 },
      validated: { label: "trial 2", mean: 0.28, ci_low: 0.26, ci_high: 0.3, n: 10, epochs: 93, seconds: 40 },
    },
    {
      optimizer: "prodigy",
      label: "Prodigy",
      one_shot: true,
      curve: { trial: [], state: [], epochs: [], seconds: [], best: [] },
      reached: null,
      validated: { label: "default", mean: 0.3, ci_low: null, ci_high: null, n: 1, epochs: 4, seconds: 1.5 },
    },
  ],
};

describe("budget series", () => {
  test("a search's curve starts at its first complete trial, a step per finished trial", () => {
    const { searches } = budgetSeries(BUDGET, "epochs");
    assert.equal(searches.length, 1);
    const [adam] = searches;
    assert.deepEqual(adam.x, [5, 9, 13]);
    assert.deepEqual(adam.y, [0.5, 0.25, 0.25]);
    assert.deepEqual(adam.trial, [0, 2, 3]);
    assert.equal(adam.index, 0);
    assert.equal(adam.label, "Adam");
    assert.match(adam.name, /own seed/);
    // where it reached the target: on the curve
    assert.deepEqual(adam.reach, { x: 9, y: 0.25, trial: 2 });
  });

  test("seconds on the x axis", () => {
    const { searches, points, target } = budgetSeries(BUDGET, "seconds");
    assert.deepEqual(searches[0].x, [2.5, 4.0, 6.0]);
    assert.equal(searches[0].reach.x, 4.0);
    assert.deepEqual(points.map((p) => p.x), [40, 1.5]);
    assert.deepEqual(target.x, [1.5, 40]);
    assert.equal(axisTitle("seconds"), "compute: seconds of training");
    assert.equal(axisTitle("epochs"), "compute: epochs trained");
  });

  test("validated points: a tuned pick at its search + validation, a one-shot run alone", () => {
    const { points } = budgetSeries(BUDGET, "epochs");
    assert.deepEqual(
      points.map((p) => [p.optimizer, p.oneShot, p.x, p.y, p.low, p.high, p.index]),
      [
        ["adam", false, 93, 0.28, 0.26, 0.3, 0],
        // no CI (one seed): the bar collapses to the mean
        ["prodigy", true, 4, 0.3, 0.3, 0.3, 1],
      ],
    );
  });

  test("the target spans every x; none without a target", () => {
    const { target } = budgetSeries(BUDGET, "epochs");
    assert.deepEqual(target, { y: 0.3, x: [4, 93], name: "target: Prodigy at its defaults" });
    const given = budgetSeries({ ...BUDGET, target: { value: 0.2, source: "given", optimizer: null, label: null } });
    assert.equal(given.target.name, "target (given)");
    const none = budgetSeries({ ...BUDGET, target: null, families: BUDGET.families.map((f) => ({ ...f, reached: null })) });
    assert.equal(none.target, null);
    assert.equal(none.searches[0].reach, null);
  });

  test("nothing finished yet: no series, no target line", () => {
    const empty = {
      target: null,
      families: BUDGET.families.map((f) => ({ ...f, curve: { trial: [], state: [], epochs: [], seconds: [], best: [] }, validated: null, reached: null })),
    };
    assert.deepEqual(budgetSeries(empty), { searches: [], points: [], target: null });
    assert.deepEqual(budgetSeries(undefined), { searches: [], points: [], target: null });
  });

  test("a log axis when the compute spans a decade", () => {
    assert.equal(logAxis(budgetSeries(BUDGET, "epochs")), true); // 4 to 93
    const near = budgetSeries({ ...BUDGET, families: [BUDGET.families[0]] }, "epochs");
    assert.equal(logAxis(near), true); // 5 to 93
    const close = budgetSeries({ ...BUDGET, families: [{ ...BUDGET.families[0], validated: null }] }, "epochs");
    assert.equal(logAxis(close), false); // 5 to 13
    assert.equal(logAxis({ searches: [], points: [] }), false);
  });
});
