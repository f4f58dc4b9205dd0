"""Settings shared by the sandbox web app, the arq worker and the sandbox scripts.

Everything is read from environment variables (names below) by
:func:`get_settings`. There is no module-level singleton: each process builds
its settings once at start-up and passes them down, and tests build their own
with keyword arguments, e.g. ``Settings(layers="memory")``.
"""

from __future__ import annotations

import secrets
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Environment variable names, in one place so the compose file test can check them.
ENV_NAMES = (
    "REDIS_URL",
    "SANDBOX_LAYERS",
    "SANDBOX_HOST",
    "SANDBOX_PORT",
    "REDIS_SENTINELS",
    "REDIS_CLUSTER_NODES",
    "REDIS_SENTINEL_SERVICE",
    "REDIS_SENTINEL_PASSWORD",
    "REDIS_PASSWORD",
    "SANDBOX_ALLOWED_ORIGINS",
    "SANDBOX_MAX_MESSAGE_BYTES",
    "SANDBOX_RATE_LIMIT",
    "SANDBOX_RATE_BURST",
    "SANDBOX_SESSION_SECRET",
    "SANDBOX_JOB_QUEUE",
    "SANDBOX_JOB_STEP_SECONDS",
)


def parse_host_ports(text: str, variable: str, example: str) -> list[tuple[str, int]]:
    """Turn ``"host:port,host:port"`` into ``[("host", port), ...]``.

    Raises ``ValueError`` naming ``variable`` and the bad entry, so a typo in the
    environment stops the app at start-up instead of failing on the first message.
    """
    addresses: list[tuple[str, int]] = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        host, sep, port = entry.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(
                f"{variable} entry {entry!r} is not host:port (expected e.g. {example!r})"
            )
        addresses.append((host, int(port)))
    return addresses


def parse_sentinels(text: str) -> list[tuple[str, int]]:
    """``REDIS_SENTINELS`` as ``[(host, port), ...]``."""
    return parse_host_ports(text, "REDIS_SENTINELS", "sentinel-1:26379,sentinel-2:26379")


def parse_cluster_nodes(text: str) -> list[tuple[str, int]]:
    """``REDIS_CLUSTER_NODES`` (seed nodes of a Redis Cluster) as ``[(host, port), ...]``."""
    return parse_host_ports(text, "REDIS_CLUSTER_NODES", "redis-node-1:6379,redis-node-2:6379")


class Settings(BaseSettings):
    """Configuration of the sandbox; each field names its environment variable."""

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    #: Redis for the layers and the job queue. Unset: ``python -m sandbox`` starts one.
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    #: The environment switch: "redis" (default) or "memory" (tests, no Redis needed;
    #: the job queue and the external senders then cannot work, being cross-process).
    layers: Literal["redis", "memory"] = Field(default="redis", validation_alias="SANDBOX_LAYERS")
    host: str = Field(default="127.0.0.1", validation_alias="SANDBOX_HOST")
    port: int = Field(default=8080, ge=1, le=65535, validation_alias="SANDBOX_PORT")

    #: Sentinel: "host:port,host:port". When set, a "sentinel" layer is registered too.
    redis_sentinels: str = Field(default="", validation_alias="REDIS_SENTINELS")
    redis_sentinel_service: str = Field(
        default="mymaster", validation_alias="REDIS_SENTINEL_SERVICE"
    )
    redis_sentinel_password: str | None = Field(
        default=None, validation_alias="REDIS_SENTINEL_PASSWORD"
    )
    #: Redis Cluster: seed nodes "host:port,host:port" (a few are enough; the layers
    #: discover the rest). When set, the chat, notifications and jobs layers use the
    #: cluster instead of REDIS_URL, which still holds the arq job queue (arq needs
    #: a single Redis).
    redis_cluster_nodes: str = Field(default="", validation_alias="REDIS_CLUSTER_NODES")
    #: Password of the Sentinel-managed master or of the cluster nodes (a REDIS_URL
    #: carries its own).
    redis_password: str | None = Field(default=None, validation_alias="REDIS_PASSWORD")

    #: Host names (comma separated) whose pages may open WebSockets; "*" allows any.
    allowed_origins_csv: str = Field(
        default="localhost,127.0.0.1,[::1]", validation_alias="SANDBOX_ALLOWED_ORIGINS"
    )
    max_message_bytes: int = Field(default=4096, gt=0, validation_alias="SANDBOX_MAX_MESSAGE_BYTES")
    #: Per connection: a steady rate (messages per second) and a burst allowance.
    rate_limit: float = Field(default=5.0, gt=0, validation_alias="SANDBOX_RATE_LIMIT")
    rate_burst: int = Field(default=10, gt=0, validation_alias="SANDBOX_RATE_BURST")

    #: Signs the chat's sign-in cookie. Unset: a random one per process (sign-ins then
    #: last until a restart, and several web processes need the same value).
    session_secret: str = Field(
        default_factory=lambda: secrets.token_urlsafe(32),
        min_length=16,
        validation_alias="SANDBOX_SESSION_SECRET",
    )

    job_queue: str = Field(default="sandbox:jobs", validation_alias="SANDBOX_JOB_QUEUE")
    job_step_seconds: float = Field(default=0.4, ge=0, validation_alias="SANDBOX_JOB_STEP_SECONDS")

    @model_validator(mode="after")
    def _check_addresses(self) -> Settings:
        parse_sentinels(self.redis_sentinels)
        parse_cluster_nodes(self.redis_cluster_nodes)
        return self

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        """``REDIS_SENTINELS`` as ``[(host, port), ...]`` (empty when not configured)."""
        return parse_sentinels(self.redis_sentinels)

    @property
    def cluster_nodes(self) -> list[tuple[str, int]]:
        """``REDIS_CLUSTER_NODES`` as ``[(host, port), ...]`` (empty when not configured)."""
        return parse_cluster_nodes(self.redis_cluster_nodes)

    @property
    def allowed_origins(self) -> list[str]:
        """``SANDBOX_ALLOWED_ORIGINS`` as a list of host patterns."""
        return [o.strip() for o in self.allowed_origins_csv.split(",") if o.strip()]

    @property
    def base_url(self) -> str:
        """Where the web app listens, for scripts that call its HTTP API."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"


def get_settings() -> Settings:
    """Build the settings from the environment (call once per process)."""
    return Settings()
