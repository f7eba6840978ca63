// frontend/js/schedule_data.js: a trial's learning rate over its run, from its schedule.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { CHART_STEPS, lrCurve, lrFactor, scheduleOf, warmupSteps } from "../../frontend/js/schedule_data.js";

const close = (a, b) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

describe("scheduleOf", () => {
  test("no warmup and a constant rate is no schedule", () => {
    assert.equal(scheduleOf({ lr: 1e-3 }), null);
    assert.equal(scheduleOf({ lr: 1e-3, warmup: 0, decay: "constant", final_fraction: 0.3 }), null);
    assert.deepEqual(scheduleOf({ warmup: 0.1, decay: "constant" }), { warmup: 0.1, decay: "constant", final_fraction: 0 });
  });
});

describe("lrFactor", () => {
  test("warmup climbs linearly to the peak over int(warmup * total) steps", () => {
    const s = { warmup: 0.1, decay: "cosine", final_fraction: 0.1 };
    assert.equal(warmupSteps(s, 100), 10);
    for (let step = 0; step < 10; step++) close(lrFactor(s, step, 100), (step + 1) / 11);
    close(lrFactor(s, 10, 100), 1);
  });

  test("cosine passes the middle of its range halfway and ends at the final fraction", () => {
    const s = { warmup: 0.1, decay: "cosine", final_fraction: 0.1 };
    close(lrFactor(s, 55, 100), 0.55);
    close(lrFactor(s, 100, 100), 0.1);
  });

  test("linear decays evenly; constant stays at the peak after its warmup", () => {
    const linear = { warmup: 0, decay: "linear", final_fraction: 0 };
    assert.deepEqual([0, 1, 2, 3, 4].map((s) => lrFactor(linear, s, 4)), [1, 0.75, 0.5, 0.25, 0]);
    const constant = { warmup: 0.5, decay: "constant", final_fraction: 0 };
    assert.deepEqual([0, 1, 2, 3].map((s) => lrFactor(constant, s, 4)), [1 / 3, 2 / 3, 1, 1]);
  });

  test("no schedule is the peak", () => assert.equal(lrFactor(null, 3, 10), 1));
});

describe("lrCurve", () => {
  test("one point per sampled step, on the epoch axis, scaled by the peak", () => {
    const curve = lrCurve({ lr: 0.01, warmup: 0.25, decay: "linear", final_fraction: 0 }, 4);
    assert.equal(curve.x.length, CHART_STEPS);
    close(curve.x[0], 4 / CHART_STEPS);
    close(curve.x.at(-1), 4);
    close(Math.max(...curve.y), 0.01);
    assert.ok(curve.y[0] < 0.01 / 50);
    assert.ok(curve.y.at(-1) < 0.01 / 100);
  });

  test("nothing to draw without a schedule, an lr or epochs", () => {
    assert.equal(lrCurve({ lr: 0.01 }, 4), null);
    assert.equal(lrCurve({ warmup: 0.1 }, 4), null);
    assert.equal(lrCurve({ lr: 0.01, warmup: 0.1 }, 0), null);
  });
});
