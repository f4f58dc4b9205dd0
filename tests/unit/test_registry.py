"""The alias registry: register, get, unregister, has_layers, and its errors."""

from __future__ import annotations

import pytest
from fast_channels.exceptions import ChannelLayerNotRegistered
from fast_channels.layers import (
    InMemoryChannelLayer,
    get_channel_layer,
    has_layers,
    register_channel_layer,
    registered_aliases,
    unregister_channel_layer,
)


def test_register_and_get() -> None:
    assert not has_layers()
    layer = InMemoryChannelLayer()
    assert register_channel_layer("default", layer) is layer
    assert has_layers()
    assert get_channel_layer() is layer
    assert get_channel_layer("default") is layer


def test_registering_the_same_layer_twice_is_a_no_op() -> None:
    layer = InMemoryChannelLayer()
    register_channel_layer("chat", layer)
    register_channel_layer("chat", layer)
    assert registered_aliases() == ["chat"]


def test_registering_a_different_layer_under_a_taken_alias_fails() -> None:
    first = InMemoryChannelLayer()
    register_channel_layer("chat", first)
    with pytest.raises(ValueError, match="'chat' is already registered"):
        register_channel_layer("chat", InMemoryChannelLayer())
    assert get_channel_layer("chat") is first


def test_unknown_alias_names_it_and_lists_registered_ones() -> None:
    register_channel_layer("chat", InMemoryChannelLayer())
    register_channel_layer("jobs", InMemoryChannelLayer())
    with pytest.raises(ChannelLayerNotRegistered) as caught:
        get_channel_layer("xyz")
    text = str(caught.value)
    assert "Channel layer 'xyz' not registered" in text
    assert "'chat', 'jobs'" in text
    assert caught.value.alias == "xyz"
    assert caught.value.registered == ["chat", "jobs"]
    assert isinstance(caught.value, LookupError)


def test_unknown_alias_with_nothing_registered() -> None:
    with pytest.raises(ChannelLayerNotRegistered, match="Registered aliases: none"):
        get_channel_layer()


def test_unregister() -> None:
    layer = InMemoryChannelLayer()
    register_channel_layer("default", layer)
    assert unregister_channel_layer("default") is layer
    assert not has_layers()
    assert unregister_channel_layer("default") is None
    with pytest.raises(ChannelLayerNotRegistered):
        get_channel_layer()
    other = InMemoryChannelLayer()
    register_channel_layer("default", other)
    assert get_channel_layer() is other


@pytest.mark.parametrize("not_a_layer", [None, object(), "redis://localhost", InMemoryChannelLayer])
def test_registering_a_non_layer_raises_type_error(not_a_layer: object) -> None:
    with pytest.raises(TypeError, match="needs a channel layer instance"):
        register_channel_layer("default", not_a_layer)  # type: ignore[arg-type]
    assert not has_layers()


@pytest.mark.parametrize("alias", ["", None, 3])
def test_bad_alias(alias: object) -> None:
    with pytest.raises(TypeError, match="alias must be a non-empty str"):
        register_channel_layer(alias, InMemoryChannelLayer())  # type: ignore[arg-type]
