// frontend/js/format.js: the dashboard's one number format, log ticks, integer axes, gains.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  adamParams,
  epochAxis,
  fmtAgo,
  fmtDuration,
  fmtGain,
  fmtNum,
  fmtParam,
  fullNum,
  integerStep,
  logTicks,
  logTicksOf,
  metricLabel,
  parseTime,
  torchLineLines,
  trialAxis,
} from "../../frontend/js/format.js";

describe("fmtNum", () => {
  test("four significant digits, trailing zeros dropped", () => {
    assert.equal(fmtNum(1.5), "1.5");
    assert.equal(fmtNum(100), "100");
    assert.equal(fmtNum(0.123456), "0.1235");
    assert.equal(fmtNum(9999.4), "9999");
    assert.equal(fmtNum("0.5"), "0.5");
  });

  test("exponent notation below 1e-3 and from 1e4 up, never SI prefixes", () => {
    assert.equal(fmtNum(0.0007305), "7.305e-4");
    assert.equal(fmtNum(-0.00012), "-1.2e-4");
    assert.equal(fmtNum(0.001), "0.001");
    assert.equal(fmtNum(12345), "1.235e4");
    assert.equal(fmtNum(1e-8), "1e-8");
  });

  test("missing, zero and non-finite values", () => {
    assert.equal(fmtNum(null), "–");
    assert.equal(fmtNum(undefined), "–");
    assert.equal(fmtNum(""), "–");
    assert.equal(fmtNum(0), "0");
    assert.equal(fmtNum(NaN), "NaN");
    assert.equal(fmtNum(Infinity), "∞");
    assert.equal(fmtNum(-Infinity), "−∞");
  });

  test("fullNum keeps every digit for a tooltip", () => {
    assert.equal(fullNum(0.000730512), "0.000730512");
    assert.equal(fullNum(null), "");
  });
});

describe("fmtParam", () => {
  test("betas close to 1 keep three digits of 1 - beta", () => {
    assert.equal(fmtParam("beta2", 0.9999), "0.9999");
    assert.equal(fmtParam("beta2", 0.99999), "0.99999");
    assert.notEqual(fmtParam("beta2", 0.9999), fmtParam("beta2", 0.99999));
    assert.equal(fmtParam("beta1", 0.9), "0.9");
  });

  test("other parameters use fmtNum", () => {
    assert.equal(fmtParam("lr", 0.00031), "3.1e-4");
    assert.equal(fmtParam("lr", null), "–");
  });
});

describe("adamParams and labels", () => {
  test("one_minus_beta becomes beta, an explicit beta wins", () => {
    assert.deepEqual(adamParams({ one_minus_beta1: 0.1, lr: 1 }), { lr: 1, beta1: 0.9 });
    assert.deepEqual(adamParams({ beta1: 0.8, one_minus_beta1: 0.1 }), { beta1: 0.8, one_minus_beta1: 0.1 });
    assert.deepEqual(adamParams(null), {});
  });

  test("metricLabel names known metrics and passes others through", () => {
    assert.equal(metricLabel("val_loss"), "validation loss");
    assert.equal(metricLabel("custom"), "custom");
  });
});

describe("logTicks", () => {
  test("1-2-5 within a decade and a half, written by fmtNum", () => {
    assert.deepEqual(logTicks(0.04, 0.6, 300), {
      tickmode: "array",
      tickvals: [0.05, 0.1, 0.2, 0.5],
      ticktext: ["0.05", "0.1", "0.2", "0.5"],
    });
  });

  test("every decade over six decades, exponents as 1e-4", () => {
    const t = logTicks(1e-6, 1, 300);
    assert.deepEqual(t.tickvals, [1e-6, 1e-5, 1e-4, 0.001, 0.01, 0.1, 1]);
    assert.deepEqual(t.ticktext, ["1e-6", "1e-5", "1e-4", "0.001", "0.01", "0.1", "1"]);
  });

  test("every k-th decade when the axis is short", () => {
    const t = logTicks(1e-12, 1e3, 200);
    assert.deepEqual(t.tickvals, [1e-12, 1e-8, 1e-4, 1]);
    assert.ok(t.tickvals.length <= Math.floor(200 / 40));
    // the smallest k that fits: every other decade over nine decades
    assert.deepEqual(logTicks(1e-6, 1e3, 200).tickvals, [1e-6, 1e-4, 0.01, 1, 100]);
  });

  test("never more ticks than the room allows", () => {
    for (const px of [80, 160, 300, 600]) {
      const t = logTicks(1e-5, 10, px);
      assert.ok(t.tickvals.length >= 2, `px=${px}`);
      assert.ok(t.tickvals.length <= Math.max(2, Math.floor(px / 40)), `px=${px}: ${t.tickvals}`);
    }
  });

  test("Plotly's own ticks ({}) when fewer than two would fall in range or the range is bad", () => {
    assert.deepEqual(logTicks(0.3, 0.35), {});
    assert.deepEqual(logTicks(0, 1), {});
    assert.deepEqual(logTicks(1, 1), {});
    assert.deepEqual(logTicks(1, Infinity), {});
  });

  test("logTicksOf skips non-positive and non-finite values", () => {
    assert.deepEqual(logTicksOf([0.1, -1, null, NaN, 0, 0.9, undefined]).tickvals, [0.1, 0.2, 0.5]);
    assert.deepEqual(logTicksOf([1, 1]), {});
    assert.deepEqual(logTicksOf(null), {});
    assert.deepEqual(logTicksOf([]), {});
  });
});

