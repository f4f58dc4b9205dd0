"""Job queue: the page submits jobs, the arq worker reports back through the "jobs" layer."""
