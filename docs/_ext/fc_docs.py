"""Small Sphinx helpers for the fast-channels docs.

- ``.. screenshot:: echo.png`` shows ``_static/screenshots/echo.png`` as a figure when
  the browser tests have produced it, and a short note saying how to produce it when
  they have not, so a fresh clone builds warning-free before any browser ran.
- :func:`unimportable_reference_pages` lets ``conf.py`` leave out a reference page
  whose documented objects cannot be imported yet (autodoc would warn instead).
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst.directives.images import Figure
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

SCREENSHOT_DIR = Path("_static") / "screenshots"
SCREENSHOT_HINT = "run the browser tests (``./scripts/test tests/e2e``) and rebuild the docs"

_AUTODOC = re.compile(
    r"^\.\.\s+auto(?:module|class|exception|function|data|attribute|method)::\s+(\S+)",
    re.MULTILINE,
)


def _importable(target: str) -> str | None:
    """Return ``None`` if ``target`` (``pkg.mod`` or ``pkg.mod.Name``) imports, else why not."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name) and cut > 1:
                continue  # maybe the tail is an attribute, try a shorter module path
            return f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # any import-time failure means autodoc would warn
            return f"{type(exc).__name__}: {exc}"
        if getattr(obj, "__file__", None) is None and cut == len(parts):
            return f"{module_name} is an empty namespace package"
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return f"{'.'.join(parts[:cut])} has no attribute {attr!r}"
            obj = getattr(obj, attr)
        return None
    return f"cannot import {target}"


def unimportable_reference_pages(docs: Path) -> list[str]:
    """Return ``reference/*.rst`` pages documenting something that cannot be imported."""
    skipped = []
    for page in sorted((docs / "reference").glob("*.rst")):
        for target in _AUTODOC.findall(page.read_text(encoding="utf-8")):
            reason = _importable(target)
            if reason is not None:
                rel = page.relative_to(docs).as_posix()
                print(f"fc_docs: skipping {rel}: {reason}", file=sys.stderr)
                skipped.append(rel)
                break
    return skipped


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
