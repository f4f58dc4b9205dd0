"""The Redis queue layer: messages stored in lists until received or expired.

:mod:`.layer` is the public class; :mod:`.scripts` the key layout and the Lua
(in ``lua/``); :mod:`.readers` the background readers that drain a process's
inbox and named channels into :mod:`.mailbox` buffers; :mod:`.membership` the
group heartbeat; :mod:`.loop_state` what each event loop holds; :mod:`.guard`
the per-call deadline of calls over the pool.
"""

from .layer import RedisChannelLayer

__all__ = ["RedisChannelLayer"]
