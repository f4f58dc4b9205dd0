"""Encrypt messages before they reach Redis, and rotate the key without downtime.

Generate a key once and keep it with your other secrets::

    python -c "import secrets; print(secrets.token_urlsafe(32))"

``CHANNEL_LAYER_KEYS`` holds one key, or several separated by commas: the first
encrypts, all of them decrypt.
"""

import os

from fast_channels.layers.redis import RedisChannelLayer


def encrypted_layer() -> RedisChannelLayer:
    keys = [key.strip() for key in os.environ["CHANNEL_LAYER_KEYS"].split(",")]
    return RedisChannelLayer(
        hosts=[os.environ.get("REDIS_URL", "redis://localhost:6379")],
        prefix="vault",
        symmetric_encryption_keys=keys,
    )
