"""The layer registry: register once, look up by alias anywhere in the process.

Run it: ``python docs/examples/registry_tour.py``
"""

from fast_channels.exceptions import ChannelLayerNotRegistered
from fast_channels.layers import (
    InMemoryChannelLayer,
    get_channel_layer,
    has_layers,
    register_channel_layer,
    registered_aliases,
    unregister_channel_layer,
)


def main() -> None:
    print("any layers yet?", has_layers())

    register_channel_layer("default", InMemoryChannelLayer())
    register_channel_layer("alerts", InMemoryChannelLayer())
    print("registered:", registered_aliases())

    layer = get_channel_layer("alerts")  # the very object registered above
    print("get_channel_layer('alerts') ->", type(layer).__name__)

    try:
        get_channel_layer("alert")  # a typo in an alias fails loudly, right away
    except ChannelLayerNotRegistered as exc:
        print(exc)

    removed = unregister_channel_layer("alerts")  # returns the layer; close it yourself
    print("removed", type(removed).__name__, "- left:", registered_aliases())


if __name__ == "__main__":
    main()
