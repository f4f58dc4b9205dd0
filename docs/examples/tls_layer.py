"""Both Redis layers over TLS, with the server's CA and (optionally) a client certificate.

Configured from the environment, for example::

    REDIS_URL=rediss://redis.internal:6380
    REDIS_CA_CERT=/etc/ssl/redis/ca.pem
    REDIS_CLIENT_CERT=/etc/ssl/redis/client.pem   # optional: only for mutual TLS
    REDIS_CLIENT_KEY=/etc/ssl/redis/client-key.pem
"""

import os
from typing import Any

from fast_channels.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer


def tls_options() -> dict[str, Any]:
    """``connection_kwargs`` for a TLS server: verify it, and show ours if asked to."""
    options: dict[str, Any] = {
        "ssl_ca_certs": os.environ["REDIS_CA_CERT"],
        "ssl_cert_reqs": "required",  # the default; never "none" outside a test
    }
    if os.environ.get("REDIS_CLIENT_CERT"):
        options["ssl_certfile"] = os.environ["REDIS_CLIENT_CERT"]
        options["ssl_keyfile"] = os.environ["REDIS_CLIENT_KEY"]
    return options


def queue_layer() -> RedisChannelLayer:
    return RedisChannelLayer(hosts=[os.environ["REDIS_URL"]], connection_kwargs=tls_options())


def pubsub_layer() -> RedisPubSubChannelLayer:
    return RedisPubSubChannelLayer(hosts=[os.environ["REDIS_URL"]], connection_kwargs=tls_options())
