// A trial's learning-rate schedule (optim/schedules.py) in closed form, for the chart of its
// learning rate beside its curve. No DOM: tests/js/schedule_data.test.js, and the Python tests
// hold `lrFactor` to torch's schedulers step by step (tests/optim/test_schedules.py).

export const DECAYS = ["constant", "cosine", "linear"];
export const SCHEDULE_NAMES = ["warmup", "decay", "final_fraction"];
// what a trial without a schedule trains with (its params leave the schedule out)
export const NO_SCHEDULE = { warmup: 0, decay: "constant", final_fraction: 0 };
// the chart samples this many steps of the run: the browser does not know a task's batches,
// and a warmup's end moves by under 1/CHART_STEPS of the run
export const CHART_STEPS = 400;

/** A trial's schedule from its params, or null when it has none (no warmup, constant). */
export function scheduleOf(params) {
  const p = params || {};
  const schedule = {
    warmup: Number(p.warmup ?? 0),
    decay: p.decay ?? "constant",
    final_fraction: Number(p.final_fraction ?? 0),
  };
  return schedule.warmup === 0 && schedule.decay === "constant" ? null : schedule;
}

/** The warmup's steps: from the fraction as the pasted text writes it (6 digits), floored. */
export function warmupSteps(schedule, totalSteps) {
  return Math.trunc(Number(schedule.warmup.toPrecision(6)) * totalSteps);
}

/** The learning rate of 0-based optimizer step `step` over the peak, as Schedule.factor. */
export function lrFactor(schedule, step, totalSteps) {
  if (!schedule) return 1;
  const warmup = warmupSteps(schedule, totalSteps);
  if (step < warmup) return (step + 1) / (warmup + 1);
  if (schedule.decay === "constant") return 1;
  const done = Math.min(step - warmup, totalSteps - warmup) / (totalSteps - warmup);
  const final = schedule.final_fraction;
  if (schedule.decay === "cosine") return final + ((1 - final) * (1 + Math.cos(Math.PI * done))) / 2;
  return 1 + (final - 1) * done;
}

/**
 * The learning rate over a run of `epochs` epochs: {x: epoch positions (step s trains in epoch
 * ceil((s + 1) / steps per epoch), drawn at (s + 1) / steps per epoch), y: lr}; null without a
 * schedule or an lr.
 */
export function lrCurve(params, epochs, steps = CHART_STEPS) {
  const schedule = scheduleOf(params);
  const peak = Number(params?.lr);
  if (!schedule || !(peak > 0) || !(epochs > 0)) return null;
  const perEpoch = steps / epochs;
  const x = [];
  const y = [];
  for (let s = 0; s < steps; s++) {
    x.push((s + 1) / perEpoch);
    y.push(peak * lrFactor(schedule, s, steps));
  }
  return { x, y };
}
