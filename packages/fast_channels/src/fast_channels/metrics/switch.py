"""The process-wide switch: count or not.

Read when a layer is built and when a consumer class serves its first
connection, so switch it before building layers (at import time of your
settings, say). Switched off, the hot path skips every increment and
``stats()`` reports zeros (``enabled=False``); reconnect and heal events are
still logged.
"""

from __future__ import annotations

import os

_enabled = os.environ.get("FAST_CHANNELS_METRICS", "1").strip().lower() not in {"0", "off", "no"}


def set_enabled(enabled: bool) -> None:
    """Count (the default) or not, for layers and consumer classes set up after this."""
    global _enabled
    _enabled = bool(enabled)


def is_enabled() -> bool:
    """Whether layers and consumers set up now will count."""
    return _enabled
