"""Health: the library's metrics on a live page, and ``/metrics`` for Prometheus."""
