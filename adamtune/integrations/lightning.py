"""Train adamtune's trials with Lightning: a `Callback` that reports the monitored metric each
validation epoch, and `trial_optimizers`, the module's optimizer built from the trial.

    from adamtune.client import Study
    from adamtune.integrations.lightning import AdamtuneCallback, trial_optimizers

    class MyModule(L.LightningModule):
        configure_optimizers = trial_optimizers   # the trial's optimizer (and scheduler)
        ...

    for trial in Study("http://tuner:8000", 7).trials():
        with trial:
            model = MyModule()
            trainer = L.Trainer(max_epochs=trial.steps, callbacks=[AdamtuneCallback(trial)])
            trainer.fit(model, train_loader, test_loader if trial.validation else val_loader)

A prune or a stop from the server sets `trainer.should_stop`, Lightning's own way to end a fit
(the epoch ends, callbacks such as checkpoints run); `fit` then raises it, so `with trial:`
tells the server the trial was pruned (or stopped) and the loop goes on. Needs `lightning`
(2.x, which `import lightning as L` names): `pip install "adamtune[lightning]"`.
"""

from __future__ import annotations

import math
from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Callback

from adamtune.client import Trial
from adamtune.integrations._trial import (
    ENDS_TRIAL,
    SchedulerFactory,
    monitored_value,
    trial_scheduler,
)

__all__ = ["AdamtuneCallback", "trial_optimizers"]


def trial_optimizers(module: LightningModule) -> dict[str, Any]:
    """A `configure_optimizers` built from the trial of the fit's `AdamtuneCallback`: the
    trial's optimizer over `module.parameters()` (`Trial.optimizer`: its family and params),
    with the trial's learning-rate schedule over the fit's optimizer steps
    (`trainer.estimated_stepping_batches`), stepped after every step, when it has one. Lightning
    checks that a module's class defines `configure_optimizers` before any callback runs, so
    the module names it: `configure_optimizers = trial_optimizers` in its class body."""
    trainer: Any = module.trainer  # its `callbacks` is set at run time: not in its stubs
    found = [c for c in trainer.callbacks if isinstance(c, AdamtuneCallback)]
    if len(found) != 1:
        raise RuntimeError(
            f"trial_optimizers needs one AdamtuneCallback among the Trainer's callbacks, "
            f"found {len(found)}"
        )
    return found[0].configure_optimizers(module)


class AdamtuneCallback(Callback):  # type: ignore[misc]
    """Reports `monitor`, a metric the module logs (`self.log`), at the end of each validation
    epoch as step `trainer.current_epoch`; stops the fit when the server prunes or stops the
    trial. The study's metric is what `monitor` measures: the same name in a validation run
    (`trial.validation`), whose loop evaluates on held-out data instead. `scheduler(optimizer)`,
    when given, replaces the trial's own schedule as the learning-rate scheduler
    `trial_optimizers` pairs with the optimizer (stepped after every optimizer step too)."""

    def __init__(
        self,
        trial: Trial,
        monitor: str = "val_loss",
        *,
        scheduler: SchedulerFactory | None = None,
    ) -> None:
        self.trial = trial
        self.monitor = monitor
        self.scheduler = scheduler
        self.ended_by: BaseException | None = None  # the prune or stop that ended the fit

    def configure_optimizers(self, module: LightningModule) -> dict[str, Any]:
        """What `LightningModule.configure_optimizers` returns, built from the trial."""
        optimizer = self.trial.optimizer(module.parameters())
        estimated = float(module.trainer.estimated_stepping_batches)  # inf: no max_epochs/steps
        total_steps = int(estimated) if math.isfinite(estimated) else None
        scheduler = trial_scheduler(self.trial, optimizer, self.scheduler, total_steps)
        if scheduler is None:
            return {"optimizer": optimizer}
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or self.ended_by is not None:
            return
        value = monitored_value(trainer.callback_metrics, self.monitor)
        try:
            self.trial.report(trainer.current_epoch, value)
        except ENDS_TRIAL as exc:
            self.ended_by = exc
            trainer.should_stop = True

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Raise the prune or stop once Lightning has wound the fit down: `with trial:` tells
        the server how the trial ended."""
        if self.ended_by is not None:
            raise self.ended_by
