"""Adam-aware analysis figures: the metric's name on the axes, betas on a 1 - beta log axis
labelled beta, every trial in the history, parallel coordinates that brush.

Optuna's own figures say `one_minus_beta1` where the dashboard says β1 and "Objective Value"
where it says "validation loss", drop pruned trials from the history and colour by fixed
palettes that vanish on a dark page. Here the history and the parallel coordinates are built
directly (a `parcoords` trace, whose axes can be brushed), and Optuna's slice, contour,
importance, EDF and timeline figures are relabelled. Traces carry `meta.role` (complete,
pruned, best, baseline, running, fail) so the page paints them in its own colours, in either
theme, and every layout lists the parameters it could show in `layout.meta.params`.
"""

from __future__ import annotations

import math
from typing import Any

import optuna
import plotly.graph_objects as go
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState
from plotly.graph_objects import Figure

METRIC_ATTR = "adamtune:metric"  # user attr of the in-memory study: the metric's display name
# user attr of a trial of the in-memory study: its number in the stored study. `add_trials`
# numbers trials 0, 1, 2...: without it, trial 13 after two interrupted ones was drawn at 11
NUMBER_ATTR = "adamtune:number"
ONE_MINUS = "one_minus_"
LABELS = {"lr": "lr", "beta1": "β1", "beta2": "β2", "eps": "eps", "weight_decay": "weight decay",
          "final_fraction": "final lr fraction"}  # fmt: skip
ORDER = ("lr", "beta1", "beta2", "eps", "weight_decay", "momentum", "warmup", "decay",
         "final_fraction")  # fmt: skip
# mid-luminance colours: readable on the white page and on the near-black one
NEUTRAL_SCALE = [[0.0, "#9aa3b2"], [0.5, "#3b82f6"], [1.0, "#f97316"]]


def fmt(value: float | None) -> str:
    """The dashboard's number format (frontend/js/format.js `fmtNum`): 4 significant digits,
    exponent notation ("7.305e-4") below 1e-3 and from 1e4 up."""
    if value is None:
        return "–"
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else "−∞")
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e4:
        mantissa, exp = f"{value:.3e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exp)}"
    return f"{value:.4g}"


def fmt_beta(beta: float) -> str:
    """A beta as the page writes it: three significant digits of 1 - beta."""
    if 0.9 < beta < 1:
        decimals = min(12, math.ceil(-math.log10(1 - beta)) + 2)
        return f"{beta:.{decimals}f}".rstrip("0").rstrip(".")
    return fmt(beta)


def param_label(name: str) -> str:
    """`one_minus_beta1` -> "β1", `weight_decay` -> "weight decay"; other names unchanged."""
    base = name.removeprefix(ONE_MINUS)
    return LABELS.get(base, base)


def param_order(names: set[str] | list[str]) -> list[str]:
    """Adam's parameters in the page's order (lr, β1, β2, eps, weight decay), then the rest."""
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(names, key=lambda n: (rank.get(n.removeprefix(ONE_MINUS), len(ORDER)), n))


def number(trial: FrozenTrial) -> int:
    """The trial's number in the stored study (the in-memory copy numbers its trials anew)."""
    return int(trial.user_attrs.get(NUMBER_ATTR, trial.number))


def metric_name(study: optuna.Study) -> str:
    return str(study.user_attrs.get(METRIC_ATTR, "objective value"))


def params_meta(trials: list[FrozenTrial]) -> list[dict[str, str]]:
    names: set[str] = set().union(*(t.params for t in trials)) if trials else set()
    return [{"name": n, "label": param_label(n)} for n in param_order(names)]


def _log_ticks(low: float, high: float) -> list[float]:
    """Decades within [low, high] (plus 2 and 5 multiples when there are fewer than three)."""
    lo, hi = math.floor(math.log10(low)), math.ceil(math.log10(high))
    decades = [10.0**k for k in range(lo, hi + 1) if low * 0.999 <= 10.0**k <= high * 1.001]
    if len(decades) >= 3:
        return decades
    finer = [m * 10.0**k for k in range(lo - 1, hi + 1) for m in (1, 2, 5)]
    return [v for v in finer if low * 0.999 <= v <= high * 1.001] or [low, high]


def _bounds(trials: list[FrozenTrial], name: str) -> tuple[float, float] | None:
    dists = [t.distributions[name] for t in trials if name in t.distributions]
    values = [float(t.params[name]) for t in trials if name in t.params]
    if not dists or not values:
        return None
    low = min(min(values), *(float(d.low) for d in dists if hasattr(d, "low")))
    high = max(max(values), *(float(d.high) for d in dists if hasattr(d, "high")))
    return low, high


def _is_log(trials: list[FrozenTrial], name: str) -> bool:
    for t in trials:
        dist = t.distributions.get(name)
        if isinstance(dist, FloatDistribution | IntDistribution) and dist.log:
            return True
    return False


