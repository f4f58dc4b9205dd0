"""Counting needs no extra; the Prometheus exposition says how to get prometheus-client."""

from __future__ import annotations

import subprocess
import sys
import textwrap

_WITHOUT_PROMETHEUS = textwrap.dedent(
    """
    import asyncio, sys

    class Missing:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "prometheus_client":
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Missing())

    from fast_channels.layers import InMemoryChannelLayer
    from fast_channels.metrics import consumer_stats, metrics_app

    layer = InMemoryChannelLayer()
    asyncio.run(layer.send("c", {"type": "m"}))
    print(layer.stats().messages_sent, consumer_stats())
    try:
        metrics_app()
    except ImportError as exc:
        print(exc)
    """
)


def test_counting_works_without_prometheus_client_and_the_app_names_the_extra() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_PROMETHEUS],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    counted, message = result.stdout.strip().splitlines()
    assert counted == "1 {}"
    assert 'pip install "fast-channels[prometheus]"' in message


def test_the_hot_path_never_imports_prometheus_client() -> None:
    code = (
        "import sys, fast_channels.metrics, fast_channels.layers, fast_channels.consumer;"
        "print('prometheus_client' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"
