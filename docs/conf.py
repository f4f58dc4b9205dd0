"""Sphinx configuration for the fast-channels documentation.

Build: ``uv run sphinx-build -W --keep-going -b html docs docs/_build/html``.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
# Sphinx imports local extensions by module name; this is the documented way to find them.
sys.path.insert(0, str(DOCS / "_ext"))

import fast_channels  # noqa: E402

project = "fast-channels"
author = "the fast-channels authors"
copyright = "2026, the fast-channels authors"
release = fast_channels.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "fc_docs",
]

# Autodoc warns (and -W fails the build) when a documented object does not import.
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

html_theme = "furo"
html_title = "fast-channels"
html_static_path = ["_static"]
html_css_files = ["custom.css"]

pygments_style = "friendly"
pygments_dark_style = "monokai"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"show-inheritance": True}
autoclass_content = "both"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
