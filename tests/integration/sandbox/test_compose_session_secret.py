"""Every web app in the compose file signs sign-in cookies with one shared secret.

A browser sends the cookie of localhost:8080 to localhost:8081 as well (cookies are per
host, not per port), so a web app with a secret of its own would answer HTTP 403.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest

from sandbox.settings import Settings

from .conftest import ROOT
from .test_compose import COMPOSE, compose_binary


def resolved(profile: list[str], secret: str | None) -> dict[str, Any]:
    """The compose file as ``docker-compose config`` resolves it, with ``${...}`` filled in."""
    yaml = pytest.importorskip("yaml")
    env = {k: v for k, v in os.environ.items() if k != "SANDBOX_SESSION_SECRET"}
    if secret is not None:
        env["SANDBOX_SESSION_SECRET"] = secret
    result = subprocess.run(
        [compose_binary(), "-f", str(COMPOSE), *profile, "config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    data: dict[str, Any] = yaml.safe_load(result.stdout)
    return data


def web_secrets(compose: dict[str, Any]) -> dict[str, str]:
    return {
        name: str(svc.get("environment", {}).get("SANDBOX_SESSION_SECRET"))
        for name, svc in compose["services"].items()
        if svc.get("command", [])[:3] == ["python", "-m", "sandbox.web"]
    }


@pytest.mark.parametrize("secret", [None, "my-own-secret-0123456789"], ids=["default", "set"])
def test_every_web_app_gets_the_same_session_secret(secret: str | None) -> None:
    secrets = web_secrets(resolved(["--profile", "sentinel"], secret))
    assert {"web", "web-sentinel"} <= set(secrets)
    assert len(set(secrets.values())) == 1, secrets
    value = next(iter(secrets.values()))
    if secret is not None:
        assert value == secret
    Settings.model_validate({"SANDBOX_SESSION_SECRET": value})  # long enough for the app
