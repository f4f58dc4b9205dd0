"""Helpers for the tests that run the documentation's code samples.

Every Python sample the docs show lives in ``docs/examples/`` and is imported
from there (as the ``docs.examples`` namespace package), run as a script, or
both. Redis samples read ``REDIS_URL``, which :func:`redis_env` points at the
test session's private Redis.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"


def example(name: str) -> ModuleType:
    """Import ``docs/examples/<name>.py`` (dots for subpackages: ``quickstart.main``)."""
    return importlib.import_module(f"docs.examples.{name}")


def run_script(
    relative: str, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> str:
    """Run ``python <relative> args...`` from the repository root; return its stdout.

    Fails the test with the script's stderr when it exits non-zero.
    """
    result = subprocess.run(
        [sys.executable, relative, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"{relative} exited with {result.returncode}:\n{result.stderr}")
    return result.stdout


@pytest.fixture
def redis_env(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point ``REDIS_URL`` (read by the docs' examples) at the test session's Redis."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    return redis_url


# The Sentinel cluster (master, replica, three sentinels) the Redis layer tests use;
# re-exported so the guide's Sentinel sample runs against the same real cluster.
from tests.integration.redis.conftest import SentinelCluster, sentinel_cluster  # noqa: E402

__all__ = ["SentinelCluster", "example", "redis_env", "run_script", "sentinel_cluster"]
