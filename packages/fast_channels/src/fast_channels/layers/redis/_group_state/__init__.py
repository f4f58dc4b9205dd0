"""Presence and history on Redis, shared by the queue and pub/sub layers (private).

- :mod:`.scripts`: the key layout (one function) and the Lua in ``lua/``;
- :mod:`.presence`: a hash per group, re-asserted on the group heartbeat;
- :mod:`.history`: a capped stream per resumable group, and the position stamp;
- :mod:`.methods`: the ``presence_*``/``group_history`` methods as one mixin.
"""

# This package builds on the queue layer's Script and heartbeat, and that layer
# imports this package back: importing the queue package first, here, makes the
# order the same whichever layer is imported first.
from .. import queue as _queue  # noqa: F401
