"""The task contract for plugin authors: `from adamtune.testing import TaskContract`."""

from optim.testing import TaskContract, comparable

__all__ = ["TaskContract", "comparable"]
