// What a comparison's budget chart plots, from GET /api/comparisons/{id}/budget: each search's
// best test loss so far against the compute spent (optimistic: its own seed), each family's
// validated result with its 95 % CI at the compute it took, the target and where each search
// reached it. No DOM, no Plotly: every series is plain numbers, easy to read and to check.

/** A curve's compute on the chosen axis: "epochs" or "seconds". */
function xOf(curve, axis) {
  return (axis === "seconds" ? curve.seconds : curve.epochs) || [];
}

/** The axis' title. */
export function axisTitle(axis) {
  return axis === "seconds" ? "compute: seconds of training" : "compute: epochs trained";
}

/**
 * The chart's series. `searches`: one step curve per tuned family from its first complete trial
 * on (x the compute spent so far, y the best so far), with the point where it first reached the
 * target; `points`: each family's validated mean with its CI bounds at the compute it took
 * (one-shot families flagged); `target`: a horizontal line across every x, or null.
 * `index` is the family's place in the comparison, so one family keeps one colour.
 */
export function budgetSeries(budget, axis = "epochs") {
  const families = budget?.families || [];
  const searches = [];
  const points = [];
  families.forEach((f, index) => {
    const curve = f.curve || {};
    const best = curve.best || [];
    const first = best.findIndex((b) => b !== null && b !== undefined);
    if (!f.one_shot && first >= 0) {
      const xs = xOf(curve, axis).slice(first);
      // on the curve, where it first got to the target or under
      const reach = f.reached ? { x: axis === "seconds" ? f.reached.seconds : f.reached.epochs, y: f.reached.best, trial: f.reached.trial } : null;
      searches.push({
        index,
        optimizer: f.optimizer,
        label: f.label,
        name: `${f.label}: search, best so far (its own seed)`,
        x: xs,
        y: best.slice(first),
        trial: (curve.trial || []).slice(first),
        reach,
      });
    }
    const v = f.validated;
    if (v && Number.isFinite(v.mean)) {
      points.push({
        index,
        optimizer: f.optimizer,
        oneShot: !!f.one_shot,
        name: f.one_shot ? `${f.label} at its defaults (one run), validated` : `${f.label}: validated pick (search + validation)`,
        x: axis === "seconds" ? v.seconds : v.epochs,
        y: v.mean,
        low: Number.isFinite(v.ci_low) ? v.ci_low : v.mean,
        high: Number.isFinite(v.ci_high) ? v.ci_high : v.mean,
        label: v.label,
        n: v.n,
      });
    }
  });
  const xs = [...searches.flatMap((s) => s.x), ...points.map((p) => p.x)].filter((x) => Number.isFinite(x));
  let target = null;
  if (budget?.target && Number.isFinite(budget.target.value) && xs.length) {
    const t = budget.target;
    target = {
      y: t.value,
      x: [Math.min(...xs), Math.max(...xs)],
      name: t.source === "given" ? "target (given)" : `target: ${t.label} at its defaults`,
    };
  }
  return { searches, points, target };
}

/** A log x axis when the compute spans a decade or more (a one-shot run beside a search). */
export function logAxis(series) {
  const xs = [...series.searches.flatMap((s) => s.x), ...series.points.map((p) => p.x)].filter((x) => Number.isFinite(x) && x > 0);
  if (xs.length < 2) return false;
  return Math.max(...xs) / Math.min(...xs) >= 10;
}
