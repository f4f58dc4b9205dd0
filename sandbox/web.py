"""``python -m sandbox.web``: serve the web app with uvicorn on SANDBOX_HOST:SANDBOX_PORT.

The one command for the web process, used by ``python -m sandbox``, the
Dockerfile and the compose file alike.
"""

from __future__ import annotations

import uvicorn

from .app import create_app
from .settings import get_settings


def main() -> None:
    settings = get_settings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
