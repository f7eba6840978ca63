"""Settings from the environment (prefix ADAMTUNE_) or the CLI: the only place that reads env."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./data/adamtune.db"


class Settings(BaseSettings):
    """Everything an operator can change, with the defaults of a one-machine install."""

    model_config = SettingsConfigDict(env_prefix="ADAMTUNE_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"  # bind address: loopback unless told otherwise
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=2, ge=0)  # embedded worker processes started by `serve`
    # API processes `serve` runs on its port (uvicorn's workers): the API's Python is one core
    # per process, and they share nothing but the database, as replicas behind a balancer do
    processes: int = Field(default=1, ge=1, le=64)
    api_token: SecretStr | None = None  # when set, mutating requests need it as a Bearer token
    protect_reads: bool = False  # with a token: reads need it too
    cors_origins: list[str] = []  # CORS is off unless origins are listed
    device: str = "cpu"  # where workers train: cpu, cuda or auto

    # limits, enforced on study creation
    max_trials: int = Field(default=1000, ge=1)
    max_epochs: int = Field(default=500, ge=1)
    max_concurrent_studies: int = Field(default=10, ge=1)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    # worker behaviour
    heartbeat_interval: int = Field(default=2, ge=1)  # seconds between trial heartbeats
    grace_period: int = Field(default=10, ge=1)  # a trial silent this long is failed and retried
    poll_interval: float = Field(default=0.5, gt=0)  # idle worker's wait between looks for work
    trial_time_limit: float | None = Field(default=None, gt=0)  # seconds; None: no limit

    # overload: requests in flight per lane, a short queue, the rest shed (app/admission.py);
    # cheap + curves + reads + writes + figures stay below the database pool (20) and the 40
    # request threads
    cheap_in_flight: int = Field(default=8, ge=1, le=32)  # study list, a study, a page, a trial
    cheap_queue_length: int = Field(default=512, ge=0)  # they are quick: a deeper queue
    curves_in_flight: int = Field(default=2, ge=1, le=16)  # curve loads (megabytes each)
    reads_in_flight: int = Field(default=2, ge=1, le=32)  # other reads: exports, comparisons
    writes_in_flight: int = Field(default=4, ge=1, le=16)
    runners_in_flight: int = Field(default=8, ge=1, le=32)  # external runners' report/tell
    asks_in_flight: int = Field(default=2, ge=1, le=32)  # their asks (one claim at a time)
    figures_in_flight: int = Field(default=2, ge=1, le=8)  # also the figure builds at once
    streams_max: int = Field(default=200, ge=1)  # live event streams open at once
    static_in_flight: int = Field(default=32, ge=1)
    queue_length: int = Field(default=64, ge=0)  # per lane: requests that may wait for a slot
    queue_wait_s: float = Field(default=5.0, ge=0)  # ... for at most this long, then 503
    # identical concurrent reads (cheap, curves, figures) run once per wave (app/coalesce.py):
    # at most this many wait for one run's answer (0: no coalescing)
    coalesce_max_followers: int = Field(default=10_000, ge=0)
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_s: float = Field(default=10.0, gt=0)  # past it: 503, never a hang
    # connections the kernel queues before they are accepted (capped by net.core.somaxconn):
    # a burst beyond it waits for SYN retries, a second and more each
    backlog: int = Field(default=4096, ge=64)
    shutdown_timeout_s: float = Field(default=5.0, gt=0)  # SIGTERM: open streams get this long

    # reads
    figure_max_trials: int = Field(default=1000, ge=10)  # figures use at most this many trials
    curves_max_trials: int = Field(default=1000, ge=1)  # first curve load shows at most this many
    curves_max_points: int = Field(default=500, ge=2)  # ... with at most this many points each
    # finished studies' encoded first loads kept in memory (an all-trials read of 10,000 x 50
    # is 33 MB, 13 MB gzipped); 0 keeps none
    curves_cache_mb: float = Field(default=96.0, ge=0)
    sse_poll_interval: float = Field(default=0.2, gt=0)

    @field_validator("api_token")
    @classmethod
    def _empty_token_is_none(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and not token.get_secret_value():
            return None
        return token

    def pool(self) -> dict[str, Any]:
        """SQLAlchemy pool options of the API's engines."""
        return {
            "pool_size": self.db_pool_size,
            "max_overflow": self.db_max_overflow,
            "pool_timeout": self.db_pool_timeout_s,
        }


@cache
def get_settings() -> Settings:
    return Settings()
