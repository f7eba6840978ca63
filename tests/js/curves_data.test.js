// frontend/js/curves_data.js: the live curves' data side (points, state, order, y-range).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { BULK_MIN, CurveData, MAX_TRACES, robustRange, spansDecades } from "../../frontend/js/curves_data.js";

/** A `GET /curves` answer from {trial: [[epoch, val_loss], ...]}. */
function page(curves, trials = []) {
  const points = { trial: [], epoch: [], train_loss: [], val_loss: [], val_accuracy: [] };
  for (const [n, pts] of Object.entries(curves)) {
    for (const [epoch, loss] of pts) {
      points.trial.push(Number(n));
      points.epoch.push(epoch);
      points.train_loss.push(loss * 2);
      points.val_loss.push(loss);
      points.val_accuracy.push(1 - loss);
    }
  }
  return { trials, points };
}

describe("spansDecades", () => {
  test("positive values over more than the ratio", () => {
    assert.equal(spansDecades([0.01, 5]), true);
    assert.equal(spansDecades([0.1, 5]), false);
    assert.equal(spansDecades([0.1, 5], 10), true);
    assert.equal(spansDecades([0.01, null, NaN, 5]), true);
  });

  test("never with a value at or below zero, or no values", () => {
    assert.equal(spansDecades([0, 0.01, 5]), false);
    assert.equal(spansDecades([-1, 0.01, 5]), false);
    assert.equal(spansDecades([]), false);
    assert.equal(spansDecades(undefined), false);
  });
});

describe("robustRange", () => {
  test("no values: autorange (null)", () => {
    assert.equal(robustRange([]), null);
    assert.equal(robustRange([null, NaN]), null);
    assert.equal(robustRange([-1, 0], { log: true }), null);
  });

  test("without outliers: the full range with 5% room, not clipped", () => {
    const r = robustRange([1, 2, 3, 4, 5]);
    assert.equal(r.clipped, false);
    assert.deepEqual(r.range, [0.8, 5.2]);
  });

  test("a spike on the bad (high) side is clipped, the bulk stays in view", () => {
    const values = [1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 100];
    const r = robustRange(values);
    assert.equal(r.clipped, true);
    assert.ok(r.range[1] < 10, `top ${r.range[1]}`);
    assert.ok(r.range[0] < 1);
  });

  test("accuracy (bad low) clips the low side only", () => {
    const values = [0.9, 0.91, 0.92, 0.93, 0.94, 0.95, 0.01];
    const r = robustRange(values, { badHigh: false });
    assert.equal(r.clipped, true);
    assert.ok(r.range[0] > 0.5, `bottom ${r.range[0]}`);
    assert.ok(r.range[1] > 0.95);
    // the same values as a loss: the outlier is on the good side, nothing is clipped
    assert.equal(robustRange(values).clipped, false);
  });

  test("`must` values stay in view", () => {
    const values = [1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 100];
    const r = robustRange(values, { must: [100] });
    assert.equal(r.clipped, false);
    assert.ok(r.range[1] > 100);
  });

  test("a log axis works in log10 units", () => {
    const r = robustRange([0.01, 0.1, 1]);
    const lr = robustRange([0.01, 0.1, 1], { log: true });
    assert.equal(lr.clipped, false);
    assert.ok(Math.abs(lr.range[0] - (-2 - 0.1)) < 1e-12, `${lr.range}`);
    assert.ok(Math.abs(lr.range[1] - (0 + 0.1)) < 1e-12, `${lr.range}`);
    assert.notDeepEqual(r.range, lr.range);
  });

  test("one value: a range around it", () => {
    assert.deepEqual(robustRange([2]).range, [2 - 0.2 * 0.05, 2 + 0.2 * 0.05]);
    assert.deepEqual(robustRange([0]).range, [-0.05, 0.05]);
  });
});

