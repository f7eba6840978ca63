"""Adam (Kingma & Ba, 2015) with bias correction: the optimizer every trial trains with.

We keep our own rather than calling `torch.optim.Adam` because the service tunes `eps`, and where
eps enters the update differs between frameworks: PyTorch adds it after bias correction,
TensorFlow/Keras (and the Google tuning playbook) before. A study must be able to reproduce
either convention; with `eps_mode="pytorch"` the updates match `torch.optim.Adam` / `AdamW`
operation for operation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple, cast

import torch
from torch import Tensor
from torch.optim.optimizer import Optimizer, ParamsT

__all__ = ["EPS_MODES", "Adam", "EpsMode"]

EpsMode = Literal["pytorch", "tf"]
EPS_MODES: tuple[EpsMode, ...] = ("pytorch", "tf")

# Types the foreach kernels accept; subclasses (DTensor, ...) take the per-tensor loop, as in torch.
_FOREACH_TYPES = (Tensor, torch.nn.Parameter)
_FOREACH_DEVICES = ("cpu", "cuda")
# Adding a ready-made tensor to the CPU step counters avoids wrapping a scalar per tensor.
_ONE = torch.tensor(1.0, device="cpu")


class Adam(Optimizer):
    r"""Adam with bias correction, coupled or decoupled weight decay and two placements of eps.

    For each parameter ``p`` with gradient ``g`` at step ``t = 1, 2, ...``
    (``m``, ``v``, ``v_max`` start at zero)::

        g = -g                          if maximize
        p = p * (1 - lr * wd)           if decoupled_weight_decay (AdamW, as torch.optim.AdamW)
        g = g + wd * p                  otherwise (L2 penalty, as torch.optim.Adam)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = max(v_max, v)           if amsgrad, and v_max replaces v below

    ``eps_mode="pytorch"`` (``torch.optim.Adam``; Algorithm 1 of the paper)::

        p = p - (lr / (1 - beta1**t)) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
          = p - lr * m_hat / (sqrt(v_hat) + eps)
              where m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t)

    ``eps_mode="tf"`` (TensorFlow/Keras, the tuning playbook; the paper's "efficient version")::

        lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)
        p = p - lr_t * m / (sqrt(v) + eps)
          = p - lr * m_hat / (sqrt(v_hat) + eps / sqrt(1 - beta2**t))

    so a given eps weighs ``1 / sqrt(1 - beta2**t)`` times more in "tf" mode: about 31.6x at
    ``t = 1`` with ``beta2 = 0.999``, tending to 1x as ``t`` grows. An eps tuned in one mode
    transfers to the other only late in training.

    Args:
        params: parameters or parameter groups, as for any ``torch.optim.Optimizer``.
        lr: learning rate, ``>= 0``.
        betas: decay rates of the first and second moment estimates, each in ``[0, 1)``.
        eps: added to the denominator for numerical stability, ``>= 0`` (as torch).
        weight_decay: ``>= 0``; an L2 term added to the gradient unless
            ``decoupled_weight_decay``.
        amsgrad: normalise by the running maximum of ``v`` (Reddi et al., 2018).
        decoupled_weight_decay: shrink the parameters directly (AdamW, Loshchilov & Hutter).
        maximize: ascend the objective instead of descending it.
        eps_mode: ``"pytorch"`` or ``"tf"``, see above.
        foreach: ``True`` for the multi-tensor (``torch._foreach_*``) path, ``False`` for the
            per-tensor loop, ``None`` to use foreach whenever a group's parameters are dense
            tensors on one CPU or CUDA device.

    Sparse gradients raise ``RuntimeError``; complex parameters raise ``ValueError``; parameters
    whose ``grad`` is ``None`` are skipped (their state and step count do not advance).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        amsgrad: bool = False,
        decoupled_weight_decay: bool = False,
        maximize: bool = False,
        eps_mode: EpsMode = "pytorch",
        foreach: bool | None = None,
    ) -> None:
        defaults: dict[str, Any] = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
            "eps_mode": eps_mode,
            "foreach": foreach,
        }
        _check_hyperparameters(defaults)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Validate a group's options and parameters before torch registers it."""
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            group["params"] = params = [params]
        elif not isinstance(params, set):  # torch itself rejects sets, with its own message
            group["params"] = params = list(params)
        for p in params:
            tensor = p[1] if isinstance(p, tuple) else p  # named parameters come as (name, p)
            if isinstance(tensor, Tensor) and tensor.is_complex():
                raise ValueError(_COMPLEX_MESSAGE)
        _check_hyperparameters({**self.defaults, **group})
        super().add_param_group(group)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("decoupled_weight_decay", False)
            group.setdefault("maximize", False)
            group.setdefault("eps_mode", "pytorch")
            group.setdefault("foreach", None)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Update every parameter that has a gradient; `closure` recomputes the loss first."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        for group in self.param_groups:
            tensors = self._init_group(group)
            if not tensors.params:
                continue
            foreach = group["foreach"]
            if foreach is None:
                foreach = _foreach_by_default(tensors.params)
            update = _multi_tensor_adam if foreach else _single_tensor_adam
            update(tensors, _Options.of(group))
        return loss

    def _init_group(self, group: dict[str, Any]) -> _Tensors:
        """Collect the parameters with a gradient and their state, creating state on first use."""
        amsgrad = group["amsgrad"]
        tensors = _Tensors([], [], [], [], [], [])
        params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps = tensors
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            if grad.layout is not torch.strided:
                raise RuntimeError(
                    "Adam does not support sparse gradients; use torch.optim.SparseAdam instead"
                )
            state = self.state[p]
            if not state:
                if p.is_complex():  # also caught at construction, unless the dtype changed since
                    raise ValueError(_COMPLEX_MESSAGE)
                # Like torch: a CPU scalar, so reading it never synchronises with a GPU.
                state["step"] = torch.tensor(0.0, dtype=_step_dtype(), device="cpu")
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            params.append(p)
            grads.append(grad)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            steps.append(state["step"])
            if amsgrad:
                if "max_exp_avg_sq" not in state:  # new, or amsgrad switched on mid-run
                    state["max_exp_avg_sq"] = torch.zeros_like(
                        p, memory_format=torch.preserve_format
                    )
                max_exp_avg_sqs.append(state["max_exp_avg_sq"])
        return tensors


