"""`optim.adam.Adam` against torch.optim.Adam/AdamW on a real model, and against hand-computed
updates where torch has no twin ("tf" eps mode).

Trials only mean something if "Adam" here is the Adam users run, so every option torch also has
must reproduce torch's parameters after a realistic number of steps.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch import Tensor, nn

import optim.adam
from optim.adam import Adam

STEPS = 200
LR = 1e-2  # large enough that 200 steps move every weight well past float32 round-off

Batches = list[tuple[Tensor, Tensor]]
MakeOptimizer = Callable[[list[nn.Parameter]], torch.optim.Optimizer]

# Options torch.optim.Adam shares with ours, passed to both unchanged.
SHARED_OPTIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "amsgrad": {"amsgrad": True},
    "weight_decay": {"weight_decay": 1e-2},
    "maximize": {"maximize": True},
    "maximize_weight_decay_amsgrad": {"maximize": True, "weight_decay": 1e-2, "amsgrad": True},
    "betas_eps": {"betas": (0.8, 0.99), "eps": 1e-3},
}


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """The matmuls are tiny: extra threads only add sync cost, and stall on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def batches() -> Batches:
    """sklearn's digits in a fixed order of 64-sample minibatches."""
    data = load_digits()
    inputs = torch.tensor(data.data / 16.0, dtype=torch.float32)
    targets = torch.tensor(data.target, dtype=torch.long)
    order = torch.randperm(len(targets), generator=torch.Generator().manual_seed(0))
    return [(inputs[i], targets[i]) for i in order.split(64)]


def mlp() -> nn.Module:
    """A narrower mlp_digits (the optimizer's arithmetic does not depend on width), same init."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Batches,
    steps: int,
    start: int = 0,
) -> None:
    for step in range(start, start + steps):
        inputs, targets = batches[step % len(batches)]
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(inputs), targets).backward()
        optimizer.step()


def trained(make: MakeOptimizer, batches: Batches, steps: int = STEPS) -> list[Tensor]:
    model = mlp()
    train(model, make(list(model.parameters())), batches, steps)
    return [p.detach().clone() for p in model.parameters()]


def assert_params_close(actual: list[Tensor], expected: list[Tensor], **tolerances: Any) -> None:
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        torch.testing.assert_close(a, e, **tolerances)


@pytest.mark.parametrize("foreach", [True, False], ids=["foreach", "single"])
@pytest.mark.parametrize("option", SHARED_OPTIONS)
def test_matches_torch_adam(batches: Batches, option: str, foreach: bool) -> None:
    kwargs = {"lr": LR, "foreach": foreach, **SHARED_OPTIONS[option]}
    ours = trained(lambda p: Adam(p, **kwargs), batches)
    theirs = trained(lambda p: torch.optim.Adam(p, **kwargs), batches)
    initial = [p.detach() for p in mlp().parameters()]
    assert all(not torch.allclose(a, b) for a, b in zip(theirs, initial, strict=True))
    assert_params_close(ours, theirs)


@pytest.mark.parametrize("foreach", [True, False], ids=["foreach", "single"])
def test_decoupled_weight_decay_matches_torch_adamw(batches: Batches, foreach: bool) -> None:
    kwargs: dict[str, Any] = {"lr": LR, "weight_decay": 0.1, "foreach": foreach}
    ours = trained(lambda p: Adam(p, decoupled_weight_decay=True, **kwargs), batches)
    theirs = trained(lambda p: torch.optim.AdamW(p, **kwargs), batches)
    coupled = trained(lambda p: Adam(p, **kwargs), batches)
    assert_params_close(ours, theirs)
    with pytest.raises(AssertionError):  # the option does change something
        assert_params_close(ours, coupled)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"amsgrad": True, "weight_decay": 1e-2, "maximize": True},
        {"weight_decay": 0.1, "decoupled_weight_decay": True},
        {"eps_mode": "tf", "eps": 1e-3},
        {"eps_mode": "tf", "amsgrad": True, "weight_decay": 1e-2},
    ],
    ids=["default", "amsgrad_wd_maximize", "decoupled", "tf", "tf_amsgrad_wd"],
)
def test_foreach_and_single_tensor_paths_agree(batches: Batches, options: dict[str, Any]) -> None:
    multi = trained(lambda p: Adam(p, lr=LR, foreach=True, **options), batches)
    single = trained(lambda p: Adam(p, lr=LR, foreach=False, **options), batches)
    assert_params_close(multi, single)


@pytest.mark.parametrize("foreach", [True, False], ids=["foreach", "single"])
def test_param_groups_and_params_without_grad_match_torch(foreach: bool) -> None:
    """Some parameters miss steps (grad None), so step counts differ within a group."""

    def run(make: Callable[[list[dict[str, Any]]], torch.optim.Optimizer]) -> list[Tensor]:
        torch.manual_seed(1)
        params = [nn.Parameter(torch.randn(shape)) for shape in [(5, 3), (3,), (4,), (2, 2)]]
        optimizer = make(
            [{"params": params[:2]}, {"params": params[2:], "lr": 0.05, "betas": (0.5, 0.9)}]
        )
        for step in range(30):
            optimizer.zero_grad()
            live = [
                p for i, p in enumerate(params) if not (i == step % 3 or (i == 3 and step < 20))
            ]
            sum((p**2).sum() + p.sum() for p in live).backward()  # type: ignore[union-attr]
            optimizer.step()
        return [p.detach().clone() for p in params]

    ours = run(lambda groups: Adam(groups, lr=LR, foreach=foreach, amsgrad=True))
    theirs = run(lambda groups: torch.optim.Adam(groups, lr=LR, foreach=foreach, amsgrad=True))
    assert_params_close(ours, theirs)


@pytest.mark.parametrize("amsgrad", [True, False])
@pytest.mark.parametrize("torch_grouping", [True, False], ids=["torch_grouping", "fallback"])
def test_mixed_dtypes_take_the_foreach_path_per_dtype(
    amsgrad: bool, torch_grouping: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also without torch's private grouping helper (a torch version that drops it)."""
    if not torch_grouping:
        monkeypatch.delattr(torch.optim.Optimizer, "_group_tensors_by_device_and_dtype")

    def run(foreach: bool) -> list[Tensor]:
        torch.manual_seed(2)
        params = [
            nn.Parameter(torch.randn(4, 3)),
            nn.Parameter(torch.randn(3, dtype=torch.float64)),
            nn.Parameter(torch.randn(2)),
        ]
        optimizer = Adam(params, lr=LR, foreach=foreach, amsgrad=amsgrad)
        for _ in range(10):
            optimizer.zero_grad()
            sum(((p - 1) ** 3).sum().double() for p in params).backward()  # type: ignore[union-attr]
            optimizer.step()
        return [p.detach().clone() for p in params]

    assert_params_close(run(True), run(False), rtol=0, atol=0)


