"""The Redis plumbing both layers share (private: import the layers, not this).

- :mod:`.hosts` and :mod:`.options`: what the user configured, in one shape;
- :mod:`.connections`: per event loop, per shard, a pooled client and a pipe,
  and the seam that says which shard a key lives on;
- :mod:`.dedicated`: connections outside the pool (pipes, subscribers, readers);
- :mod:`.pipe`: the pipelined connection every short call goes through;
- :mod:`.subscriber`: the shared pub/sub connection of a shard (and :mod:`.callbacks`,
  how it calls user callbacks);
- :mod:`.errors`: what counts as a broken connection, and the error callers see;
- :mod:`.tasks`: the clock and cancellation helpers of background tasks.
"""

from .connections import RedisConnections, shard_index
from .errors import CONNECTION_ERRORS, RETRYABLE, unreachable
from .hosts import HostConfig, parse_hosts
from .pipe import ShardPipe, pack, pack_publish
from .subscriber import ShardSubscriber

__all__ = [
    "CONNECTION_ERRORS",
    "RETRYABLE",
    "HostConfig",
    "RedisConnections",
    "ShardPipe",
    "ShardSubscriber",
    "pack",
    "pack_publish",
    "parse_hosts",
    "shard_index",
    "unreachable",
]
