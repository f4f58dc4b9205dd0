"""`pip install ./packages/fast_channels` gets a typed package whose core needs nothing."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.sandbox_env import ROOT

UV = shutil.which("uv")


@pytest.mark.skipif(UV is None, reason="building the wheel uses uv (./scripts/test installs it)")
def test_wheel_is_typed_and_keeps_redis_optional(tmp_path: Path) -> None:
    subprocess.run(
        [str(UV), "build", "-q", "--wheel", str(ROOT / "packages/fast_channels"), "-o", tmp_path],
        check=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("fast_channels-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        requires = [
            line.split(":", 1)[1].strip()
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
    assert "fast_channels/py.typed" in names
    assert "fast_channels/layers/redis/queue/layer.py" in names
    assert "fast_channels/layers/redis/queue/lua/group_send.lua" in names  # scripts ship
    # Every requirement belongs to an extra: the core install pulls in nothing.
    assert requires and all("extra ==" in req for req in requires), requires
    assert any(req.startswith("redis") and "extra == 'redis'" in req for req in requires)