describe("CurveData points", () => {
  test("the metric defaults to val_loss", () => {
    assert.equal(new CurveData({ metric: "nonsense" }).metric, "val_loss");
    assert.equal(new CurveData({ metric: "val_accuracy" }).metric, "val_accuracy");
  });

  test("addPoint records in epoch order and refuses duplicates and older epochs", () => {
    const d = new CurveData();
    assert.equal(d.addPoint({ trial: 0, epoch: 1, val_loss: 0.5 }), true);
    assert.equal(d.addPoint({ trial: 0, epoch: 2, val_loss: 0.4 }), true);
    assert.equal(d.addPoint({ trial: 0, epoch: 2, val_loss: 0.3 }), false);
    assert.equal(d.addPoint({ trial: 0, epoch: 1, val_loss: 0.3 }), false);
    const t = d.trials.get(0);
    assert.deepEqual(t.epoch, [1, 2]);
    assert.deepEqual(t.val_loss, [0.5, 0.4]);
    assert.deepEqual(t.train_loss, [null, null]); // a metric the point lacks is null
    assert.equal(d.epochsOf(0), 2);
    assert.equal(d.epochsOf(7), 0);
    assert.equal(d.pendingPoints.get(0), 2);
  });

  test("loadPage: trials and points of a page, nothing pending afterwards", () => {
    const d = new CurveData();
    d.loadPage(page({ 0: [[1, 0.9], [2, 0.8]], 1: [[1, 0.7]] }, [{ number: 0, state: "COMPLETE", value: 0.8 }, { number: 1, state: "RUNNING" }]));
    assert.deepEqual(d.trials.get(0).val_loss, [0.9, 0.8]);
    assert.deepEqual(d.trials.get(0).val_accuracy.map((v) => Number(v.toFixed(3))), [0.1, 0.2]);
    assert.equal(d.trials.get(0).state, "COMPLETE");
    assert.equal(d.trials.get(0).value, 0.8);
    assert.equal(d.pendingPoints.size, 0);
    assert.equal(d.pendingStyle.size, 0);
    assert.equal(d.maxEpoch, 2);
    assert.equal(d.minEpoch, 1);
  });

  test("a second, overlapping page adds only the new points", () => {
    const d = new CurveData();
    d.loadPage(page({ 0: [[1, 0.9], [2, 0.8]] }));
    d.loadPage(page({ 0: [[2, 0.8], [3, 0.7]], 1: [[1, 0.6]] }));
    assert.deepEqual(d.trials.get(0).epoch, [1, 2, 3]);
    assert.deepEqual(d.trials.get(0).val_loss, [0.9, 0.8, 0.7]);
    assert.deepEqual(d.trials.get(1).epoch, [1]);
  });

  test("epochSpan: a fixed length or the longest curve; step 0 starts the axis at 0", () => {
    const d = new CurveData({ epochs: 20 });
    assert.deepEqual(d.epochSpan(), { last: 20, first: 1 });
    d.addPoint({ trial: 0, epoch: 25, val_loss: 1 });
    assert.deepEqual(d.epochSpan(), { last: 25, first: 1 });
    const zero = new CurveData();
    assert.deepEqual(zero.epochSpan(), { last: 1, first: 1 });
    zero.addPoint({ trial: 0, epoch: 0, val_loss: 1 });
    assert.deepEqual(zero.epochSpan(), { last: 1, first: 0 });
  });
});

