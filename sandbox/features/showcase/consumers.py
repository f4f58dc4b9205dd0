"""One showcase consumer class per layer alias.

A consumer reads one layer (``channel_layer_alias`` is a class attribute), so
the showcase page opens one WebSocket per layer: ``/ws/showcase/<alias>``.
Each consumer joins the "showcase" group on its layer and tells the page which
layer delivered each message.
"""

from __future__ import annotations

import os
import time
from typing import Any

from fast_channels.layers import get_channel_layer

from ..base import BadAction, SandboxJsonConsumer
from .deliver import GROUP, check_text, send_through


class ShowcaseConsumer(SandboxJsonConsumer):
    """Base class; :func:`consumer_for` makes one subclass per alias."""

    groups = [GROUP]  # noqa: RUF012  # the consumer API reads a plain class attribute

    @property
    def alias(self) -> str:
        return str(self.channel_layer_alias)

    @property
    def layer_kind(self) -> str:
        return type(get_channel_layer(self.alias)).__name__

    @property
    def served_by(self) -> str:
        """Which web process serves this socket: its port and pid (several may run)."""
        server = self.scope.get("server") or ("?", "?")
        return f"port {server[1]}, pid {os.getpid()}"

    async def connect(self) -> None:
        await self.accept()
        await self.send_json(
            {
                "type": "ready",
                "layer": self.alias,
                "kind": self.layer_kind,
                "served_by": self.served_by,
            }
        )

    async def action_broadcast(self, content: dict[str, Any]) -> None:
        """``{"type": "broadcast", "text": "..."}``: send through this layer."""
        raw = content.get("text")
        try:
            text = check_text(raw if isinstance(raw, str) else "")
        except ValueError as exc:
            raise BadAction(str(exc)) from None
        await send_through(self.alias, text, source="page")

    async def showcase_delivery(self, event: dict[str, Any]) -> None:
        """A message the layer delivered (type ``showcase.delivery``)."""
        await self.send_json(
            {
                "type": "delivery",
                "layer": self.alias,
                "kind": self.layer_kind,
                "text": event["text"],
                "source": event["source"],
                "sent_at": event["sent_at"],
                "received_at": time.time(),
                "served_by": self.served_by,
            }
        )


def consumer_for(alias: str) -> type[ShowcaseConsumer]:
    """A ShowcaseConsumer subclass reading the layer registered as ``alias``."""
    name = "Showcase" + "".join(part.capitalize() for part in alias.split("_")) + "Consumer"
    return type(name, (ShowcaseConsumer,), {"channel_layer_alias": alias})
