"""adamtune's public Python surface for users' own code: `adamtune.testing` (the task contract
for plugin authors) and `adamtune.client` (trials trained by your own loop, over HTTP).

The service itself lives in `app` (web, workers, CLI) and `optim` (the engine).
"""

__version__ = "0.1.0"
