"""Resumable groups for the sandbox's pages: replay what a page missed, or say it can't.

A page keeps the position (``"<epoch>:<offset>"``) of the last message it showed
and, when its socket reconnects, sends it back as ``?after=<position>``. The
consumer then calls :func:`resume` from ``connect``, which tells the page, in
this order:

- fresh join (no ``after``): the group's kept messages, each marked
  ``"replay": true``, then ``{"type": "resumed", "mode": "recent", "count": n}``;
- recovered: the missed messages, in order, each once, then ``{"type":
  "resumed", "mode": "recovered", "after": ..., "count": n}``;
- cannot recover (the history was lost or the gap is too old), or a malformed
  position: first ``{"type": "reset", "reason": ..., "after": ...}`` so the page
  clears what it shows, then the kept messages and ``"mode": "reset"``. A
  malformed position also gets an ``invalid_position`` error, for that page only.

Live messages follow in every case, and none is shown twice: the library's
``group_resume`` drops the live copy of a message it replayed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fast_channels.exceptions import HistoryUnrecoverable, InvalidPosition
from fast_channels.layers.history import POSITION_KEY

from .base import SandboxJsonConsumer

#: Longest ``?after=`` we look at; a real position is at most 51 characters.
MAX_AFTER_CHARS = 64


def after_param(scope: dict[str, Any]) -> str | None:
    """The ``after`` query parameter of a WebSocket handshake (``None`` when absent)."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("after")
    return values[0][: MAX_AFTER_CHARS + 1] if values else None


class ResumingConsumer(SandboxJsonConsumer):
    """A sandbox consumer whose frames carry positions, with :meth:`resume`.

    ``replaying`` is true while the messages of a resume are dispatched, so a
    handler can mark them (``"replay": true``) for the page.
    """

    replaying: bool = False

    def page_frame(self, message: dict[str, Any], /, **fields: Any) -> dict[str, Any]:
        """``fields`` for the page plus ``message``'s ``position`` (and ``replay``)."""
        frame = {k: v for k, v in fields.items() if k != POSITION_KEY}
        frame["position"] = self.position_id(message)
        if self.replaying:
            frame["replay"] = True
        return frame

    async def resume(self, group: str, after: str | None) -> int:
        """Join resumable ``group`` and bring the page up to date; see the module doc."""
        mode = "recent" if after is None else "recovered"
        self.replaying = True
        try:
            try:
                count = await self.group_resume(group, after, recent=after is None)
            except InvalidPosition as exc:
                await self.send_error("invalid_position", str(exc))
                mode, count = "reset", await self._reset(group, "invalid", after)
            except HistoryUnrecoverable as exc:
                mode, count = "reset", await self._reset(group, exc.reason, after)
        finally:
            self.replaying = False
        await self.send_json({"type": "resumed", "mode": mode, "after": after, "count": count})
        return count

    async def _reset(self, group: str, reason: str, after: str | None) -> int:
        # The page clears what it shows, then gets the group's kept messages afresh.
        await self.send_json({"type": "reset", "reason": reason, "after": after})
        return await self.group_resume(group, None, recent=True)
