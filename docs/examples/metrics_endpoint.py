"""Prometheus: mount the exposition in a FastAPI app (``fast-channels[prometheus]``)."""

from fast_channels.metrics import metrics_app
from fastapi import FastAPI

app = FastAPI()
app.mount("/metrics", metrics_app())  # scrape http://<host>/metrics/
