"""The sandbox's arq worker: runs jobs and reports back through the "jobs" layer.

Start it with ``python -m worker`` (or ``arq worker.WorkerSettings``); it reads
the same ``REDIS_URL`` as the web app.
"""