def beta_axis(trials: list[FrozenTrial], name: str, current: dict[str, Any]) -> dict[str, Any]:
    """Axis settings for a `one_minus_<beta>` log axis: labelled beta, ticks written as beta,
    beta growing to the right."""
    axis: dict[str, Any] = {"title": {"text": param_label(name)}}
    bounds = _bounds(trials, name)
    if bounds is None or bounds[0] <= 0:
        return axis
    ticks = _log_ticks(*bounds)
    axis.update(
        tickmode="array",
        tickvals=ticks,
        ticktext=[fmt_beta(1 - v) for v in ticks],
        type="log",
    )
    rng = current.get("range")
    if isinstance(rng, list) and len(rng) == 2:
        axis["range"] = [max(rng), min(rng)]
    else:
        axis["autorange"] = "reversed"
    return axis


def relabel(fig: Figure, trials: list[FrozenTrial], metric: str) -> Figure:
    """Optuna's figure in the page's words: parameter labels, beta axes, the metric's name."""
    layout = fig.layout.to_plotly_json()
    names = set().union(*(t.params for t in trials)) if trials else set()
    for key, axis in list(layout.items()):
        if not (key.startswith("xaxis") or key.startswith("yaxis")) or not isinstance(axis, dict):
            continue
        title = (axis.get("title") or {}).get("text")
        if title in names:
            if title.startswith(ONE_MINUS):
                fig.layout[key].update(beta_axis(trials, title, axis))
            else:
                fig.layout[key].update(title={"text": param_label(title)})
        elif title in ("Objective Value", "Trial", "Datetime"):
            text = {"Trial": "trial", "Datetime": "time"}.get(title, metric)
            fig.layout[key].update(title={"text": text})
    for trace in fig.data:
        if trace.type == "bar" and trace.orientation == "h" and trace.y is not None:
            trace.y = [param_label(str(y)) if y in names else y for y in trace.y]
    fig.layout.meta = {"params": params_meta(trials)}
    return fig


def history(study: optuna.Study, _params: list[str] | None) -> Figure:
    """Every finished trial by number: complete ones, the best so far, the default-Adam
    baseline, and pruned trials at their last reported value (the page can hide them)."""
    metric = metric_name(study)
    minimize = study.direction == StudyDirection.MINIMIZE
    trials = sorted(study.trials, key=number)
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    pruned = [t for t in trials if t.state == TrialState.PRUNED and t.value is not None]
    baseline = [t for t in complete if t.user_attrs.get("baseline")]

    def hover(t: FrozenTrial, what: str) -> str:
        return f"trial {number(t)} · {what}<br>{metric} {fmt(t.value)}"

    fig = go.Figure()
    fig.add_scatter(
        x=[number(t) for t in pruned],
        y=[t.value for t in pruned],
        mode="markers",
        name="pruned (last reported value)",
        marker={"symbol": "x-thin-open", "size": 7, "line": {"width": 1.5}},
        hovertext=[hover(t, "pruned") for t in pruned],
        hoverinfo="text",
        meta={"role": "pruned"},
    )
    fig.add_scatter(
        x=[number(t) for t in complete],
        y=[t.value for t in complete],
        mode="markers",
        name="complete",
        marker={"size": 7},
        hovertext=[hover(t, "complete") for t in complete],
        hoverinfo="text",
        meta={"role": "complete"},
    )
    best_x: list[int] = []
    best_y: list[float] = []
    for t in complete:
        assert t.value is not None
        if not best_y or (t.value < best_y[-1] if minimize else t.value > best_y[-1]):
            best_x.append(number(t))
            best_y.append(t.value)
    if best_x and trials:
        best_x.append(number(trials[-1]))
        best_y.append(best_y[-1])
    fig.add_scatter(
        x=best_x,
        y=best_y,
        mode="lines",
        line={"shape": "hv", "width": 2.5},
        name="best so far",
        hoverinfo="skip",
        meta={"role": "best"},
    )
    for t in baseline:
        fig.add_scatter(
            x=[number(t)],
            y=[t.value],
            mode="markers",
            name="default Adam",
            marker={"symbol": "diamond", "size": 11},
            hovertext=[hover(t, "default Adam")],
            hoverinfo="text",
            meta={"role": "baseline"},
        )
    fig.update_layout(
        title={"text": f"Optimization history: {metric} by trial"},
        xaxis={"title": {"text": "trial"}, "tickformat": "d", "rangemode": "tozero"},
        yaxis={"title": {"text": metric}},
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
        hovermode="closest",
        meta={"params": params_meta(trials)},
    )
    return fig


