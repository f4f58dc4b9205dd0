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


PROFILES = ("sentinel", "cluster", "scale")
#: The app's web services, published port -> service (each profile adds one).
WEB_PORTS = {8080: "web", 8081: "web-sentinel", 8082: "web-cluster", 8083: "web-2"}
CLUSTER_NODES = [f"redis-node-{n}" for n in range(1, 7)]


def compose_config(*profiles: str, quiet: bool = False) -> str:
    """``docker-compose config`` with ``profiles`` on: the file as Compose resolves it."""
    args = [f"--profile={profile}" for profile in profiles]
    result = subprocess.run(
        [compose_binary(), "-f", str(COMPOSE), *args, "config", *(["-q"] if quiet else [])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    "profiles", [(), *((p,) for p in PROFILES), PROFILES], ids=["default", *PROFILES, "all"]
)
def test_compose_file_validates(profiles: tuple[str, ...]) -> None:
    compose_config(*profiles, quiet=True)


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    """Every profile on, anchors merged and ``${VARIABLES}`` filled in by Compose."""
    yaml = pytest.importorskip("yaml")
    data: dict[str, Any] = yaml.safe_load(compose_config(*PROFILES))
    return data


def app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: svc
        for name, svc in compose["services"].items()
        if svc.get("image") == "fast-channels-sandbox"
    }


def test_app_services_run_modules_that_exist(compose: dict[str, Any]) -> None:
    services = app_services(compose)
    assert {*WEB_PORTS.values(), "worker", "worker-cluster"} <= set(services)
    for name, svc in services.items():
        command = svc["command"]
        assert command[:2] == ["python", "-m"], (name, command)
        module = command[2]
        assert module in APP_MODULES, (name, module)
        assert importlib.util.find_spec(module) is not None, module
        assert svc.get("build") == ".", name


def test_app_services_set_only_variables_the_settings_read(resolved: dict[str, Any]) -> None:
    for name, svc in app_services(resolved).items():
        env = {key: str(value) for key, value in svc["environment"].items()}
        unknown = set(env) - set(ENV_NAMES)
        assert not unknown, f"{name} sets variables nothing reads: {unknown}"
        assert env["REDIS_URL"].startswith("redis://redis:")
        settings = Settings.model_validate(env)  # the values parse as the app would parse them
        assert settings.layers == "redis"
        if name.startswith("web"):
            assert settings.host == "0.0.0.0"
            [port] = svc["ports"]
            assert int(port["target"]) == settings.port, name
            assert WEB_PORTS[int(port["published"])] == name


def test_every_web_replica_accepts_the_same_sign_in_cookie(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    secrets = {
        name: services[name]["environment"]["SANDBOX_SESSION_SECRET"] for name in WEB_PORTS.values()
    }
    assert len(set(secrets.values())) == 1, secrets
    assert Settings(session_secret=next(iter(secrets.values()))).session_secret  # long enough
    assert services["web-2"]["profiles"] == ["scale"]
    for name in ("web", "web-2"):  # the two replicas of the scale profile: one Redis
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert "REDIS_CLUSTER_NODES" not in services[name]["environment"]


def test_cluster_profile_points_the_sandbox_at_six_cluster_nodes(
    resolved: dict[str, Any],
) -> None:
    services = resolved["services"]
    for node in CLUSTER_NODES:
        command = services[node]["command"]
        assert services[node]["profiles"] == ["cluster"]
        assert command[0] == "redis-server"
        assert command[command.index("--cluster-enabled") + 1] == "yes"
        assert services[node]["image"].startswith("redis:7")  # sharded pub/sub
    init = services["redis-cluster-init"]
    script = init["command"][2].replace("$$", "$")  # Compose's escape for a literal $
    assert " ".join(CLUSTER_NODES) in script
    assert "--cluster create" in script and "--cluster-replicas 1 --cluster-yes" in script
    syntax = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    assert set(init["depends_on"]) == set(CLUSTER_NODES)

    queues = set()
    for name in ("web-cluster", "worker-cluster"):
        env = {k: str(v) for k, v in services[name]["environment"].items()}
        settings = Settings.model_validate(env)
        assert settings.cluster_nodes, name
        for host, port in settings.cluster_nodes:
            assert host in CLUSTER_NODES and port == 6379, (name, host)
        depends = services[name]["depends_on"]
        assert depends["redis-cluster-init"]["condition"] == "service_completed_successfully"
        queues.add(settings.job_queue)
    # Not the default worker's queue: it would send progress through the wrong layers.
    [queue] = queues
    default_queue = Settings.model_validate(services["worker"]["environment"]).job_queue
    assert queue != default_queue


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
