"""The training loop's process-level helpers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from optim.training import resolve_device

ROOT = __file__.rsplit("/tests/", 1)[0]


def test_warm_up_pays_the_lazy_imports_before_a_trial() -> None:
    """A fresh process has neither scikit-learn nor torch's dynamo loaded until the first
    optimizer is built; after `warm_up` it has both, so the first trial does not pay them."""
    script = textwrap.dedent(
        """
        import sys
        from optim.training import warm_up
        before = {m: m in sys.modules for m in ("sklearn.datasets", "torch._dynamo")}
        warm_up()
        after = {m: m in sys.modules for m in ("sklearn.datasets", "torch._dynamo")}
        print(before, after)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == (
        "{'sklearn.datasets': False, 'torch._dynamo': False} "
        "{'sklearn.datasets': True, 'torch._dynamo': True}"
    )


def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
