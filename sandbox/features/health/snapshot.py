"""One JSON-ready snapshot of every layer and consumer class, for the Health page."""

from __future__ import annotations

import time
from typing import Any

from fast_channels.metrics import consumer_stats, layer_stats


def health_snapshot() -> dict[str, Any]:
    """Counters as they are now; the page turns differences into rates."""
    layers = []
    for alias, stats in layer_stats().items():
        layers.append(
            {
                "alias": alias,
                "type": stats.layer_type,
                "sent": stats.messages_sent,
                "received": stats.messages_received,
                "group_sends": stats.group_sends,
                "deliveries": stats.group_deliveries,
                "drops": dict(stats.drops),
                "buffers": stats.buffers,
                "memberships": stats.memberships,
                "subscriptions": stats.subscriptions,
                "heals": stats.heals,
                "healed": stats.healed,
                "links": [
                    {
                        "address": link.address,
                        "connected": link.connected,
                        "disconnects": link.disconnects,
                        "reconnects": link.reconnects,
                        "disconnected_seconds": round(link.disconnected_seconds, 3),
                    }
                    for link in stats.links
                ],
            }
        )
    consumers = {
        name.rsplit(".", 1)[-1]: {
            "open": stats.open_connections,
            "accepted": stats.accepted,
            "denied": stats.denied,
            "errors": stats.handler_errors,
        }
        for name, stats in consumer_stats().items()
    }
    return {"type": "health", "time": time.time(), "layers": layers, "consumers": consumers}
