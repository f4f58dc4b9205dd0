"""The core library works without the Redis extra, and says how to get it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# Runs in a child interpreter where importing the extra's packages fails,
# as on a machine with a plain `pip install fast-channels`.
_WITHOUT_EXTRA = textwrap.dedent(
    """
    import sys

    class Missing:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {BLOCKED!r}:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Missing())

    import fast_channels
    from fast_channels.consumer.websocket import AsyncWebsocketConsumer
    from fast_channels.layers import InMemoryChannelLayer, register_channel_layer
    from fast_channels.middleware import OriginValidator
    from fast_channels.testing import WebsocketCommunicator

    register_channel_layer("default", InMemoryChannelLayer())
    try:
        import fast_channels.layers.redis
    except ImportError as exc:
        print(exc)
    else:
        print("imported")
    """
)


@pytest.mark.parametrize("blocked", [{"redis"}, {"msgpack"}])
def test_core_imports_without_the_redis_extra(blocked: set[str]) -> None:
    code = _WITHOUT_EXTRA.replace("{BLOCKED!r}", repr(blocked))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    message = result.stdout.strip()
    assert 'pip install "fast-channels[redis]"' in message
    assert repr(next(iter(blocked))) in message
