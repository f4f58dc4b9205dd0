"""How background tasks (readers, subscribers) sort what goes wrong, and back off.

Every error a reader catches falls in one of four kinds:

- ``CONNECTION``: the socket is gone or silent (refused, reset, timed out);
- ``FAILOVER``: the server is alive but not (yet) a master we can use:
  ``UNBLOCKED`` (a master demoted while we were blocked on it), ``READONLY``,
  ``MASTERDOWN``, ``LOADING``, ``CLUSTERDOWN``, or a cluster node's ``MOVED``/``ASK``
  (another node serves the slot). Drop the connection so the next one asks
  Sentinel (or DNS, or the cluster's slot table) again, and retry soon;
- ``PERMANENT``: retrying cannot help until someone changes the setup
  (``NOPERM``, ``WRONGTYPE``, ``NOAUTH``, ``WRONGPASS``; a TLS server whose
  certificate the configured CA does not verify, or a client certificate and
  key that do not load): say so once, fail whoever waits on that key with a
  clear error, keep serving everything else;
- ``TRANSIENT``: anything else (``OOM``, ``BUSY``, ``MISCONF``, a bug): retry
  with a capped back-off.

Error replies are recognised by class and by their code, wherever they sit in
the exception's cause chain, so a library exception that wraps a redis-py
``ResponseError`` is classified the same as the raw one.
"""

from __future__ import annotations

import enum
import logging
import ssl
from typing import TYPE_CHECKING

from redis.backoff import EqualJitterBackoff
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    NoPermissionError,
    ResponseError,
)

from ....exceptions import ChannelLayerConnectionError
from .errors import FAILOVER_CODES, PERMANENT_CODES, REDIRECT_CODES, RETRYABLE, reply_code

if TYPE_CHECKING:
    from ....metrics.layer import LinkMetrics


class Fault(enum.Enum):
    CONNECTION = "connection"
    FAILOVER = "failover"
    PERMANENT = "permanent"
    TRANSIENT = "transient"


#: Seconds between retries of a reader: 50 ms doubling, jittered, capped at 1 s.
BACKOFF = EqualJitterBackoff(cap=1.0, base=0.05)


def _reply(exc: BaseException) -> ResponseError | BusyLoadingError | None:
    """The error reply behind ``exc`` (redis-py raises LOADING as a ConnectionError)."""
    seen: BaseException | None = exc
    for _ in range(5):  # a short chain; never loop on a cyclic one
        if seen is None:
            return None
        if isinstance(seen, ResponseError | BusyLoadingError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


#: OpenSSL libraries whose errors come from loading the client's own certificate
#: files (``ssl_certfile``/``ssl_keyfile`` that do not match or do not parse).
_TLS_SETUP_LIBRARIES = frozenset({"X509", "PEM"})


def _tls_misconfigured(exc: BaseException) -> bool:
    """Whether a TLS certificate problem of the setup (not of the network) is behind ``exc``.

    redis-py raises its ``ConnectionError`` inside the ``except`` for the
    ``ssl`` error, so that error is the ``__context__``. A client certificate
    the server refuses is not recognisable: the server just closes the
    connection, which looks like any other dropped connection.
    """
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        # ``library`` is set by OpenSSL's errors only, not on every SSLError.
        if (
            isinstance(seen, ssl.SSLError)
            and getattr(seen, "library", None) in _TLS_SETUP_LIBRARIES
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def error_reply(exc: BaseException) -> ResponseError | BusyLoadingError | None:
    """The Redis error reply behind ``exc`` (anywhere in its cause chain), if any."""
    return _reply(exc)


def classify(exc: BaseException) -> Fault:
    """The kind of ``exc`` (see the module docs)."""
    reply = _reply(exc)
    if reply is None:
        if _tls_misconfigured(exc):
            return Fault.PERMANENT
        if isinstance(exc, (*RETRYABLE, TimeoutError, ChannelLayerConnectionError)):
            return Fault.CONNECTION
        return Fault.TRANSIENT
    if isinstance(reply, NoPermissionError | AuthenticationError):
        return Fault.PERMANENT
    code = reply_code(reply)  # also finds the code inside a Lua script's error
    if code in FAILOVER_CODES or code in REDIRECT_CODES:
        return Fault.FAILOVER
    if code in PERMANENT_CODES:
        return Fault.PERMANENT
    return Fault.TRANSIENT


def is_failover(exc: BaseException) -> bool:
    """Whether ``exc`` says the server is not (yet) the master we should talk to."""
    return classify(exc) is Fault.FAILOVER


def is_unknown_command(exc: BaseException) -> bool:
    """An ``ERR unknown command`` reply: the server is too old for the command."""
    reply = _reply(exc)
    return reply is not None and "unknown command" in str(reply).lower()


class Trouble:
    """A reader's run of failures: the back-off, and one log line per kind of trouble.

    A reader may fail every 50 ms to 1 s for as long as Redis is unwell;
    logging each failure would flood the log, logging none would hide it. With
    ``link``, connection losses and returns are counted there (see
    :mod:`fast_channels.metrics`).
    """

    def __init__(self, logger: logging.Logger, what: str, link: LinkMetrics | None = None) -> None:
        self._logger = logger
        self._what = what
        self._link = link
        self.failures = 0
        self._logged: set[Fault] = set()

    def failed(self, exc: BaseException, where: str) -> tuple[Fault, float]:
        """Record ``exc``; return its kind and the seconds to wait before retrying."""
        fault = classify(exc)
        self.failures += 1
        if self._link is not None and fault in (Fault.CONNECTION, Fault.FAILOVER):
            self._link.down()
        if fault not in self._logged:
            self._logged.add(fault)
            if fault is Fault.TRANSIENT and _reply(exc) is None:  # not an error reply: a bug
                self._logger.exception("Unexpected error in %s (%s); retrying", self._what, where)
            else:
                self._logger.warning(
                    "%s: Redis at %s: %s (%s); retrying", self._what, where, exc, fault.value
                )
        return fault, BACKOFF.compute(self.failures)

    def recovered(self) -> bool:
        """Reset after a success; True if there was trouble (logged as resolved)."""
        if not self.failures:
            return False
        if self._link is not None:
            self._link.up()
        if self._logged:
            self._logger.warning("%s: Redis answers again", self._what)
        self.failures = 0
        self._logged.clear()
        return True
