"""Send a showcase message through one layer (page, HTTP endpoint, external script)."""

from __future__ import annotations

import time
from typing import Any

from fast_channels.layers import get_channel_layer

from ...guards import require_text

#: Every showcase consumer joins this group on its own layer.
GROUP = "showcase"
MAX_TEXT_CHARS = 500


def check_text(text: str) -> str:
    """The text to send, stripped; ``ValueError`` when empty or too long."""
    return require_text(text, "showcase message", MAX_TEXT_CHARS)


async def send_through(alias: str, text: str, source: str) -> dict[str, Any]:
    """Group-send ``text`` on the layer registered as ``alias``; return the event.

    Raises ``ChannelLayerNotRegistered`` for an unknown alias and ``ValueError``
    for bad text.
    """
    layer = get_channel_layer(alias)
    event = {
        "type": "showcase.delivery",
        "text": check_text(text),
        "source": source,
        "sent_at": time.time(),
    }
    await layer.group_send(GROUP, event)
    return event
