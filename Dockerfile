# One image for the sandbox web app and its arq worker; the command picks which:
#   web:    python -m sandbox.web     (listens on SANDBOX_HOST:SANDBOX_PORT)
#   worker: python -m worker
# Both read REDIS_URL (and the other settings in sandbox/settings.py).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN pip install --no-cache-dir uv

WORKDIR /app

# Dependencies first, so code changes don't reinstall them.
COPY pyproject.toml uv.lock ./
COPY packages/fast_channels/pyproject.toml packages/fast_channels/README.md packages/fast_channels/
COPY packages/fast_channels/src packages/fast_channels/src
RUN uv sync --locked --no-dev

COPY sandbox sandbox
COPY worker worker
COPY frontend frontend

ENV SANDBOX_HOST=0.0.0.0 \
    SANDBOX_PORT=8080
EXPOSE 8080
USER nobody
CMD ["python", "-m", "sandbox.web"]
