"""Callbacks that let a framework's own training loop train adamtune's trials: Lightning
(`adamtune.integrations.lightning`) and Hugging Face Transformers
(`adamtune.integrations.transformers`). Each imports its framework only when imported itself,
so the client stays standard-library only; install the framework with the extra of the same
name (`pip install "adamtune[lightning]"`) or on its own."""
