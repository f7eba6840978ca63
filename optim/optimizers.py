"""The optimizer families a study can tune, each with its parameters and its default settings.

    adam           torch.optim.Adam: lr, betas, eps (and L2 weight decay, coupled)
    adamw          torch.optim.AdamW: the same with decoupled weight decay, tuned too
    sgd_nesterov   torch.optim.SGD(nesterov=True): lr and momentum (weight decay optional)
    adam_lr_only   Adam with only lr tuned, betas and eps at their defaults: the control for
                   "did tuning beta and eps matter"
    schedule_free_adamw  schedulefree.AdamWScheduleFree (Defazio et al. 2024): no decay schedule,
                   its own warmup; tuning-free
    prodigy        prodigyopt.Prodigy (Mishchenko & Defazio 2024): estimates its own step size,
                   lr is a multiplier on it (1 by default); tuning-free

A tuning-free family (`tuning_free`) is meant to run at its published defaults: a comparison
trains it once at those, as a one-shot baseline with no search (app/comparisons.py), validated
and confirmed on the same seeds as the others' picks. A study of its own may still tune its
small default space (Prodigy's lr multiplier, Schedule-Free's lr and warmup).

Each family's baseline trial trains with the library's defaults. SGD's Nesterov momentum needs
a momentum above 0 and torch's default is 0, so its baseline takes torch's default lr (1e-3)
with momentum 0.9, the value of Sutskever et al. (2013) that most recipes use. This module is
the one place families are named; it is torch-free (the API validates and reports with it);
`optim.training.make_optimizer` builds them.
"""

from __future__ import annotations

from dataclasses import dataclass

from optim.params import OptimizerParams, ParamValue
from optim.schedules import SCHEDULE_NAMES

ADAM_DIMS = ("lr", "beta1", "beta2", "eps", "weight_decay")


@dataclass(frozen=True)
class Family:
    name: str
    label: str  # how a person calls it
    dims: tuple[str, ...]  # the parameters it takes
    tuned_by_default: tuple[str, ...]  # what its default space searches
    baseline: OptimizerParams  # the library defaults its baseline trial trains with
    torch_class: str
    # what a space may tune; None: all its parameters (adam_lr_only keeps betas and eps fixed)
    only_tunable: tuple[str, ...] | None = None
    # run at its published defaults in a comparison, with no search (see the module's doc)
    tuning_free: bool = False
    # False: the family replaces the decay schedule (Schedule-Free); only a warmup is tuned
    decays: bool = True
    # the lr range of every preset, where the preset's own does not fit (Prodigy's multiplier)
    lr_range: tuple[float, float] | None = None

    def tunable(self) -> tuple[str, ...]:
        return self.only_tunable if self.only_tunable is not None else self.dims

    def params(self, params: OptimizerParams) -> dict[str, ParamValue]:
        """The family's own parameters, and the schedule where there is one (what a trial
        records and the API shows)."""
        return params.as_dict([*self.dims, *(() if params.schedule.none else SCHEDULE_NAMES)])

    def torch_line(self, params: OptimizerParams) -> str:
        """What a user pastes into their training script: the optimizer as one line, or with a
        schedule, `optimizer = ...` and the scheduler's lines (`Schedule.torch_lines`)."""
        line = self._optimizer_line(params)
        if self.name == "schedule_free_adamw":
            return "\n".join([f"optimizer = {line}", *SCHEDULE_FREE_NOTE])
        if params.schedule.none:
            return line
        return "\n".join([f"optimizer = {line}", *params.schedule.torch_lines(params.lr)])

    def _optimizer_line(self, params: OptimizerParams) -> str:
        args = [f"lr={params.lr:.6g}"]
        if "beta1" in self.dims:
            args.append(f"betas=({params.beta1:.6g}, {params.beta2:.6g})")
            args.append(f"eps={params.eps:.6g}")
        if "momentum" in self.dims:
            args.append(f"momentum={params.momentum:.6g}")
            args.append("nesterov=True")
        if params.weight_decay or self.name == "adamw":
            args.append(f"weight_decay={params.weight_decay:.6g}")
        if self.name == "schedule_free_adamw" and params.warmup:
            args.append(f"warmup_steps=int({params.warmup:.6g} * total_steps)")
        return f"{self.torch_class}(model.parameters(), {', '.join(args)})"


# Schedule-Free keeps two weight sequences: training steps need the one it steps, evaluation
# and saving the averaged one, so the user's loop switches it as it switches the model
SCHEDULE_FREE_NOTE = (
    "# Schedule-Free: call optimizer.train() before training steps (with model.train()) and",
    "# optimizer.eval() before evaluating or saving the model (with model.eval())",
)

FAMILIES: dict[str, Family] = {
    "adam": Family(
        name="adam",
        label="Adam",
        dims=ADAM_DIMS,
        tuned_by_default=("lr", "beta1", "beta2", "eps"),
        baseline=OptimizerParams(),
        torch_class="torch.optim.Adam",
    ),
    "adamw": Family(
        name="adamw",
        label="AdamW",
        dims=ADAM_DIMS,
        tuned_by_default=ADAM_DIMS,
        baseline=OptimizerParams(weight_decay=1e-2),  # torch.optim.AdamW's default
        torch_class="torch.optim.AdamW",
    ),
    "sgd_nesterov": Family(
        name="sgd_nesterov",
        label="SGD with Nesterov momentum",
        dims=("lr", "momentum", "weight_decay"),
        tuned_by_default=("lr", "momentum"),
        baseline=OptimizerParams(momentum=0.9),
        torch_class="torch.optim.SGD",
    ),
    "adam_lr_only": Family(
        name="adam_lr_only",
        label="Adam, lr only",
        dims=ADAM_DIMS,
        tuned_by_default=("lr",),
        baseline=OptimizerParams(),
        torch_class="torch.optim.Adam",
        only_tunable=("lr", "weight_decay"),
    ),
    "schedule_free_adamw": Family(
        name="schedule_free_adamw",
        label="Schedule-Free AdamW",
        dims=ADAM_DIMS,
        tuned_by_default=("lr",),
        baseline=OptimizerParams(lr=0.0025),  # schedulefree.AdamWScheduleFree's defaults
        torch_class="schedulefree.AdamWScheduleFree",
        only_tunable=("lr", "weight_decay"),
        tuning_free=True,
        decays=False,
    ),
    "prodigy": Family(
        name="prodigy",
        label="Prodigy",
        dims=ADAM_DIMS,
        tuned_by_default=("lr",),
        baseline=OptimizerParams(lr=1.0),  # prodigyopt.Prodigy's defaults: lr multiplies d
        torch_class="prodigyopt.Prodigy",
        only_tunable=("lr", "weight_decay"),
        tuning_free=True,
        lr_range=(0.1, 10.0),
    ),
}
DEFAULT_FAMILY = "adam"