_COMPLEX_MESSAGE = (
    "Adam does not support complex parameters; optimise torch.view_as_real(p) instead"
)


def _check_hyperparameters(group: dict[str, Any]) -> None:
    """Reject options that would silently train badly, with the reason in the message."""
    lr = group["lr"]
    if isinstance(lr, Tensor):
        raise ValueError("lr must be a Python number, not a Tensor")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr} (must be >= 0)")
    betas = group["betas"]
    if len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    for i, beta in enumerate(betas):
        if isinstance(beta, Tensor):
            raise ValueError(f"betas[{i}] must be a Python number, not a Tensor")
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta} (must be in [0, 1))")
    if not 0.0 <= group["eps"]:
        raise ValueError(f"Invalid epsilon value: {group['eps']} (must be >= 0)")
    if not 0.0 <= group["weight_decay"]:
        raise ValueError(f"Invalid weight_decay value: {group['weight_decay']} (must be >= 0)")
    if group["eps_mode"] not in EPS_MODES:
        raise ValueError(f"Invalid eps_mode: {group['eps_mode']!r} (must be one of {EPS_MODES})")
    if group["foreach"] not in (None, True, False):
        raise ValueError(f"foreach must be None, True or False, got {group['foreach']!r}")


def _step_dtype() -> torch.dtype:
    """float32 step counters, float64 under a float64 default dtype: what torch stores."""
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


def _foreach_by_default(params: list[Tensor]) -> bool:
    """Foreach pays off when one kernel launch can cover the whole group: same device, dense."""
    device = params[0].device
    if device.type not in _FOREACH_DEVICES:
        return False
    return all(
        type(p) in _FOREACH_TYPES and p.layout is torch.strided and p.device == device
        for p in params
    )


class _Tensors(NamedTuple):
    """A group's parameters that have a gradient, their gradients and their state, in step."""

    params: list[Tensor]
    grads: list[Tensor]
    exp_avgs: list[Tensor]
    exp_avg_sqs: list[Tensor]
    max_exp_avg_sqs: list[Tensor]  # empty unless amsgrad
    steps: list[Tensor]


class _Options(NamedTuple):
    """A group's options as both update paths read them, gathered once per group and step."""

    lr: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    amsgrad: bool
    decoupled_weight_decay: bool
    maximize: bool
    tf_eps: bool  # eps_mode == "tf"

    @classmethod
    def of(cls, group: dict[str, Any]) -> _Options:
        beta1, beta2 = group["betas"]
        return cls(  # positional, in field order: about half the cost of keywords, every step
            group["lr"],
            beta1,
            beta2,
            group["eps"],
            group["weight_decay"],
            group["amsgrad"],
            group["decoupled_weight_decay"],
            group["maximize"],
            group["eps_mode"] == "tf",
        )


def _scalars(
    lr: float, beta1: float, beta2: float, step: float, tf_eps: bool
) -> tuple[float, float]:
    """(negated step size, divisor of sqrt(v)) at `step`, computed as torch does in float64.

    Shared by both paths so they round identically.
    """
    bias_correction1 = 1 - beta1**step
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    if tf_eps:
        return -(lr * bias_correction2_sqrt / bias_correction1), 1.0
    return -(lr / bias_correction1), bias_correction2_sqrt


