"""``python -m worker``: run the arq worker until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import sys


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    try:
        from .settings import WorkerSettings
    except (RuntimeError, ValueError) as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2

    from arq.worker import run_worker

    run_worker(WorkerSettings)  # type: ignore[arg-type]  # arq types settings as a Protocol
    return 0


if __name__ == "__main__":
    sys.exit(main())
