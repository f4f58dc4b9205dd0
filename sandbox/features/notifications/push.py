"""Push a notification to every open page, from anywhere with the layers set up.

The page's consumer, the HTTP endpoint and ``python -m sandbox.notify`` all call
:func:`push_notification`, so the event has one shape whatever sent it.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from fast_channels.layers import get_channel_layer

from ...guards import require_text
from ...layers import NOTIFICATIONS

#: Every notifications consumer joins this group on the "notifications" layer.
GROUP = "notifications"
MAX_TEXT_CHARS = 500


def check_text(text: str) -> str:
    """The text to send, stripped; ``ValueError`` when empty or too long."""
    return require_text(text, "notification", MAX_TEXT_CHARS)


async def push_notification(text: str, source: str) -> dict[str, Any]:
    """Send ``text`` to the notifications group and return the event sent."""
    event = {
        "type": "notification.push",
        "id": uuid.uuid4().hex[:12],
        "text": check_text(text),
        "source": source,
        "sent_at": time.time(),
    }
    await get_channel_layer(NOTIFICATIONS).group_send(GROUP, event)
    return event
