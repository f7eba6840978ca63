"""The built-in tasks' metadata, in the order the CLI and dashboard show them.

Each task's module (which imports torch) takes its name, description and sizes from here
(`class RosenbrockTask(Task, info=ROSENBROCK)`), so this is the one place they are written, and
the registry can list and validate tasks without importing any task module.
"""

from __future__ import annotations

from optim.tasks.base import TaskInfo

ROSENBROCK = TaskInfo(
    name="rosenbrock",
    description="DeepOBS two_d_rosenbrock: noisy 2-D Rosenbrock from (-0.5, 1.5)",
    default_epochs=50,
    batch_size=128,
    implementation="optim.tasks.rosenbrock:RosenbrockTask",
)
QUADRATIC_DEEP = TaskInfo(
    name="quadratic_deep",
    description="DeepOBS quadratic_deep: 100-d noisy quadratic, deep-net spectrum",
    default_epochs=100,
    batch_size=128,
    implementation="optim.tasks.quadratic_deep:QuadraticDeepTask",
)
LOGREG_BREAST_CANCER = TaskInfo(
    name="logreg_breast_cancer",
    description="Logistic regression on the breast-cancer data set (30 features)",
    has_accuracy=True,
    default_epochs=50,
    batch_size=16,
    implementation="optim.tasks.logreg_breast_cancer:LogRegBreastCancerTask",
)
MLP_DIGITS = TaskInfo(
    name="mlp_digits",
    description="MLP 64-128-128-10 on the 8x8 digits data set",
    has_accuracy=True,
    default_epochs=20,
    batch_size=64,
    implementation="optim.tasks.mlp_digits:MLPDigitsTask",
)
CNN_DIGITS = TaskInfo(
    name="cnn_digits",
    description="Small CNN (2 conv layers, max-pool, linear) on 8x8 digit images",
    has_accuracy=True,
    default_epochs=15,
    batch_size=64,
    implementation="optim.tasks.cnn_digits:CNNDigitsTask",
)
CHAR_LSTM = TaskInfo(
    name="char_lstm",
    description="Character-level 2-layer LSTM language model on Python's help text",
    has_accuracy=True,  # next-character accuracy; val_loss is in nats per character
    default_epochs=10,
    batch_size=32,
    implementation="optim.tasks.char_lstm:CharLSTMTask",
)
TRANSFORMER_LM = TaskInfo(
    name="transformer_lm",
    description=(
        "Character-level 2-layer transformer language model on Python's help text; "
        "the workload where a learning-rate warmup is expected to matter"
    ),
    has_accuracy=True,  # next-character accuracy; val_loss is in nats per character
    default_epochs=12,
    batch_size=32,
    implementation="optim.tasks.transformer_lm:TransformerLMTask",
)

BUILTIN_TASKS: tuple[TaskInfo, ...] = (
    ROSENBROCK,
    QUADRATIC_DEEP,
    LOGREG_BREAST_CANCER,
    MLP_DIGITS,
    CNN_DIGITS,
    CHAR_LSTM,
    TRANSFORMER_LM,
)
"""The one place built-in tasks are listed, in the order the CLI and dashboard show them."""