@pytest.mark.parametrize(
    "options",
    [{"amsgrad": True, "weight_decay": 1e-2}, {"eps_mode": "tf", "eps": 1e-3, "maximize": True}],
    ids=["pytorch_amsgrad_wd", "tf_maximize"],
)
def test_state_dict_round_trip_continues_exactly(batches: Batches, options: dict[str, Any]) -> None:
    straight = mlp()
    straight_opt = Adam(straight.parameters(), lr=LR, **options)
    train(straight, straight_opt, batches, 200)

    first = mlp()
    first_opt = Adam(first.parameters(), lr=LR, **options)
    train(first, first_opt, batches, 100)
    buffer = io.BytesIO()
    torch.save({"model": first.state_dict(), "optimizer": first_opt.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer)

    resumed = mlp()
    resumed.load_state_dict(saved["model"])
    resumed_opt = Adam(resumed.parameters())  # hyper-parameters come from the state dict
    resumed_opt.load_state_dict(saved["optimizer"])
    assert resumed_opt.param_groups[0]["eps_mode"] == options.get("eps_mode", "pytorch")
    train(resumed, resumed_opt, batches, 100, start=100)

    assert_params_close(
        [p.detach() for p in resumed.parameters()],
        [p.detach() for p in straight.parameters()],
        rtol=0,
        atol=0,
    )
    for p in resumed.parameters():
        assert resumed_opt.state[p]["step"].item() == 200


def reference_adam(
    p0: np.ndarray,
    grads: list[np.ndarray],
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    eps_mode: str,
    amsgrad: bool,
) -> np.ndarray:
    """The update rules of the Adam docstring, in float64."""
    p = p0.astype(np.float64)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    v_max = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = np.maximum(v_max, v)
        second = v_max if amsgrad else v
        if eps_mode == "tf":
            lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
            p = p - lr_t * m / (np.sqrt(second) + eps)
        else:
            m_hat = m / (1 - beta1**t)
            v_hat = second / (1 - beta2**t)
            p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


@pytest.mark.parametrize("amsgrad", [False, True], ids=["adam", "amsgrad"])
@pytest.mark.parametrize("foreach", [True, False], ids=["foreach", "single"])
@pytest.mark.parametrize("eps_mode", ["tf", "pytorch"])
def test_eps_modes_follow_the_documented_formula(
    eps_mode: str, foreach: bool, amsgrad: bool
) -> None:
    rng = np.random.default_rng(0)
    p0 = rng.normal(size=5).astype(np.float32)
    # gradient scales around eps, so where eps enters decides the update
    scales = np.array([1e-4, 1e-3, 1e-2, 1.0, 3e-3])
    grads = [(rng.normal(size=5) * scales).astype(np.float32) for _ in range(6)]
    settings = {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-3, "amsgrad": amsgrad}

    param = nn.Parameter(torch.tensor(p0))
    optimizer = Adam(
        [param],
        lr=settings["lr"],
        betas=(settings["beta1"], settings["beta2"]),
        eps=settings["eps"],
        amsgrad=amsgrad,
        eps_mode=eps_mode,  # type: ignore[arg-type]
        foreach=foreach,
    )
    for g in grads:
        param.grad = torch.tensor(g)
        optimizer.step()

    expected = reference_adam(p0, grads, eps_mode=eps_mode, **settings)  # type: ignore[arg-type]
    np.testing.assert_allclose(param.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    other = reference_adam(p0, grads, eps_mode="pytorch" if eps_mode == "tf" else "tf", **settings)  # type: ignore[arg-type]
    assert np.abs(expected - other).max() > 1e-3  # the two modes really differ here


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -1e-3}, "learning rate"),
        ({"lr": float("nan")}, "learning rate"),
        ({"lr": torch.tensor(1e-3)}, "lr must be a Python number"),
        ({"betas": (1.0, 0.999)}, "beta parameter at index 0"),
        ({"betas": (-0.1, 0.999)}, "beta parameter at index 0"),
        ({"betas": (0.9, 1.0)}, "beta parameter at index 1"),
        ({"betas": (0.9,)}, "betas must be a pair"),
        ({"eps": -1e-8}, "epsilon"),
        ({"weight_decay": -0.1}, "weight_decay"),
        ({"eps_mode": "keras"}, "eps_mode"),
        ({"foreach": "yes"}, "foreach"),
    ],
)
def test_invalid_arguments_raise(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Adam([nn.Parameter(torch.zeros(2))], **kwargs)


def test_param_group_options_are_validated() -> None:
    optimizer = Adam([nn.Parameter(torch.zeros(2))])
    with pytest.raises(ValueError, match="learning rate"):
        optimizer.add_param_group({"params": [nn.Parameter(torch.zeros(2))], "lr": -1.0})
    with pytest.raises(ValueError, match="eps_mode"):
        Adam([{"params": [nn.Parameter(torch.zeros(2))], "eps_mode": "TF"}])
    assert len(optimizer.param_groups) == 1


def test_boundary_values_are_accepted() -> None:
    Adam([nn.Parameter(torch.zeros(2))], lr=0.0, betas=(0.0, 0.0), eps=0.0, weight_decay=0.0)


def test_complex_params_are_rejected() -> None:
    with pytest.raises(ValueError, match="complex"):
        Adam([nn.Parameter(torch.zeros(2, dtype=torch.complex64))])


@pytest.mark.parametrize("foreach", [True, False, None])
def test_sparse_gradients_raise(foreach: bool | None) -> None:
    embedding = nn.Embedding(10, 3, sparse=True)
    embedding(torch.tensor([1, 2])).sum().backward()
    optimizer = Adam(embedding.parameters(), foreach=foreach)
    with pytest.raises(RuntimeError, match="sparse"):
        optimizer.step()


@pytest.mark.parametrize("foreach", [True, False, None])
def test_params_without_grad_are_left_alone(foreach: bool | None) -> None:
    used, unused = nn.Parameter(torch.ones(3)), nn.Parameter(torch.ones(3))
    optimizer = Adam([used, unused], lr=0.1, foreach=foreach)
    used.sum().backward()
    optimizer.step()
    assert torch.equal(unused, torch.ones(3))
    assert unused not in optimizer.state
    torch.testing.assert_close(used.detach(), torch.full((3,), 0.9))


def test_step_with_closure_returns_its_loss() -> None:
    param = nn.Parameter(torch.tensor([2.0]))
    optimizer = Adam([param], lr=0.5)
    calls = []

    def closure() -> float:
        calls.append(1)
        optimizer.zero_grad()
        loss = (param**2).sum()
        loss.backward()
        return loss.item()

    assert optimizer.step(closure) == 4.0
    assert calls == [1]
    torch.testing.assert_close(param.detach(), torch.tensor([1.5]))


def test_default_foreach_uses_multi_tensor_path_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def spy(name: str) -> Callable[..., None]:
        real = getattr(optim.adam, name)

        def record(*args: Any, **kwargs: Any) -> None:
            calls.append(name)
            real(*args, **kwargs)

        return record

    for name in ("_multi_tensor_adam", "_single_tensor_adam"):
        monkeypatch.setattr(optim.adam, name, spy(name))
    param = nn.Parameter(torch.ones(3))
    param.grad = torch.ones(3)
    Adam([param]).step()
    Adam([param], foreach=False).step()
    assert calls == ["_multi_tensor_adam", "_single_tensor_adam"]