def parallel_coordinate(study: optuna.Study, params: list[str] | None) -> Figure:
    """One line per complete trial through the metric and each parameter; log parameters on a
    log scale, betas as -log10(1 - beta) so that beta grows upwards. Drawn best last (on top);
    `meta.trials` names the trial of each line, for brushing."""
    metric = metric_name(study)
    minimize = study.direction == StudyDirection.MINIMIZE
    every = [t for t in study.trials if t.state == TrialState.COMPLETE and t.value is not None]
    names = param_order(params or set().union(*(t.params for t in every)) if every else set())
    trials = [t for t in every if all(n in t.params for n in names)]
    trials.sort(key=lambda t: t.value or 0.0, reverse=minimize)  # the best is drawn last
    values = [float(t.value or 0.0) for t in trials]
    objective = _objective_dimension(metric, values)
    colorbar: dict[str, Any] = {"title": {"text": metric}, "thickness": 12}
    colorbar.update({k: objective[k] for k in ("tickvals", "ticktext") if k in objective})
    dims: list[dict[str, Any]] = [objective]
    for name in names:
        choices = _choices(trials, name)
        if choices is not None:
            dims.append(_categorical_dimension(trials, name, choices))
            continue
        raw = [float(t.params[name]) for t in trials]
        dims.append(_dimension(trials, name, raw))
    fig = go.Figure(
        go.Parcoords(
            dimensions=dims,
            line={
                "color": objective["values"],
                "colorscale": NEUTRAL_SCALE,
                "reversescale": not minimize,
                "showscale": True,
                "colorbar": colorbar,
            },
            meta={"trials": [number(t) for t in trials]},
        )
    )
    fig.update_layout(
        title={"text": f"Parallel coordinates: {metric} and the parameters"},
        margin={"l": 70, "r": 40, "t": 100, "b": 30},
        meta={"params": params_meta(every)},
    )
    return fig


def _objective_dimension(metric: str, values: list[float]) -> dict[str, Any]:
    """The metric's axis: on a log scale when it spans more than two decades (a loss that ranges
    from 1e-5 to 20 would otherwise put every good trial at the bottom)."""
    if values and min(values) > 0 and max(values) / min(values) > 100:
        ticks = _log_ticks(min(values), max(values))
        return {
            "label": metric,
            "values": [math.log10(v) for v in values],
            "tickvals": [math.log10(v) for v in ticks],
            "ticktext": [fmt(v) for v in ticks],
        }
    return {"label": metric, "values": values, "tickformat": ".4~g"}


def _choices(trials: list[FrozenTrial], name: str) -> list[Any] | None:
    """A categorical parameter's choices (a schedule's decay shape), or None for a number."""
    for t in trials:
        dist = t.distributions.get(name)
        if isinstance(dist, CategoricalDistribution):
            return list(dist.choices)
    return None


def _categorical_dimension(
    trials: list[FrozenTrial], name: str, choices: list[Any]
) -> dict[str, Any]:
    """One tick per choice, the lines through the one each trial took."""
    index = {choice: i for i, choice in enumerate(choices)}
    return {
        "label": param_label(name),
        "values": [index[t.params[name]] for t in trials],
        "range": [0, max(len(choices) - 1, 1)],
        "tickvals": list(range(len(choices))),
        "ticktext": [str(c) for c in choices],
    }


def _dimension(trials: list[FrozenTrial], name: str, raw: list[float]) -> dict[str, Any]:
    label = param_label(name)
    bounds = _bounds(trials, name)
    if name.startswith(ONE_MINUS) and bounds and bounds[0] > 0:
        ticks = _log_ticks(*bounds)
        return {
            "label": label,
            "values": [-math.log10(v) for v in raw],
            "range": [-math.log10(bounds[1]), -math.log10(bounds[0])],
            "tickvals": [-math.log10(v) for v in ticks],
            "ticktext": [fmt_beta(1 - v) for v in ticks],
        }
    if _is_log(trials, name) and bounds and bounds[0] > 0:
        ticks = _log_ticks(*bounds)
        return {
            "label": label,
            "values": [math.log10(v) for v in raw],
            "range": [math.log10(bounds[0]), math.log10(bounds[1])],
            "tickvals": [math.log10(v) for v in ticks],
            "ticktext": [fmt(v) for v in ticks],
        }
    return {"label": label, "values": raw, "tickformat": ".4~g"}


def timeline_roles(fig: Figure) -> Figure:
    """Optuna's timeline names a bar trace per state; the page colours states its own way."""
    roles = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "fail", "RUNNING": "running"}
    for trace in fig.data:
        if trace.name in roles:
            trace.meta = {"role": roles[trace.name]}
            trace.name = trace.name.lower()
    return fig


def neutral_colours(fig: Figure) -> Figure:
    """Colour scales and markers that read on a light and a dark page alike."""
    for trace in fig.data:
        if trace.type == "contour":
            trace.colorscale = "Viridis"
        elif trace.type == "scatter" and trace.marker is not None:
            if trace.marker.colorscale is not None:
                trace.marker.colorscale = NEUTRAL_SCALE
            if trace.marker.line is not None and trace.marker.line.color in ("Grey", "black"):
                trace.marker.line.color = "#9aa3b2"
    return fig
