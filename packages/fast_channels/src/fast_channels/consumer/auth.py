"""The consumer side of authentication: is the handshake's user signed in?

The user is put in ``scope["user"]`` by middleware that runs before the consumer
(:class:`fast_channels.middleware.auth.AuthMiddleware`, or Starlette's own
``AuthenticationMiddleware``); this module only reads it, so it needs no Starlette.
"""

from __future__ import annotations

from ..types import Scope


class AuthenticationNotConfigured(RuntimeError):
    """A consumer requires a user, but no middleware put one in the scope."""


def is_authenticated(scope: Scope, consumer: str) -> bool:
    """True when ``scope["user"].is_authenticated``.

    Raises :class:`AuthenticationNotConfigured` when the scope has no ``"user"``:
    refusing everyone silently would look like a wrong password, not a missing
    middleware.
    """
    if "user" not in scope:
        raise AuthenticationNotConfigured(
            f"{consumer}.authentication_required is set but the scope has no 'user': wrap "
            "the app that routes to it in fast_channels.middleware.auth.AuthMiddleware "
            "(or Starlette's AuthenticationMiddleware)."
        )
    return bool(getattr(scope["user"], "is_authenticated", False))
