"""The ``screenshot`` directive: a figure when the browser tests made the PNG, a note if not."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import DOCS

# The smallest valid PNG: one transparent pixel.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def build(tmp_path: Path, with_picture: bool) -> str:
    src = tmp_path / "src"
    (src / "_static" / "screenshots").mkdir(parents=True)
    shutil.copy(DOCS / "_ext" / "fc_docs.py", src / "fc_docs.py")
    (src / "conf.py").write_text(
        "import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n"
        "extensions = ['fc_docs']\nhtml_static_path = ['_static']\n"
    )
    (src / "index.rst").write_text(
        "Page\n====\n\n.. screenshot:: echo.png\n    :alt: The echo page\n\n    A caption.\n"
    )
    if with_picture:
        (src / "_static" / "screenshots" / "echo.png").write_bytes(PIXEL)
    out = tmp_path / "out"
    # A separate process: docutils keeps global state that a second in-process build trips on.
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(src), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return (out / "index.html").read_text()


@pytest.mark.parametrize("with_picture", [True, False])
def test_screenshot_builds_without_warnings(tmp_path: Path, with_picture: bool) -> None:
    html = build(tmp_path, with_picture)
    if with_picture:
        assert 'alt="The echo page"' in html
        assert "fc-screenshot" in html
        assert "A caption." in html
    else:
        assert "<img" not in html
        assert "produced by the browser tests" in html
