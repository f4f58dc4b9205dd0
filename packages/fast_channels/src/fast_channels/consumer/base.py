"""The generic consumer: one instance per connection, messages dispatched by type.

A consumer listens to two sources at once: the ASGI server (``receive()``) and,
when it has a channel layer, its own channel on that layer. Each source has one
long-lived loop task for the life of the connection, and both loops dispatch
through a single lock, so the handlers of one consumer never run concurrently
(a WebSocket consumer may allow several frames at once: see :mod:`.concurrency`).
No task is created per message: a broadcast to N sockets costs N queue wake-ups
and N handler calls, nothing more.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any, ClassVar

from ..exceptions import InvalidMessageType, StopConsumer
from ..layers.base import BaseChannelLayer
from ..layers.registry import get_channel_layer
from ..types import Message, Receive, Scope, Send
from .group_state import GroupStateMixin
from .handler_names import _api_names, get_handler_name

logger = logging.getLogger("fast_channels.consumer")

# Message types of the ASGI protocols: dispatched only when the server sends them.
_SERVER_TYPES = ("websocket.", "http.", "lifespan.")


class ConsumerApp:
    """The ASGI application returned by :meth:`AsyncConsumer.as_asgi`.

    It is an object rather than a function on purpose: Starlette's
    ``WebSocketRoute`` wraps plain functions as ``WebSocket``-session endpoints,
    but hands the raw ASGI triple to any other callable. Each call builds a fresh
    consumer instance, so state never leaks between connections.
    """

    def __init__(self, consumer_class: type[AsyncConsumer], initkwargs: dict[str, Any]) -> None:
        self.consumer_class = consumer_class
        self.initkwargs = initkwargs
        self.__name__ = consumer_class.__name__  # routers and logs show a readable name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.consumer_class(**self.initkwargs)(scope, receive, send)

    def __repr__(self) -> str:
        return f"<ConsumerApp {self.consumer_class.__qualname__}>"


class AsyncConsumer(GroupStateMixin):
    """Base consumer: dispatches each message to a method named after its ``type``.

    A message ``{"type": "chat.message", ...}`` calls ``await self.chat_message(message)``.
    Only handlers can be reached this way: a type that starts with ``_``, that
    names a method of the library's own API (``send``, ``close``, ``dispatch``,
    ``connect``...) or that names no method raises
    :class:`~fast_channels.exceptions.InvalidMessageType`.

    Messages from the channel layer never reach the ASGI events: a
    ``websocket.*``, ``http.*`` or ``lifespan.*`` message sent through a layer is
    dropped with a warning on the ``fast_channels.consumer`` logger, and so is a
    layer message with no handler; the connection keeps working. Messages from
    the server with no handler are an error (the WebSocket consumer closes with 1011).

    Set ``channel_layer_alias`` to the alias of a registered layer (``"default"``
    unless you change it). The layer is looked up when a connection starts; an
    unknown alias raises :class:`~fast_channels.exceptions.ChannelLayerNotRegistered`
    at that moment. Set it to ``None`` for a consumer that uses no channel layer:
    then ``self.channel_layer`` and ``self.channel_name`` raise ``RuntimeError``.

    With a layer, ``self.channel_name`` is a fresh process-local channel and every
    group in ``groups`` is joined before the first handler runs and left when the
    consumer stops. ``presence_groups`` are joined too, with this consumer present
    in them, and :meth:`group_resume` joins a resumable group and replays what the
    client missed (see :mod:`.group_state`).
    """

    #: Alias of the registered channel layer this consumer uses; ``None`` for none.
    channel_layer_alias: ClassVar[str | None] = "default"
    #: Groups joined when the connection starts and left when it ends.
    groups: ClassVar[list[str]] = []

    # Public names of the library's own consumer API: no message may call them (a
    # {"type": "dispatch"} would recurse, {"type": "close"} would send invalid ASGI).
    # Each library class adds its own in __init_subclass__; handlers are the
    # ``websocket_*`` / ``http_*`` methods, which only the server's messages reach.
    _not_handlers: ClassVar[frozenset[str]] = frozenset()
    # Message type -> handler name, for types this class has dispatched before.
    _handler_names: ClassVar[dict[str, str]] = {}

    scope: Scope
    base_send: Send

    def __init__(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            setattr(self, key, value)
        self._channel_layer: BaseChannelLayer | None = None
        self._channel_name: str | None = None
        self._lock = asyncio.Lock()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._handler_names = {}  # each class its own: a subclass may add or hide handlers
        if cls.__module__.startswith("fast_channels."):
            cls._not_handlers = cls._not_handlers | _api_names(cls)

    @classmethod
    def as_asgi(cls, **initkwargs: Any) -> ConsumerApp:
        """Return an ASGI app that serves each connection with a new instance.

        ``initkwargs`` become attributes of every instance; each key must name an
        existing class attribute, so a typo fails here rather than at runtime.
        """
        for key in initkwargs:
            if not hasattr(cls, key):
                raise TypeError(
                    f"{cls.__name__}.as_asgi() got {key!r}, which is not an attribute of "
                    f"{cls.__name__}. Only existing class attributes can be set this way."
                )
        return ConsumerApp(cls, initkwargs)

    # The channel layer ----------------------------------------------------------------

    @property
    def channel_layer(self) -> BaseChannelLayer:
        """The layer registered under ``channel_layer_alias``."""
        if self._channel_layer is None:
            raise RuntimeError(self._no_layer_reason("channel_layer"))
        return self._channel_layer

    @property
    def channel_name(self) -> str:
        """This consumer's own channel on the layer (``prefix!suffix``)."""
        if self._channel_name is None:
            raise RuntimeError(self._no_layer_reason("channel_name"))
        return self._channel_name

    @property
    def has_channel_layer(self) -> bool:
        """True once the consumer is attached to a channel layer."""
        return self._channel_layer is not None

    def _no_layer_reason(self, attribute: str) -> str:
        name = type(self).__name__
        if self.channel_layer_alias is None:
            return f"{name}.{attribute} is not available: channel_layer_alias is None."
        return f"{name}.{attribute} is only available once the connection has started."

    # Lifecycle ------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self.base_send = send
        try:
            await self._attach_layer()
            await self._run(receive)
        except StopConsumer:
            pass
        except Exception as exc:
            await self.handle_exception(exc)
        finally:
            await self._detach_layer()

    async def handle_exception(self, exc: Exception) -> None:
        """Called with any exception a handler (or the layer set-up) raised.

        The consumer stops afterwards. The base class re-raises so the ASGI
        server sees it; the WebSocket consumer logs it and closes with 1011.
        """
        raise exc

    async def _attach_layer(self) -> None:
        alias = self.channel_layer_alias
        if alias is None:
            return
        layer = get_channel_layer(alias)
        self._channel_layer = layer
        self._channel_name = await layer.new_channel()
        if self.groups:
            if "groups" not in layer.extensions:
                raise TypeError(
                    f"{type(self).__name__}.groups is set but the {type(layer).__name__} "
                    f"registered as {alias!r} does not support groups."
                )
            for group in self.groups:
                await layer.group_add(group, self._channel_name)
        await self._join_presence(layer, self._channel_name)  # presence: see .group_state

    async def _detach_layer(self) -> None:
        layer, channel = self._channel_layer, self._channel_name
        if layer is None or channel is None:
            return
        await self._leave_group_state(layer, channel)  # presence and resumed groups
        for group in self.groups:
            try:
                await layer.group_discard(group, channel)
            except Exception:  # a failing layer must not hide the original error
                logger.exception("Could not leave group %r for %s", group, channel)
        try:  # free the channel now, not after a layer's idle timeout (or never)
            await layer.release_channel(channel)
        except Exception:
            logger.exception("Could not release channel %s", channel)

    async def _run(self, receive: Receive) -> None:
        layer = self._channel_layer
        if layer is None:
            await self._asgi_loop(receive)
            return
        # The ASGI loop runs in this task and only the layer loop gets one of its own:
        # each task is memory that every one of 10,000 idle sockets pays for.
        me = asyncio.current_task()
        if me is None:  # ASGI servers run each connection in a task; a bare loop call does not
            raise RuntimeError(f"{type(self).__name__} must run inside an asyncio task.")
        reader = asyncio.create_task(self._layer_loop(layer, self.channel_name))
        stop = partial(_stop_asgi_loop, me)
        reader.add_done_callback(stop)  # it never returns: it ended with an exception
        try:
            await self._asgi_loop(receive)
        except asyncio.CancelledError:
            # Cancelled by stop() alone: raise what ended the layer loop instead.
            if reader.done() and not reader.cancelled() and me.uncancel() == 0:
                reader.result()
            raise
        finally:
            reader.remove_done_callback(stop)
            reader.cancel()
            await asyncio.wait((reader,))

    async def _asgi_loop(self, receive: Receive) -> None:
        lock, dispatch = self._lock, self.dispatch
        while True:
            message = await receive()
            await lock.acquire()
            try:
                await dispatch(message)
            finally:
                lock.release()

    async def _layer_loop(self, layer: BaseChannelLayer, channel: str) -> None:
        # The broadcast hot path: keep it to one receive, one lock and one call.
        lock, dispatch, layer_receive = self._lock, self.dispatch, layer.receive
        while True:
            message = await layer_receive(channel)
            msg_type = message.get("type")
            if isinstance(msg_type, str) and msg_type.startswith(_SERVER_TYPES):
                # Only the server may say "websocket.disconnect": through a layer it
                # would stop the consumer and leave the socket open.
                logger.warning(
                    "%s dropped a %r message from the channel layer: %s messages come "
                    "from the ASGI server only.",
                    type(self).__name__,
                    msg_type,
                    msg_type.partition(".")[0],
                )
                continue
            await lock.acquire()
            try:
                await dispatch(message)
            except InvalidMessageType as exc:
                # Someone else's typo must not close this client's connection.
                logger.warning("%s dropped a channel layer message: %s", type(self).__name__, exc)
            finally:
                lock.release()

    # Dispatch -------------------------------------------------------------------------

    async def dispatch(self, message: Message) -> None:
        """Call the handler for ``message["type"]`` (``a.b`` -> ``a_b``).

        Raises :class:`~fast_channels.exceptions.InvalidMessageType` when the type
        names no handler: a private name, a method of the library's own API
        (``send``, ``close``, ``dispatch``...), an attribute that is not a method,
        or nothing at all.
        """
        if self._floors is not None and self._already_dispatched(message):
            return  # replayed by group_resume() already: each message once
        msg_type = message.get("type")
        # Types already checked are looked up in the class's own table (the broadcast
        # hot path); only names of real handlers enter it, so it stays small.
        name = self._handler_names.get(msg_type) if type(msg_type) is str else None
        if name is None:
            name = self._handler_name(message)
        await getattr(self, name)(message)

    @classmethod
    def _handler_name(cls, message: Message) -> str:
        name = get_handler_name(message)
        # Looked up on the class: a property must not run just to be rejected.
        method = getattr(cls, name, None)
        if name in cls._not_handlers or not callable(method) or isinstance(method, type):
            raise InvalidMessageType(
                f"{cls.__name__} has no handler for message type {message['type']!r}: "
                f"define 'async def {name}(self, message)'."
            )
        cls._handler_names[message["type"]] = name
        return name


def _stop_asgi_loop(asgi_task: asyncio.Task[Any], reader: asyncio.Task[None]) -> None:
    """The layer loop ended (a handler raised, StopConsumer, the layer failed): stop."""
    if not reader.cancelled():
        asgi_task.cancel()


# The mixin's API (group_resume, presence_info...) is the library's too.
AsyncConsumer._not_handlers = _api_names(AsyncConsumer) | _api_names(GroupStateMixin)