describe("integer axes", () => {
  test("integerStep: a 1-2-5 step, a tick every ~70 px at most", () => {
    assert.equal(integerStep(10), 1);
    assert.equal(integerStep(11), 1);
    assert.equal(integerStep(12), 2);
    assert.equal(integerStep(100), 10);
    assert.equal(integerStep(1000, 800), 100);
    assert.equal(integerStep(50, 200), 25);
  });

  test("epochAxis: integer ticks from epoch 1 with half an epoch of room", () => {
    assert.deepEqual(epochAxis(10), {
      tickmode: "linear",
      tick0: 1,
      dtick: 1,
      tickformat: "d",
      range: [0.75, 10.25],
      autorange: false,
    });
    assert.deepEqual(epochAxis(1).range, [0.5, 1.25]);
    assert.equal(epochAxis(5, 800, undefined).tick0, 1);
  });

  test("epochAxis: step 0 where a runner reports it", () => {
    const a = epochAxis(10, 800, 0);
    assert.equal(a.tick0, 0);
    assert.deepEqual(a.range, [-0.25, 10.25]);
    assert.deepEqual(epochAxis(1, 800, 0).range, [-0.25, 1.25]);
  });

  test("epochAxis: a coarser step on a narrow chart starts at 0, never a fraction", () => {
    const a = epochAxis(100, 300);
    assert.equal(a.dtick, 25);
    assert.equal(a.tick0, 0);
    assert.ok(Number.isInteger(a.dtick));
    assert.deepEqual(a.range, [0, 101]);
  });

  test("trialAxis", () => {
    assert.deepEqual(trialAxis(30), { tickmode: "linear", tick0: 0, dtick: 5, tickformat: "d" });
  });
});

describe("fmtGain", () => {
  test("a signed percentage", () => {
    assert.equal(fmtGain(0.1234), "+12.3%");
    assert.equal(fmtGain(-0.05), "-5.0%");
    assert.equal(fmtGain(0), "0.0%");
    assert.equal(fmtGain(1.5), "+150%");
    assert.equal(fmtGain(null), "–");
    assert.equal(fmtGain("x"), "–");
  });

  test("never rounds just under 100% up to a perfect 100%", () => {
    assert.equal(fmtGain(0.99996), "+99.99%");
    assert.equal(fmtGain(0.999999), "+99.99%");
    assert.equal(fmtGain(-0.9997), "-99.97%");
  });
});

describe("durations and times", () => {
  test("fmtDuration", () => {
    assert.equal(fmtDuration(3.21), "3.2 s");
    assert.equal(fmtDuration(42.4), "42 s");
    assert.equal(fmtDuration(125), "2 min 5 s");
    assert.equal(fmtDuration(7300), "2 h 1 min");
    assert.equal(fmtDuration(-3), "0.0 s");
    assert.equal(fmtDuration(null), "–");
  });

  test("parseTime reads a time without an offset as UTC", () => {
    assert.equal(parseTime("2026-01-02T03:04:05").toISOString(), "2026-01-02T03:04:05.000Z");
    assert.equal(parseTime("2026-01-02T03:04:05+01:00").toISOString(), "2026-01-02T02:04:05.000Z");
    assert.equal(parseTime("junk"), null);
    assert.equal(parseTime(null), null);
  });

  test("fmtAgo", () => {
    const at = (iso) => Date.parse(iso);
    const t = "2026-01-02T03:04:05";
    assert.equal(fmtAgo(t, at("2026-01-02T03:04:35Z")), "just now");
    assert.equal(fmtAgo(t, at("2026-01-02T03:14:05Z")), "10 min ago");
    assert.equal(fmtAgo(t, at("2026-01-02T06:04:05Z")), "3 h ago");
    assert.equal(fmtAgo(t, at("2026-01-05T03:04:05Z")), "3 d ago");
    assert.equal(fmtAgo(null), "–");
  });
});

test("torchLineLines splits at the top level's commas only", () => {
  assert.equal(
    torchLineLines("torch.optim.Adam(model.parameters(), lr=0.001, betas=(0.9, 0.999))"),
    "torch.optim.Adam(\n    model.parameters(),\n    lr=0.001,\n    betas=(0.9, 0.999),\n)",
  );
  assert.equal(torchLineLines("nothing"), "nothing");
});

test("torchLineLines splits each torch call of a text with a scheduler, lists kept whole", () => {
  const text = [
    "optimizer = torch.optim.Adam(model.parameters(), lr=0.003)",
    "# total_steps: your run's optimizer steps; scheduler.step() after each step()",
    "warmup_steps = int(0.05 * total_steps)",
    "scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [torch.optim.lr_scheduler.LinearLR(optimizer, total_iters=warmup_steps), torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0)], milestones=[warmup_steps])",
  ].join("\n");
  assert.equal(
    torchLineLines(text),
    [
      "optimizer = torch.optim.Adam(\n    model.parameters(),\n    lr=0.003,\n)",
      "# total_steps: your run's optimizer steps; scheduler.step() after each step()",
      "warmup_steps = int(0.05 * total_steps)",
      "scheduler = torch.optim.lr_scheduler.SequentialLR(\n    optimizer,\n    [torch.optim.lr_scheduler.LinearLR(optimizer, total_iters=warmup_steps), torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0)],\n    milestones=[warmup_steps],\n)",
    ].join("\n"),
  );
});

test("fmtParam writes a decay shape as it is", () => {
  assert.equal(fmtParam("decay", "cosine"), "cosine");
  assert.equal(fmtParam("warmup", 0.05), "0.05");
});
