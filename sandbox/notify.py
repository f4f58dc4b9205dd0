"""``python -m sandbox.notify "text"``: push a notification from another process.

It registers the same layers as the web app (from ``REDIS_URL``) and
group-sends on the "notifications" pub/sub layer; every open notifications
page shows the text. Nothing here talks to the web app itself.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from .features.notifications.push import check_text, push_notification
from .layers import close_channel_layers, setup_channel_layers
from .settings import Settings, get_settings


async def send(settings: Settings, text: str) -> str:
    """Send one notification and return its id."""
    setup_channel_layers(settings)
    try:
        event = await push_notification(text, source="cli")
    finally:
        await close_channel_layers()
    return str(event["id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.notify",
        description="Push a notification to every open sandbox notifications page.",
    )
    parser.add_argument("text", help="what the notification says")
    args = parser.parse_args(argv)
    try:
        text = check_text(args.text)
    except ValueError as exc:
        parser.error(str(exc))
    settings = get_settings()
    if settings.layers != "redis":
        print(
            "notify: needs SANDBOX_LAYERS=redis: memory layers live inside one process.",
            file=sys.stderr,
        )
        return 2
    try:
        notification_id = asyncio.run(send(settings, text))
    except (RuntimeError, OSError) as exc:
        print(f"notify: {exc}", file=sys.stderr)
        return 1
    print(f"Sent notification {notification_id} through the 'notifications' layer.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
