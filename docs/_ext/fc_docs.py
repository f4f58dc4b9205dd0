"""Small Sphinx helpers for the fast-channels docs.

- ``.. screenshot:: echo.png`` shows ``_static/screenshots/echo.png`` as a figure when
  the browser tests have produced it, and a short note saying how to produce it when
  they have not, so a fresh clone builds warning-free before any browser ran.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst.directives.images import Figure
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

SCREENSHOT_DIR = Path("_static") / "screenshots"
SCREENSHOT_HINT = "run the browser tests (``./scripts/test tests/e2e``) and rebuild the docs"


class Screenshot(Figure):
    """A figure from ``_static/screenshots/`` that degrades to a note when missing."""

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        env = self.state.document.settings.env
        path = Path(env.srcdir) / SCREENSHOT_DIR / name
        env.note_dependency(str(path))  # re-read this page once the picture exists
        if not path.is_file():
            logger.info("screenshot %s not found: %s", name, SCREENSHOT_HINT)
            text = f"The screenshot ``{name}`` is produced by the browser tests: {SCREENSHOT_HINT}."
            inline, messages = self.state.inline_text(text, self.lineno)
            return [nodes.note("", nodes.paragraph("", "", *inline)), *messages]
        self.arguments[0] = "/" + (SCREENSHOT_DIR / name).as_posix()
        self.options["figclass"] = [*self.options.get("figclass", []), "fc-screenshot"]
        return super().run()


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("screenshot", Screenshot)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
