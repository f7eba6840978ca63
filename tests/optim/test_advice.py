"""A comparison's sentences and its one line of advice: a practical margin, the same config
said to be the same, ties to the family with fewer tuned settings; "by 0 %" never."""

from __future__ import annotations

from collections.abc import Sequence

from optim.advice import Entry, advise, same_config, tuning_worth, versus

ADAM = {"lr": 1e-2, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "weight_decay": 0.0}


def entry(name: str, values: Sequence[float], *, tuned: int = 4, **params: float | str) -> Entry:
    label = {"adam": "Adam", "adamw": "AdamW", "adam_lr_only": "Adam (lr only)",
             "sgd_nesterov": "SGD+Nesterov"}[name]  # fmt: skip
    return Entry(name, label, {**ADAM, **params}, list(values), tuned, f"line of {label}")


REFERENCE = entry("adam", [1.0, 1.1, 0.9, 1.0, 1.05])


def test_a_clear_gain_beats_and_is_the_advice() -> None:
    better = entry("sgd_nesterov", [0.8, 0.9, 0.7, 0.8, 0.85], lr=0.1)
    result = versus(better, REFERENCE)
    assert result.kind == "better" and result.sentence.startswith("SGD+Nesterov beats Adam by 20%")
    chosen, line = advise(REFERENCE, [result])
    assert chosen is better and line.startswith("Use SGD+Nesterov: line of SGD+Nesterov")


def test_a_significant_but_tiny_difference_is_no_meaningful_difference() -> None:
    # 0.3 % better on every seed: significant, below the 1 % margin; never "by 0 %"
    tiny = entry("sgd_nesterov", [v * 0.997 for v in REFERENCE.values], lr=0.1)
    result = versus(tiny, REFERENCE)
    assert result.kind == "tie"
    assert result.sentence.startswith("no meaningful difference between SGD+Nesterov and Adam")
    assert "within ±1" in result.sentence and "by 0" not in result.sentence
    assert "+0.3%" in result.sentence
    chosen, line = advise(REFERENCE, [result])
    assert chosen is REFERENCE and line.startswith("Keep Adam: line of Adam")
    assert "nothing beat it by more than 1" in line


def test_adamw_with_a_negligible_decay_is_adams_config() -> None:
    adamw = entry("adamw", REFERENCE.values, weight_decay=4.9e-5)
    assert same_config(adamw, REFERENCE)
    result = versus(adamw, REFERENCE)
    assert result.kind == "same" and "the same" in result.sentence
    assert "4.9e-05" in result.sentence and "by 0" not in result.sentence
    real_decay = entry("adamw", REFERENCE.values, weight_decay=0.1)
    assert not same_config(real_decay, REFERENCE)
    sgd = entry("sgd_nesterov", REFERENCE.values)
    assert not same_config(sgd, REFERENCE)  # another update rule, whatever its settings


def test_a_tie_goes_to_the_family_with_fewer_tuned_settings() -> None:
    noisy = [0.9, 1.2, 1.0, 0.95, 1.1]
    lr_only = entry("adam_lr_only", noisy, tuned=1, lr=3e-3)
    result = versus(lr_only, REFERENCE)
    assert result.kind == "tie" and result.sentence.startswith("no significant difference")
    chosen, line = advise(REFERENCE, [result])
    assert chosen is lr_only
    assert line.startswith("Use Adam (lr only): line of Adam (lr only)")
    assert "1 tuned setting instead of 4" in line


def test_a_worse_family_is_worse_and_never_advised() -> None:
    worse = entry("sgd_nesterov", [v * 1.3 for v in REFERENCE.values], tuned=2, lr=0.1)
    result = versus(worse, REFERENCE)
    assert result.kind == "worse" and "30% worse than Adam" in result.sentence
    assert advise(REFERENCE, [result])[0] is REFERENCE


def test_the_same_settings_with_another_schedule_are_not_the_same_config() -> None:
    values = REFERENCE.values
    cosine = entry("adamw", values, warmup=0.05, decay="cosine", final_fraction=0.0)
    assert not same_config(cosine, REFERENCE)
    assert same_config(cosine, entry("adam", values, warmup=0.05, decay="cosine"))
    assert not same_config(cosine, entry("adam", values, warmup=0.05, decay="linear"))
    # a constant rate with no warmup is no schedule, whatever its final fraction says
    assert same_config(entry("adam", values, decay="constant", final_fraction=0.5), REFERENCE)


def test_tuning_is_weighed_against_a_one_shot_family_with_its_compute() -> None:
    """Tuned Adam against a family trained once at its defaults: the sentence says how many
    runs' worth of compute the tuning spent and whether it beat the one-shot family, with the
    gain relative to the one-shot family's loss."""
    one_shot = Entry("adamw", "Schedule-Free AdamW", {}, [1.25, 1.375, 1.125, 1.25, 1.3125], 0,
                     "line")  # fmt: skip
    line = tuning_worth(REFERENCE, one_shot, trials=30, spent_epochs=1200, run_epochs=30)
    assert line.startswith(
        "Tuning Adam for 30 trials (≈ 40x the compute of one run) beats Schedule-Free AdamW at "
        "its defaults by 20% (95 % CI +20% to +20%, 5/5 seeds)"
    ), line
    level = Entry("adamw", "Prodigy", {}, list(REFERENCE.values), 0, "line")
    line = tuning_worth(REFERENCE, level, trials=30, spent_epochs=1200, run_epochs=30)
    assert "does not beat Prodigy at its defaults: no meaningful difference" in line
    better = Entry("adamw", "Prodigy", {}, [v * 0.8 for v in REFERENCE.values], 0, "line")
    line = tuning_worth(REFERENCE, better, trials=30, spent_epochs=1200, run_epochs=30)
    assert "does not beat Prodigy at its defaults: it is 25% worse" in line
