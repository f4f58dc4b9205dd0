"""``python -m sandbox.showcase_send "text"``: send through every layer from outside.

Redis layers are reached directly: this script registers the same layers as the
web app (``sandbox/layers.py``, from ``REDIS_URL``) and group-sends to the
"showcase" group on each. An in-memory layer lives inside the web process and
cannot be reached from here, so for those the script asks the web app to send
for it: ``POST /api/showcase/<alias>``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.error
import urllib.request

from .features.showcase.deliver import check_text, send_through
from .layers import close_channel_layers, describe_layers, setup_channel_layers
from .settings import Settings, get_settings


def post_to_web_app(base_url: str, alias: str, text: str) -> None:
    """Ask the web app to send through one of its process-local layers."""
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/api/showcase/{alias}",
        data=json.dumps({"text": text}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5):
        pass


async def send_everywhere(settings: Settings, text: str, base_url: str, only: list[str]) -> int:
    """Send through each layer; print one line per layer; return the failure count."""
    setup_channel_layers(settings)
    failures = 0
    try:
        for info in describe_layers():
            if only and info.alias not in only:
                continue
            try:
                if info.cross_process:
                    await send_through(info.alias, text, source="cli")
                    how = "sent directly through Redis"
                else:
                    await asyncio.to_thread(post_to_web_app, base_url, info.alias, text)
                    url = f"{base_url}/api/showcase/{info.alias}"
                    how = f"process-local: sent by the web app via POST {url}"
            except (OSError, urllib.error.URLError, RuntimeError) as exc:
                failures += 1
                print(f"{info.alias:<14} {info.kind:<24} FAILED: {exc}")
                continue
            print(f"{info.alias:<14} {info.kind:<24} {how}")
    finally:
        await close_channel_layers()
    return failures


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.showcase_send",
        description="Send a showcase message through every sandbox channel layer.",
    )
    parser.add_argument("text", help="what to send")
    parser.add_argument(
        "--url",
        default=settings.base_url,
        help="web app URL, for process-local layers (%(default)s)",
    )
    parser.add_argument("--layer", action="append", default=[], help="only this alias (repeatable)")
    args = parser.parse_args(argv)
    try:
        text = check_text(args.text)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        failures = asyncio.run(send_everywhere(settings, text, args.url, args.layer))
    except RuntimeError as exc:
        print(f"showcase_send: {exc}", file=sys.stderr)
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
