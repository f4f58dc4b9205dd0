"""Checks over the docs' sources: no untested code, no dead example, a full reference."""

from __future__ import annotations

import importlib
import inspect
import re
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import DOCS, EXAMPLES

TESTS = Path(__file__).resolve().parent
PAGES = sorted(p for p in DOCS.rglob("*.rst") if "_build" not in p.parts)

_PY_DIRECTIVE = re.compile(
    r"^[ \t]*\.\. (?:code-block|code|sourcecode)::[ \t]*(?:python3?|py|pycon)?[ \t]*$"
)
_LITERAL_MARKER = re.compile(r"::[ \t]*$")


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line, code)`` of every Python block written inline in an .rst page.

    That is ``.. code-block:: python`` (and friends, also without a language, which
    Sphinx highlights as Python) and ``::`` literal blocks. Directive options are
    skipped; the block ends where the indentation does.
    """
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = _PY_DIRECTIVE.match(line)
        literal = (
            not directive and _LITERAL_MARKER.search(line) and not line.lstrip().startswith("..")
        )
        if not (directive or literal):
            i += 1
            continue
        base = len(line) - len(line.lstrip())
        start = i + 1
        j = start
        body: list[str] = []
        while j < len(lines):
            current = lines[j]
            if current.strip() and len(current) - len(current.lstrip()) <= base:
                break
            body.append(current)
            j += 1
        if directive:  # drop ":caption: ..." style options at the top
            while body and re.match(r"^\s+:[\w-]+:", body[0]):
                body.pop(0)
        code = textwrap.dedent("\n".join(body)).strip("\n")
        if code:
            blocks.append((start + 1, code))
        i = j
    return blocks


def test_the_block_finder_finds_inline_python() -> None:
    page = "Text::\n\n    x = 1\n\nMore.\n\n.. code-block:: python\n    :caption: c\n\n    y = 2\n"
    assert [code for _, code in python_blocks(page)] == ["x = 1", "y = 2"]
    assert python_blocks(".. code-block:: bash\n\n    pip install x\n") == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_inline_python_blocks_run(page: Path) -> None:
    """Code written inline in a page (not included from docs/examples) must run as is."""
    for line, code in python_blocks(page.read_text(encoding="utf-8")):
        try:
            exec(compile(code, f"{page.name}:{line}", "exec"), {"__name__": "docs_block"})
        except Exception as exc:
            pytest.fail(f"{page.relative_to(DOCS)} line {line}: {type(exc).__name__}: {exc}")


def literalincluded() -> set[Path]:
    found = set()
    for page in PAGES:
        for target in re.findall(r"^\s*\.\. literalinclude::\s+(\S+)", page.read_text(), re.M):
            found.add((page.parent / target).resolve())
    return found


EXAMPLE_FILES = sorted(p for p in EXAMPLES.rglob("*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_example_is_shown_and_tested(path: Path) -> None:
    assert path in literalincluded(), f"no page includes {path.relative_to(DOCS)}"
    module = ".".join(path.relative_to(EXAMPLES).with_suffix("").parts)
    tests = "".join(t.read_text() for t in TESTS.glob("test_*.py"))
    package = "docs.examples." + module.rpartition(".")[0] if "." in module else None
    assert (
        f'"{module}"' in tests
        or f"docs/examples/{path.relative_to(EXAMPLES)}" in tests
        or (package is not None and package in tests)  # e.g. uvicorn runs the package's app
    ), f"no test in tests/docs runs docs/examples/{path.relative_to(EXAMPLES)}"


def _resolve(target: str) -> object:
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(target)


def rendered_docstrings() -> list[tuple[str, str, ModuleType]]:
    """``(name, docstring, module)`` of everything the reference pages render."""
    found: list[tuple[str, str, ModuleType]] = []
    for page in sorted((DOCS / "reference").glob("*.rst")):
        text = page.read_text()
        for target, options in re.findall(
            r"^\.\.\s+auto\w+::\s+(\S+)\n((?:[ \t]+:[^\n]*\n)*)", text, re.M
        ):
            obj = _resolve(target)
            objects = [(target, obj)]
            if ":members:" in options:
                if inspect.isclass(obj):
                    objects += [(f"{target}.{n}", m) for n, m in vars(obj).items()]
                elif inspect.ismodule(obj):
                    objects += [
                        (f"{target}.{n}", m)
                        for n, m in vars(obj).items()
                        if getattr(m, "__module__", None) == obj.__name__
                    ]
            for name, member in objects:
                doc = getattr(member, "__doc__", None)
                module = member if inspect.ismodule(member) else inspect.getmodule(member)
                if isinstance(doc, str) and module is not None:
                    found.append((name, inspect.cleandoc(doc), module))
    return found


def test_code_in_rendered_docstrings_runs() -> None:
    """Docstring examples the reference shows run too: each object's blocks, in order.

    Like doctest, an example runs in (a copy of) the namespace of its module.
    """
    ran = 0
    for name, doc, module in rendered_docstrings():
        blocks = python_blocks(doc)
        namespace: dict[str, object] = {**vars(module), "__name__": "docstring_example"}
        for line, code in blocks:
            try:
                exec(compile(code, f"{name}:{line}", "exec"), namespace)
            except Exception as exc:
                pytest.fail(f"docstring of {name}, line {line}: {type(exc).__name__}: {exc}")
            ran += 1
    assert ran > 0  # the reference does show docstring examples; make sure we saw them
