"""Process-wide registry of channel layers by alias.

Apps register their layers once (usually in a ``setup_channel_layers()``
guarded by :func:`has_layers`) and consumers look them up by alias.
"""

from __future__ import annotations

from ..exceptions import ChannelLayerNotRegistered
from .base import BaseChannelLayer

_layers: dict[str, BaseChannelLayer] = {}


def register_channel_layer(alias: str, layer: BaseChannelLayer) -> BaseChannelLayer:
    """Register ``layer`` under ``alias`` and return it.

    Registering the same layer object again is a no-op; registering a different
    layer under a taken alias raises ``ValueError`` (unregister it first), so a
    second call to a setup function cannot silently swap a live layer.
    """
    if not isinstance(alias, str) or not alias:
        raise TypeError(f"A channel layer alias must be a non-empty str, got {alias!r}")
    if not isinstance(layer, BaseChannelLayer):
        raise TypeError(
            f"register_channel_layer({alias!r}, ...) needs a channel layer instance "
            f"(a BaseChannelLayer subclass), got {type(layer).__name__}"
        )
    current = _layers.get(alias)
    if current is not None and current is not layer:
        raise ValueError(
            f"Channel layer {alias!r} is already registered ({type(current).__name__}). "
            "Guard your setup with has_layers(), or call unregister_channel_layer() first."
        )
    _layers[alias] = layer
    return layer


def get_channel_layer(alias: str = "default") -> BaseChannelLayer:
    """Return the layer registered under ``alias``.

    Raises :class:`~fast_channels.exceptions.ChannelLayerNotRegistered` (a
    ``LookupError``) naming the alias and listing the registered ones.
    """
    try:
        return _layers[alias]
    except KeyError:
        raise ChannelLayerNotRegistered(alias, sorted(_layers)) from None


def unregister_channel_layer(alias: str) -> BaseChannelLayer | None:
    """Remove ``alias`` from the registry and return the layer it held, if any.

    The layer is not closed: close it yourself (``await layer.close()``) when
    nothing uses it any more.
    """
    return _layers.pop(alias, None)


def has_layers() -> bool:
    """True when at least one channel layer is registered."""
    return bool(_layers)


def registered_aliases() -> list[str]:
    """The registered aliases, sorted."""
    return sorted(_layers)
