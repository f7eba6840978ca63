"""Train adamtune's trials with Hugging Face Transformers: a `TrainerCallback` that reports the
monitored metric at each evaluation, and the trial's optimizer for `Trainer(optimizers=...)`.

    from adamtune.client import Study
    from adamtune.integrations.transformers import AdamtuneCallback, trial_optimizers

    for trial in Study("http://tuner:8000", 7).trials():
        with trial:
            model = AutoModelForSequenceClassification.from_config(config)
            args = TrainingArguments(..., num_train_epochs=trial.steps, eval_strategy="epoch")
            trainer = Trainer(
                model, args, train_dataset=train,
                eval_dataset=test if trial.validation else val,
                optimizers=trial_optimizers(trial, model),
                callbacks=[AdamtuneCallback(trial)],
            )
            trainer.train()

A prune or a stop from the server sets `control.should_training_stop`, the Trainer's own way to
end training; `train()` then raises it, so `with trial:` tells the server the trial was pruned
(or stopped) and the loop goes on. Needs `transformers` with `accelerate` (its Trainer's
dependency): `pip install "adamtune[transformers]"`.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from adamtune.client import Trial
from adamtune.integrations._trial import (
    ENDS_TRIAL,
    SchedulerFactory,
    monitored_value,
    trial_scheduler,
)

__all__ = ["AdamtuneCallback", "trial_optimizers"]


def trial_optimizers(
    trial: Trial,
    model: Any,
    scheduler: SchedulerFactory | None = None,
    *,
    total_steps: int | None = None,
) -> tuple[Any, Any]:
    """`(optimizer, lr_scheduler)` for `Trainer(optimizers=...)`: the trial's optimizer over
    the model's parameters, and `scheduler(optimizer)` when given, else the trial's own
    schedule over `total_steps` optimizer steps (required when the trial has one: the
    Trainer's `max_steps`, or epochs x batches per epoch). Without a schedule the lr stays
    constant, as tuned: a None scheduler would let the Trainer add its default linear decay
    to zero, and the search would tune a schedule it never named."""
    import torch

    optimizer = trial.optimizer(model.parameters())
    schedule = trial_scheduler(trial, optimizer, scheduler, total_steps)
    if schedule is None:
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _step: 1.0)
    return optimizer, schedule


class AdamtuneCallback(TrainerCallback):  # type: ignore[misc]
    """Reports `monitor`, a key of the Trainer's evaluation metrics (`eval_loss`, or
    `eval_<name>` for what `compute_metrics` returns), at each evaluation, the n-th as step
    n - 1 (evaluate once an epoch: a trial's steps are epochs); stops training when the server
    prunes or stops the trial. The study's metric is what `monitor` measures: the same key in
    a validation run (`trial.validation`), whose Trainer evaluates on held-out data instead."""

    def __init__(self, trial: Trial, monitor: str = "eval_loss") -> None:
        self.trial = trial
        self.monitor = monitor
        self.evaluations = 0
        self.ended_by: BaseException | None = None  # the prune or stop that ended training

    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        if self.ended_by is not None:
            return
        value = monitored_value(metrics or {}, self.monitor)
        step, self.evaluations = self.evaluations, self.evaluations + 1
        try:
            self.trial.report(step, value)
        except ENDS_TRIAL as exc:
            self.ended_by = exc
            control.should_training_stop = True

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        """Raise the prune or stop once the Trainer has wound training down: `with trial:`
        tells the server how the trial ended."""
        if self.ended_by is not None:
            raise self.ended_by
