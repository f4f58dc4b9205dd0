"""sandbox/layers.py and sandbox/settings.py: the patterns users copy, working."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fast_channels.layers import get_channel_layer, registered_aliases
from pydantic import ValidationError

from sandbox.app import create_app
from sandbox.layers import close_channel_layers, redis_location, setup_channel_layers
from sandbox.redis_process import RedisProcess, free_port
from sandbox.settings import Settings

from .conftest import connect, needs_redis


def test_memory_switch_registers_in_memory_layers_only() -> None:
    aliases = setup_channel_layers(Settings(layers="memory"))
    assert aliases == ["chat", "jobs", "memory", "notifications"]
    assert {type(get_channel_layer(a)).__name__ for a in aliases} == {"InMemoryChannelLayer"}


@needs_redis
async def test_redis_layers_have_their_own_kinds_and_prefixes(redis_url: str) -> None:
    setup_channel_layers(Settings(redis_url=redis_url))
    layers = {alias: get_channel_layer(alias) for alias in registered_aliases()}
    kinds = {alias: type(layer).__name__ for alias, layer in layers.items()}
    assert kinds == {
        "chat": "RedisPubSubChannelLayer",
        "notifications": "RedisPubSubChannelLayer",
        "jobs": "RedisChannelLayer",
        "memory": "InMemoryChannelLayer",
    }
    prefixes = [getattr(layers[a], "prefix", None) for a in ("chat", "notifications", "jobs")]
    assert len(set(prefixes)) == 3, prefixes
    await close_channel_layers()
    assert registered_aliases() == []


def test_setup_is_idempotent() -> None:
    setup_channel_layers(Settings(layers="memory"))
    first = get_channel_layer("chat")
    setup_channel_layers(Settings(layers="memory"))
    assert get_channel_layer("chat") is first


def test_redis_without_url_explains_what_to_do() -> None:
    with pytest.raises(RuntimeError, match="REDIS_URL is not set") as error:
        setup_channel_layers(Settings(redis_url=None, layers="redis"))
    assert "SANDBOX_LAYERS=memory" in str(error.value)


@pytest.mark.parametrize("value", ["sentinel-1", "host:port", ":26379", "a:1,b"])
def test_bad_sentinel_list_fails_at_start_up(value: str) -> None:
    with pytest.raises(ValidationError, match="is not host:port"):
        Settings(redis_sentinels=value)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_PORT", "9123")
    monkeypatch.setenv("REDIS_SENTINELS", "s1:26379, s2:26380")
    monkeypatch.setenv("SANDBOX_ALLOWED_ORIGINS", "example.com,*.example.com")
    settings = Settings()
    assert settings.port == 9123
    assert settings.sentinels == [("s1", 26379), ("s2", 26380)]
    assert settings.allowed_origins == ["example.com", "*.example.com"]


@pytest.mark.parametrize("value", ["node-1", "node-1:port", ":7000", "a:7000,b", "a:0", "a:70000"])
def test_bad_cluster_node_list_fails_at_start_up(value: str) -> None:
    with pytest.raises(ValidationError, match=r"REDIS_CLUSTER_NODES entry .* is not host:port"):
        Settings(redis_cluster_nodes=value)


def test_cluster_nodes_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_CLUSTER_NODES", "redis-node-1:6379, redis-node-2:6380,")
    monkeypatch.setenv("REDIS_PASSWORD", "s3cret")
    settings = Settings()
    assert settings.cluster_nodes == [("redis-node-1", 6379), ("redis-node-2", 6380)]
    assert redis_location(settings) == {
        "cluster_nodes": [("redis-node-1", 6379), ("redis-node-2", 6380)],
        "connection_kwargs": {"password": "s3cret"},
    }


def test_layers_use_redis_url_unless_cluster_nodes_are_set() -> None:
    url = "redis://cache:6379/0"
    assert Settings(redis_url=url).cluster_nodes == []
    assert redis_location(Settings(redis_url=url)) == {"hosts": [url]}
    # REDIS_URL's password stays in the URL: no connection_kwargs for one server.
    assert redis_location(Settings(redis_url=url, redis_password="x")) == {"hosts": [url]}
    # The cluster wins over REDIS_URL (which then holds only the arq job queue).
    clustered = Settings(redis_url=url, redis_cluster_nodes="n1:7000")
    assert redis_location(clustered) == {"cluster_nodes": [("n1", 7000)]}


def test_cluster_layers_are_built_from_the_environment() -> None:
    from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

    layer_types = (RedisChannelLayer, RedisPubSubChannelLayer)
    assert all("cluster_nodes" in inspect.signature(t).parameters for t in layer_types)
    # Building a layer does no I/O, so no cluster needs to run for this.
    settings = Settings(redis_url="redis://queue:6379/0", redis_cluster_nodes="n1:7000,n2:7001")
    setup_channel_layers(settings)
    kinds = {alias: type(get_channel_layer(alias)).__name__ for alias in registered_aliases()}
    assert kinds == {
        "chat": "RedisPubSubChannelLayer",
        "notifications": "RedisPubSubChannelLayer",
        "jobs": "RedisChannelLayer",
        "memory": "InMemoryChannelLayer",
    }


@pytest.fixture
def sentinel(redis_url: str) -> Iterator[str]:
    """One real sentinel watching the test Redis; yields REDIS_SENTINELS for it."""
    master = urlsplit(redis_url)
    port = free_port()
    conf = "\n".join(
        [
            f"port {port}",
            "bind 127.0.0.1",
            f"sentinel monitor mymaster {master.hostname} {master.port or 6379} 1",
            "sentinel down-after-milliseconds mymaster 5000",
            "",
        ]
    )
    with RedisProcess(port, sentinel_conf=conf):
        yield f"127.0.0.1:{port}"


@needs_redis
async def test_sentinel_layer_from_environment_delivers(redis_url: str, sentinel: str) -> None:
    settings = Settings(redis_url=redis_url, redis_sentinels=sentinel)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        layer = get_channel_layer("sentinel")
        assert type(layer).__name__ == "RedisChannelLayer"
        ws = await connect(app, "/ws/showcase/sentinel")
        assert (await ws.receive_json_from())["kind"] == "RedisChannelLayer"
        await ws.send_json_to({"type": "broadcast", "text": "via sentinel"})
        delivery = await ws.receive_json_from(timeout=10)
        assert (delivery["layer"], delivery["text"]) == ("sentinel", "via sentinel")
        await ws.disconnect()