describe("CurveData state", () => {
  test("updateTrial marks a trial for restyling only when its look changes", () => {
    const d = new CurveData();
    d.updateTrial({ number: 3, state: "RUNNING" });
    assert.ok(d.pendingStyle.has(3) === false); // a new trial is RUNNING already
    d.updateTrial({ number: 3, state: "COMPLETE", value: 0.1 });
    assert.ok(d.pendingStyle.has(3));
    d.pendingStyle.clear();
    d.updateTrial({ number: 3, reason: "why" });
    assert.equal(d.pendingStyle.size, 0);
    assert.equal(d.trials.get(3).reason, "why");
    d.updateTrial(null);
    d.updateTrial({ state: "COMPLETE" });
    assert.equal(d.trials.size, 1);
  });

  test("a baseline in the trials marks the study's baseline", () => {
    const d = new CurveData();
    d.updateTrial({ number: 4, baseline: true });
    assert.equal(d.baseline, 4);
    assert.equal(d.group(d.trials.get(4)), "baseline");
  });

  test("setParams and setInterrupted change a known trial once", () => {
    const d = new CurveData();
    assert.equal(d.setParams(0, { lr: 1 }), false); // unknown trial
    d.addPoint({ trial: 0, epoch: 1, val_loss: 1 });
    assert.equal(d.setParams(0, {}), false);
    assert.equal(d.setParams(0, { lr: 1 }), true);
    assert.equal(d.setParams(0, { lr: 2 }), false);
    assert.deepEqual(d.trials.get(0).params, { lr: 1 });
    assert.equal(d.setInterrupted(0), true);
    assert.equal(d.setInterrupted(0), false);
    assert.equal(d.setInterrupted(9), false);
  });

  test("setBest and setBaseline report a change and restyle old and new", () => {
    const d = new CurveData();
    assert.equal(d.setBest(undefined), false);
    assert.equal(d.setBest(2), true);
    assert.equal(d.setBest(2), false);
    assert.equal(d.setBest(5), true);
    assert.deepEqual([...d.pendingStyle].sort(), [2, 5]);
    assert.equal(d.setBaseline(null), false);
    assert.equal(d.setBaseline(0), true);
    assert.equal(d.setBaseline(0), false);
    assert.equal(d.trials.get(0).baseline, true);
  });

  test("group: baseline, best, then by state; an interrupted FAIL is 'stopped'", () => {
    const d = new CurveData();
    d.setBest(1);
    d.setBaseline(0);
    const states = { 2: "PRUNED", 3: "FAIL", 4: "COMPLETE", 5: "RUNNING", 6: "FAIL" };
    for (const [n, state] of Object.entries(states)) d.updateTrial({ number: Number(n), state });
    d.trials.get(6).interrupted = true;
    const groups = [0, 1, 2, 3, 4, 5, 6].map((n) => d.group(d.trial(n)));
    assert.deepEqual(groups, ["baseline", "best", "pruned", "fail", "complete", "running", "stopped"]);
  });

  test("hidePruned hides pruned curves, never the best one", () => {
    const d = new CurveData();
    d.updateTrial({ number: 0, state: "PRUNED" });
    d.updateTrial({ number: 1, state: "PRUNED" });
    d.setBest(1);
    assert.equal(d.visible(d.trial(0)), true);
    d.hidePruned = true;
    assert.equal(d.visible(d.trial(0)), false);
    assert.equal(d.visible(d.trial(1)), true);
  });

  test("markers: short curves, or every curve of a short study", () => {
    const long = new CurveData({ epochs: 50 });
    for (let e = 1; e <= 3; e++) long.addPoint({ trial: 0, epoch: e, val_loss: 1 });
    long.addPoint({ trial: 1, epoch: 1, val_loss: 1 });
    assert.equal(long.markers(long.trial(0)), false);
    assert.equal(long.markers(long.trial(1)), true);
    const short = new CurveData({ epochs: 12 });
    for (let e = 1; e <= 3; e++) short.addPoint({ trial: 0, epoch: e, val_loss: 1 });
    assert.equal(short.markers(short.trial(0)), true);
  });
});

describe("CurveData order", () => {
  test("drawOrder: by number, baseline then best last, trials without points left out", () => {
    const d = new CurveData();
    d.loadPage(page({ 3: [[1, 1]], 0: [[1, 1]], 1: [[1, 1]], 2: [[1, 1]] }));
    d.updateTrial({ number: 9, state: "RUNNING" });
    d.setBest(0);
    d.setBaseline(2);
    assert.deepEqual(d.drawOrder(), [1, 3, 2, 0]);
    assert.deepEqual(d.order, [1, 3, 2, 0]);
    assert.deepEqual(d.pinned(), [2, 0]);
  });

  test("drawOrder keeps at most `max` curves, the newest and the pins", () => {
    const d = new CurveData();
    d.loadPage(page({ 0: [[1, 1]], 1: [[1, 1]], 2: [[1, 1]], 3: [[1, 1]], 4: [[1, 1]] }));
    d.setBest(0);
    assert.deepEqual(d.drawOrder(3), [3, 4, 0]);
    assert.equal(MAX_TRACES, 1000);
  });

  test("victims: the oldest plotted trials, never a pin or a running one", () => {
    const d = new CurveData();
    d.loadPage(page({ 0: [[1, 1]], 1: [[1, 1]], 2: [[1, 1]], 3: [[1, 1]] }, [
      { number: 0, state: "COMPLETE" },
      { number: 1, state: "RUNNING" },
      { number: 2, state: "PRUNED" },
      { number: 3, state: "COMPLETE" },
    ]));
    d.drawOrder();
    assert.deepEqual(d.victims(2, [0]), [2, 3]);
    assert.deepEqual(d.victims(5, []), [0, 2, 3]);
  });

  test("legendFlags: the first visible trace of each kind carries the legend entry", () => {
    const d = new CurveData();
    d.loadPage(page({ 0: [[1, 1]], 1: [[1, 1]], 2: [[1, 1]], 3: [[1, 1]] }, [
      { number: 0, state: "PRUNED" },
      { number: 1, state: "COMPLETE" },
      { number: 2, state: "PRUNED" },
      { number: 3, state: "COMPLETE" },
    ]));
    d.drawOrder();
    assert.deepEqual([...d.legendFlags()], [["pruned", 0], ["complete", 1]]);
    d.hidePruned = true;
    assert.deepEqual([...d.legendFlags()], [["complete", 1]]);
  });
});

