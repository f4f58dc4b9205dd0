"""Optional sign-in for the chat: a signed cookie that carries the user's name.

``POST /api/signin {"name": "ada"}`` sets ``sandbox_user=<name>.<signature>`` (an
HMAC over the name with ``SANDBOX_SESSION_SECRET``); the library's
``AuthMiddleware`` runs :class:`SignedNameBackend` on every request and handshake,
so a chat consumer finds the signed-in user in ``scope["user"]``. The name on
a signed-in user's messages comes from the cookie, never from a form field, and
a cookie whose signature does not match is refused (HTTP 403 on the handshake).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    SimpleUser,
)
from starlette.requests import HTTPConnection

COOKIE = "sandbox_user"


def _signature(name: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), name.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def signed_cookie(name: str, secret: str) -> str:
    """The cookie value for ``name``: the name (base64url) and its signature."""
    encoded = base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")
    return f"{encoded}.{_signature(name, secret)}"


class SignedNameBackend(AuthenticationBackend):
    """Reads the sign-in cookie; no cookie is an anonymous visitor."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        value = conn.cookies.get(COOKIE)
        if not value:
            return None
        encoded, _, signature = value.partition(".")
        try:
            name = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            name = ""
        if not name or not hmac.compare_digest(signature, _signature(name, self.secret)):
            raise AuthenticationError("The sign-in cookie is not valid; sign in again.")
        return AuthCredentials(["authenticated"]), SimpleUser(name)
