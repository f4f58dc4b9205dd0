"""``python -m sandbox.web``: serve the web app with uvicorn on SANDBOX_HOST:SANDBOX_PORT.

The one command for the web process, used by ``python -m sandbox``, the
Dockerfile and the compose file alike.
"""

from __future__ import annotations

import uvicorn

from .app import create_app
from .settings import get_settings

#: Seconds uvicorn waits for open requests on shutdown. Server-Sent Events streams
#: never finish by themselves, so without a limit one open page would hold a
#: shutdown (or a restart) forever; after it, uvicorn cancels them.
GRACEFUL_SHUTDOWN_SECONDS = 3


def main() -> None:
    settings = get_settings()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


if __name__ == "__main__":
    main()
