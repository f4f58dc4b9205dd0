"""The base class for ASGI middleware that wraps consumers."""

from __future__ import annotations

from ..types import ASGIApp, Receive, Scope, Send


class BaseMiddleware:
    """Wraps an inner ASGI app; subclasses override ``__call__``.

    Scope copy semantics: ``BaseMiddleware.__call__`` passes the inner app a
    *shallow copy* of the scope, so keys a middleware adds or replaces are seen
    by the apps inside it but never leak back to the server or to sibling
    routes. Nested values (``headers``, ``path_params``) are shared: replace
    them, don't mutate them in place. A subclass typically does::

        class UserMiddleware(BaseMiddleware):
            async def __call__(self, scope, receive, send):
                scope = dict(scope, user=await load_user(scope))
                return await super().__call__(scope, receive, send)
    """

    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.inner(dict(scope), receive, send)