def _single_tensor_adam(tensors: _Tensors, options: _Options) -> None:
    """One parameter at a time: the readable reference, and the path for mixed devices."""
    params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps = tensors
    lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled_weight_decay, maximize, tf_eps = options
    for i, param in enumerate(params):
        grad = -grads[i] if maximize else grads[i]
        exp_avg = exp_avgs[i]
        exp_avg_sq = exp_avg_sqs[i]
        step = steps[i]
        step += 1

        if weight_decay != 0:
            if decoupled_weight_decay:
                param.mul_(1 - lr * weight_decay)
            else:
                grad = grad.add(param, alpha=weight_decay)

        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

        if amsgrad:
            torch.maximum(max_exp_avg_sqs[i], exp_avg_sq, out=max_exp_avg_sqs[i])
            second_moment = max_exp_avg_sqs[i]
        else:
            second_moment = exp_avg_sq

        neg_step_size, divisor = _scalars(lr, beta1, beta2, step.item(), tf_eps)
        if tf_eps:
            denom = second_moment.sqrt().add_(eps)
        else:
            denom = (second_moment.sqrt() / divisor).add_(eps)
        param.addcdiv_(exp_avg, denom, value=neg_step_size)


def _multi_tensor_adam(tensors: _Tensors, options: _Options) -> None:
    """Whole lists per kernel call; split by (device, dtype) first, as foreach kernels need."""
    params = tensors.params
    dtype = params[0].dtype
    device = params[0].device
    if all(p.dtype == dtype and p.device == device for p in params):
        _multi_tensor_adam_bucket(tensors, options)
        return
    for bucket in _by_device_and_dtype(tensors):
        _multi_tensor_adam_bucket(bucket, options)


def _by_device_and_dtype(tensors: _Tensors) -> list[_Tensors]:
    """The lists split by their params' (device, dtype). torch's own grouping is private
    (`Optimizer._group_tensors_by_device_and_dtype`, C++ on recent versions): used where it
    exists, with the same grouping in Python as the fallback for a torch that lacks it."""
    group = getattr(Optimizer, "_group_tensors_by_device_and_dtype", None)
    if group is not None:
        grouped = group(list(tensors))
        return [_Tensors(*(cast(list[Tensor], b) for b in lists)) for lists, _ in grouped.values()]
    indices: dict[tuple[torch.device, torch.dtype], list[int]] = {}
    for i, param in enumerate(tensors.params):
        indices.setdefault((param.device, param.dtype), []).append(i)
    return [
        _Tensors(
            *([tensor_list[i] for i in index] if tensor_list else [] for tensor_list in tensors)
        )
        for index in indices.values()
    ]


def _multi_tensor_adam_bucket(tensors: _Tensors, options: _Options) -> None:
    """The same operations as `_single_tensor_adam`, each applied to a list of tensors at once."""
    params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps = tensors
    lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled_weight_decay, maximize, tf_eps = options
    if maximize:
        grads = list(torch._foreach_neg(grads))  # noqa: SLF001
    if steps[0].is_cpu:
        torch._foreach_add_(steps, _ONE, alpha=1.0)
    else:
        torch._foreach_add_(steps, 1)

    if weight_decay != 0:
        if decoupled_weight_decay:
            torch._foreach_mul_(params, 1 - lr * weight_decay)
        elif maximize:  # the negated copy is ours to overwrite
            torch._foreach_add_(grads, params, alpha=weight_decay)
        else:
            grads = list(torch._foreach_add(grads, params, alpha=weight_decay))  # noqa: SLF001

    torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
    torch._foreach_mul_(exp_avg_sqs, beta2)
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)
    del grads

    if amsgrad:
        torch._foreach_maximum_(max_exp_avg_sqs, exp_avg_sqs)
        denom = torch._foreach_sqrt(max_exp_avg_sqs)  # noqa: SLF001
    else:
        denom = torch._foreach_sqrt(exp_avg_sqs)  # noqa: SLF001

    # Parameters skipped while their grad was None lag behind: then each needs its own scalars.
    step_values = [step.item() for step in steps]
    first = step_values[0]
    if all(value == first for value in step_values):
        neg_step_size, divisor = _scalars(lr, beta1, beta2, first, tf_eps)
        if not tf_eps:
            torch._foreach_div_(denom, divisor)
        torch._foreach_add_(denom, eps)
        torch._foreach_addcdiv_(params, exp_avgs, denom, neg_step_size)
        return
    pairs = [_scalars(lr, beta1, beta2, value, tf_eps) for value in step_values]
    if not tf_eps:
        torch._foreach_div_(denom, [divisor for _, divisor in pairs])
    torch._foreach_add_(denom, eps)
    torch._foreach_addcdiv_(params, exp_avgs, denom, [neg for neg, _ in pairs])
