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

# Playwright needs a Chromium. Prefer the system one (Debian's `chromium`),
# install it with apt where we can, else let Playwright fetch its own.
ensure_browser() {
    if [ -n "${CHROMIUM_PATH:-}" ] || command -v chromium >/dev/null 2>&1; then
        return
    fi
    step "installing a Chromium for the browser tests"
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        uv run --locked playwright install chromium
    fi
}