describe("CurveData y-range", () => {
  /** Eight calm curves and one that diverges at epoch 3. */
  function diverging(metric = "val_loss") {
    const d = new CurveData({ metric });
    const curves = {};
    for (let n = 0; n < 8; n++) curves[n] = [[1, 1 + n * 0.01], [2, 0.9 + n * 0.01], [3, 0.8 + n * 0.01], [4, 0.7 + n * 0.01]];
    curves[8] = [[1, 1.05], [2, 0.95], [3, 50], [4, 0.9]];
    d.loadPage(page(curves));
    d.drawOrder();
    return d;
  }

  test("a diverging spike is clipped and marked at its worst point", () => {
    const d = diverging();
    const y = d.yRange();
    assert.equal(y.clipped, true);
    assert.ok(y.range[1] < 50);
    assert.deepEqual(y.off, [{ trial: 8, epoch: 3, value: 50 }]);
  });

  test("nothing off the chart when nothing is clipped", () => {
    const d = new CurveData();
    d.loadPage(page({ 0: [[1, 1], [2, 0.5]], 1: [[1, 0.9], [2, 0.6]] }));
    d.drawOrder();
    const y = d.yRange();
    assert.equal(y.clipped, false);
    assert.deepEqual(y.off, []);
  });

  test("a hidden curve neither sets the range nor gets a mark", () => {
    const d = diverging();
    d.updateTrial({ number: 8, state: "PRUNED" });
    d.hidePruned = true;
    const y = d.yRange();
    assert.equal(y.clipped, false);
    assert.deepEqual(y.off, []);
    assert.ok(!d.rangeInputs().values.includes(50));
  });

  test("rangeInputs: every plotted value, each curve's last point must stay in view", () => {
    const d = new CurveData();
    d.loadPage(page({ 0: [[1, 3], [2, 2]], 1: [[1, 5]] }));
    d.drawOrder();
    assert.deepEqual(d.rangeInputs(), { values: [3, 2, 5], must: [2, 5] });
  });

  test("empty data: autorange", () => {
    const d = new CurveData();
    d.drawOrder();
    assert.deepEqual(d.yRange(), { range: null, clipped: false, off: [] });
  });
});

describe("bulk traces (a big study's finished curves, one trace per kind)", () => {
  /** `n` trials of 3 epochs: every 4th pruned, trial 1 running, trial 2 of one epoch. */
  function big(n) {
    const curves = {};
    const trials = [];
    for (let t = 0; t < n; t++) {
      curves[t] = t === 2 ? [[1, 0.9]] : [[1, 0.9], [2, 0.5], [3, 0.4 + t / 1e4]];
      trials.push({ number: t, state: t === 1 ? "RUNNING" : t % 4 === 3 ? "PRUNED" : "COMPLETE" });
    }
    const d = new CurveData();
    d.loadPage(page(curves, trials));
    d.best = 4;
    d.baseline = 0;
    d.drawOrder();
    return d;
  }

  test("below BULK_MIN curves: none (a trace per trial, as before)", () => {
    assert.equal(big(BULK_MIN - 1).bulkGroups().size, 0);
  });

  test("finished curves by kind; running, pinned, excluded and short ones keep their own", () => {
    const d = big(BULK_MIN);
    const groups = d.bulkGroups(BULK_MIN, [0, 4, 8]);
    assert.deepEqual([...groups.keys()], ["pruned", "complete"]);
    const all = [...groups.values()].flat();
    for (const n of [0, 1, 2, 4, 8]) assert.equal(all.includes(n), false, `trial ${n}`);
    assert.equal(all.length, BULK_MIN - 5);
    assert.ok(groups.get("pruned").every((n) => n % 4 === 3));
    for (const numbers of groups.values()) assert.deepEqual(numbers, d.order.filter((n) => numbers.includes(n))); // plot order
  });

  test("gapped: the curves one after the other, a null between two, customdata per point", () => {
    const d = big(BULK_MIN);
    const { x, y, customdata } = d.gapped([3, 5], (t) => ["meta", t.number]);
    assert.deepEqual(x, [1, 2, 3, null, 1, 2, 3]);
    assert.deepEqual(y, [0.9, 0.5, 0.4 + 3 / 1e4, null, 0.9, 0.5, 0.4 + 5 / 1e4]);
    assert.deepEqual(customdata, [["meta", 3], ["meta", 3], ["meta", 3], null, ["meta", 5], ["meta", 5], ["meta", 5]]);
    assert.equal(customdata[0], customdata[2]); // one value per trial, shared by its points
    d.metric = "train_loss";
    assert.deepEqual(d.gapped([5], () => 0).y, [1.8, 1.0, (0.4 + 5 / 1e4) * 2]);
  });
});
