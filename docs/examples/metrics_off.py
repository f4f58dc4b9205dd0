"""Switching counting off, before any layer is built (an app's settings module, say)."""

from fast_channels import metrics


def configure_metrics(enabled: bool) -> None:
    metrics.set_enabled(enabled)  # layers and consumer classes set up after this follow it
