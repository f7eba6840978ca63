"""Analysis figures from `optuna.visualization`, computed on a bounded set of trials and cached.

Optuna's figures do not scale by themselves (on 10,000 trials `plot_contour` exhausted 24 GB and
fANOVA importance ran for over 10 minutes), so a figure is built from at most
`figure_max_trials` finished trials (the best quarter plus the most recent), loaded with plain
SQL rather than `study.get_trials()`; importance uses PED-ANOVA; at most two figures are built at
once; and each result is cached until the study's finished-trial count changes.

The figures speak Adam (`app.adam_figures`): the history and parallel coordinates are built here
with every trial and brushable axes, Optuna's other figures are relabelled (betas on a 1 - beta
axis labelled beta, the metric's name instead of "Objective Value").
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState
from plotly.graph_objects import Figure
from sqlalchemy.orm import Session

from app import adam_figures as af
from app.db import Database
from app.errors import DomainError, FieldError
from app.queries import directions
from optim import optuna_internals as oi
from optim.attrs import CONFIG_ATTR

FigureBuilder = Callable[[optuna.Study, list[str] | None], Figure]

CONTOUR_MAX_TRIALS = 300  # contour interpolates a grid per pair of params: keep it small


def _importances(study: optuna.Study, params: list[str] | None) -> Figure:
    evaluator = optuna.importance.PedAnovaImportanceEvaluator()
    with warnings.catch_warnings():
        # a categorical parameter (a schedule's decay shape) with a choice few good trials took:
        # the figure is an estimate anyway, and says so by its name
        warnings.filterwarnings("ignore", message="Some regimes for parameter")
        figure = optuna.visualization.plot_param_importances(
            study, evaluator=evaluator, params=params, target_name=af.metric_name(study)
        )
    return _relabelled(study, figure)


def _contour(study: optuna.Study, params: list[str] | None) -> Figure:
    """One pair at a time (lr and beta1 first for a full space; the page picks others): a grid
    of every pair is 13 MB of JSON for four parameters."""
    if params is None:
        names = af.param_order(set().union(*(t.params for t in study.trials)))
        params = names[:2]
    figure = optuna.visualization.plot_contour(
        study, params=params, target_name=af.metric_name(study)
    )
    figure = af.neutral_colours(_relabelled(study, figure))
    figure.layout.meta = {**figure.layout.meta, "pair": list(params)}
    return figure


def _slice(study: optuna.Study, params: list[str] | None) -> Figure:
    names = af.param_order(params) if params else None
    figure = optuna.visualization.plot_slice(study, params=names, target_name=af.metric_name(study))
    return af.neutral_colours(_relabelled(study, figure))


def _edf(study: optuna.Study, _params: list[str] | None) -> Figure:
    figure = optuna.visualization.plot_edf(study, target_name=af.metric_name(study))
    return _relabelled(study, figure)


def _timeline(study: optuna.Study, _params: list[str] | None) -> Figure:
    return af.timeline_roles(_relabelled(study, optuna.visualization.plot_timeline(study)))


def _relabelled(study: optuna.Study, figure: Figure) -> Figure:
    return af.relabel(figure, study.trials, af.metric_name(study))


FIGURES: dict[str, FigureBuilder] = {
    "history": af.history,
    "parallel_coordinate": af.parallel_coordinate,
    "importances": _importances,
    "contour": _contour,
    "slice": _slice,
    "edf": _edf,
    "timeline": _timeline,
}
MIN_TRIALS = {"importances": 2, "contour": 2, "parallel_coordinate": 1, "slice": 1}


class UnknownParamsError(FieldError, ValueError):
    """A requested parameter is not one of the study's (HTTP 422 on the `params` query)."""

    loc = ("query", "params")


class NotEnoughTrialsError(DomainError, ValueError):
    """The figure needs more finished trials than the study has yet (HTTP 409)."""

    status = 409


def figure_version(session: Session, study_id: int) -> tuple[int, int]:
    """Changes whenever a trial finishes: (finished trials, highest finished trial id)."""
    return oi.finished_version(session, study_id)


def load_trials(session: Session, study_id: int, limit: int) -> list[FrozenTrial]:
    """At most `limit` finished trials as FrozenTrials: the best quarter and the most recent."""
    direction = directions(session, [study_id]).get(study_id, "minimize")
    best_ids = [
        t.trial_id for t in oi.best_trials(session, study_id, direction, max(limit // 4, 1))
    ]
    recent = oi.recent_trials(session, study_id, limit, states=("COMPLETE", "PRUNED"))
    recent_ids = [t.trial_id for t in recent]
    ids = sorted(set(best_ids) | set(recent_ids[: max(limit - len(best_ids), 0)]))
    if not ids:
        return []
    return oi.trials_by_id(session, ids)


def build_figure(
    db: Database,
    study_id: int,
    kind: str,
    max_trials: int,
    params: list[str] | None,
) -> str:
    """Figure `kind` of the study as Plotly JSON text, from at most `max_trials` trials.

    The trials are read in a session of their own, closed before the figure's computation:
    no connection is held while the CPU works."""
    limit = min(max_trials, CONTOUR_MAX_TRIALS) if kind == "contour" else max_trials
    with db.session(write=False) as session:
        trials = load_trials(session, study_id, limit)
        direction = directions(session, [study_id]).get(study_id, "minimize")
        metric = metric_label(session, study_id)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    needed = MIN_TRIALS.get(kind, 1)
    if len(complete) < needed:
        raise NotEnoughTrialsError(
            f"the {kind} figure needs at least {needed} completed trial(s); "
            f"the study has {len(complete)} so far"
        )
    study = optuna.create_study(
        direction=StudyDirection.MAXIMIZE if direction == "maximize" else StudyDirection.MINIMIZE
    )
    for trial in trials:  # add_trials numbers them anew: the figures name the stored numbers
        trial.user_attrs[af.NUMBER_ATTR] = trial.number
    study.add_trials(trials)
    study.set_user_attr(af.METRIC_ATTR, metric)
    known = set().union(*(t.params for t in trials))
    unknown = sorted(set(params or ()) - known)
    if unknown:
        raise UnknownParamsError(f"unknown parameters {unknown}; the study has {sorted(known)}")
    figure = FIGURES[kind](study, params)
    return str(figure.to_json())


def metric_label(session: Session, study_id: int) -> str:
    """What the figures call the value: an adamtune study minimises the validation loss of the
    last epoch; another script's study has an objective value."""
    has_config = oi.study_attr_json(session, study_id, CONFIG_ATTR) is not None
    return "validation loss" if has_config else "objective value"
