"""Pick the layer from the environment: memory under test, Redis everywhere else."""

import os

from fast_channels.layers import (
    BaseChannelLayer,
    InMemoryChannelLayer,
    has_layers,
    register_channel_layer,
)


def build_default_layer() -> BaseChannelLayer:
    app_env = os.environ.get("APP_ENV", "development")
    if app_env == "test":
        return InMemoryChannelLayer()

    # Imported here, so the test environment needs no Redis client at all.
    from fast_channels.layers.redis import RedisChannelLayer

    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        raise RuntimeError(f"APP_ENV={app_env} needs REDIS_URL, e.g. redis://localhost:6379/0")
    # One prefix per environment: staging and production may share a Redis safely.
    return RedisChannelLayer(hosts=[redis_url], prefix=f"shop-{app_env}")


def setup_channel_layers() -> None:
    if not has_layers():
        register_channel_layer("default", build_default_layer())
