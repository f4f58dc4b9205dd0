"""The Redis plumbing both layers share (private: import the layers, not this).

- :mod:`.hosts` and :mod:`.options`: what the user configured, in one shape;
- :mod:`.connections`: per shard, a pooled client and a pipe, and the seam
  that says which shard a key lives on; :mod:`.loops` keeps them per event
  loop and releases them when the loop closes;
- :mod:`.cluster`: the same surface over a Redis Cluster's nodes (found at
  runtime), with :mod:`.slots` (hash slots, the slot table, MOVED/ASK);
  :mod:`.seam` is the surface both offer the layers and picks one from the
  constructor arguments; :mod:`.scan` deletes by pattern shard by shard;
- :mod:`.dedicated`: connections outside the pool (pipes, subscribers, readers);
- :mod:`.pipe`: the pipelined connection every short call goes through
  (commands packed by :mod:`.resp`);
- :mod:`.subscriber`: the shared pub/sub connection of a shard (and :mod:`.callbacks`,
  how it calls user callbacks; :mod:`.sharded`, what differs for sharded pub/sub);
- :mod:`.errors`: what counts as a broken connection, the reply codes, and the
  errors callers see; :mod:`.faults`: how background tasks classify what they
  catch (connection, failover, permanent, transient) and back off;
- :mod:`.callbacks`: users' reconnect callbacks, run so they cannot break us;
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
