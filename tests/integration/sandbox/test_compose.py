"""The compose file and Dockerfile: valid, and in step with what the code reads."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from typing import Any

import pytest

from sandbox.settings import ENV_NAMES, Settings

from .conftest import ROOT

COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
APP_MODULES = {"sandbox.web", "worker"}


def compose_binary() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.skip("docker-compose is not installed (scripts/test installs it)")
    return found


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    # PyYAML comes with uvicorn[standard]; without it only `config -q` checks the file.
    yaml = pytest.importorskip("yaml")
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


@pytest.mark.parametrize("profile", [[], ["--profile", "sentinel"]], ids=["default", "sentinel"])
def test_compose_file_validates(profile: list[str]) -> None:
    result = subprocess.run(
        [compose_binary(), "-f", str(COMPOSE), *profile, "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: svc
        for name, svc in compose["services"].items()
        if svc.get("image") == "fast-channels-sandbox"
    }


def test_app_services_run_modules_that_exist(compose: dict[str, Any]) -> None:
    services = app_services(compose)
    assert {"web", "worker", "web-sentinel"} <= set(services)
    for name, svc in services.items():
        command = svc["command"]
        assert command[:2] == ["python", "-m"], (name, command)
        module = command[2]
        assert module in APP_MODULES, (name, module)
        assert importlib.util.find_spec(module) is not None, module
        assert svc.get("build") == ".", name


def test_app_services_set_only_variables_the_settings_read(compose: dict[str, Any]) -> None:
    for name, svc in app_services(compose).items():
        env = {key: str(value) for key, value in svc["environment"].items()}
        unknown = set(env) - set(ENV_NAMES)
        assert not unknown, f"{name} sets variables nothing reads: {unknown}"
        assert env["REDIS_URL"].startswith("redis://redis:")
        settings = Settings.model_validate(env)  # the values parse as the app would parse them
        assert settings.layers == "redis"
        if name.startswith("web"):
            assert settings.host == "0.0.0.0"
            published = svc["ports"][0].split(":")[-1]
            assert int(published) == settings.port


def test_sentinel_profile_points_the_sandbox_at_its_sentinels(compose: dict[str, Any]) -> None:
    services = compose["services"]
    env = services["web-sentinel"]["environment"]
    settings = Settings.model_validate({k: str(v) for k, v in env.items()})
    for host, port in settings.sentinels:
        assert host in services, f"{host} is not a compose service"
        assert services[host].get("profiles") == ["sentinel"]
        assert f"port {port}" in " ".join(services[host]["command"])
        assert f"sentinel monitor {settings.redis_sentinel_service} redis" in " ".join(
            services[host]["command"]
        )
    assert "--replicaof" in services["redis-replica"]["command"]


def test_services_wait_for_a_healthy_redis(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "healthcheck" in services["redis"]
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_dockerfile_copies_what_the_services_need() -> None:
    text = DOCKERFILE.read_text()
    for path in ("sandbox", "worker", "frontend", "packages/fast_channels/src", "uv.lock"):
        assert re.search(rf"^COPY .*{re.escape(path)}", text, re.MULTILINE), path
        assert (ROOT / path).exists(), path
    assert 'CMD ["python", "-m", "sandbox.web"]' in text
    assert "uv sync --locked" in text
