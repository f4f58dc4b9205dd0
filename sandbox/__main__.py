"""``python -m sandbox``: Redis (when ``REDIS_URL`` is unset), the web app and the worker.

::

    uv run python -m sandbox              # http://127.0.0.1:8080
    uv run python -m sandbox --port 9000  # or SANDBOX_PORT=9000
    uv run python -m sandbox --web-processes 2   # web apps on 8080 and 8081

With ``--web-processes N`` the web app runs as N uvicorn processes on N
consecutive ports, all sharing chat, notifications, jobs and the showcase
through Redis (the showcase says which process served each socket) and one
sign-in secret (``SANDBOX_SESSION_SECRET``, random per run when unset).
Ctrl-C stops everything. Problems you can fix (a busy port, no Redis binary)
print one line and exit with status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import sys

from .redis_process import RedisBinaryNotFound, RedisProcess
from .settings import get_settings
from .supervisor import StartupError, Supervisor, check_port_free, wait_for_http


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Run the fast-channels sandbox: Redis, web app, worker.",
    )
    parser.add_argument("--host", default=settings.host, help="listen address (%(default)s)")
    parser.add_argument("--port", type=int, default=settings.port, help="web port (%(default)s)")
    parser.add_argument(
        "--web-processes",
        type=int,
        default=1,
        metavar="N",
        help="run N web processes on ports PORT, PORT+1, ... (default 1)",
    )
    args = parser.parse_args(argv)
    if args.web_processes < 1:
        parser.error("--web-processes must be at least 1")
    return args


def run(host: str, port: int, web_processes: int = 1) -> int:
    ports = [port + i for i in range(web_processes)]
    for each in ports:
        check_port_free(host, each)
    with contextlib.ExitStack() as stack:
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            try:
                server = stack.enter_context(RedisProcess())
            except RedisBinaryNotFound as exc:
                raise StartupError(str(exc)) from None
            except (TimeoutError, OSError) as exc:
                raise StartupError(
                    f"could not start a private redis-server ({exc}); set REDIS_URL to a "
                    "running Redis, or install one (apt-get install redis-server)"
                ) from None
            redis_url = server.url
            print(f"sandbox: started redis-server ({server.binary}) at {redis_url}", flush=True)

        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "SANDBOX_LAYERS": "redis",
            "SANDBOX_HOST": host,
            "SANDBOX_PORT": str(port),
            # Every web process must check the sign-in cookie with the same secret:
            # browsers send a cookie to every port of a host, so a user signed in on
            # one process would otherwise be refused by the next.
            "SANDBOX_SESSION_SECRET": os.environ.get("SANDBOX_SESSION_SECRET")
            or secrets.token_urlsafe(32),
        }
        supervisor = Supervisor(env)
        supervisor.install_signal_handlers()
        stack.callback(supervisor.stop_all)
        for number, each in enumerate(ports, start=1):
            name = "web app" if web_processes == 1 else f"web app {number}"
            supervisor.spawn(name, ["-m", "sandbox.web"], {"SANDBOX_PORT": str(each)})
        supervisor.spawn("worker", ["-m", "worker"])
        for each in ports:
            wait_for_http(host, each, supervisor.children)

        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        urls = "  ".join(f"http://{shown}:{each}" for each in ports)
        print(f"sandbox: running at {urls}  (Ctrl-C stops everything)", flush=True)
        print(
            f"sandbox: from another terminal: REDIS_URL={redis_url} "
            'uv run python -m sandbox.notify "hello"',
            flush=True,
        )
        died = supervisor.watch()
        if died is not None:
            print(f"sandbox: the {died} stopped unexpectedly; stopping the rest", file=sys.stderr)
            return 1
        print("sandbox: stopping…", flush=True)
    print("sandbox: stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args.host, args.port, args.web_processes)
    except StartupError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C during start-up, before our handler was installed
        return 130


if __name__ == "__main__":
    sys.exit(main())
