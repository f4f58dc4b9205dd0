"""Names shared by the web app and the arq worker (``worker/``).

Both sides import these constants, so a renamed task or event cannot drift
apart between the process that enqueues and the one that runs.
"""

from __future__ import annotations

#: The arq function name the consumer enqueues and the worker registers.
RUN_JOB = "run_job"

#: Job kinds the page offers, with what each does.
JOB_KINDS: dict[str, str] = {
    "sum": "Adds 1..N, one number per step, and returns the total.",
    "fail": "Fails on purpose halfway through, to show how a failure reaches the page.",
}
MIN_STEPS, MAX_STEPS = 1, 50

#: Event types sent to a browser session's group on the "jobs" layer: "job.queued" by
#: the consumer that queued it, the others by the worker. Consumers handle them as
#: job_queued(), job_progress(), job_completed() and job_failed().
QUEUED = "job.queued"
PROGRESS = "job.progress"
COMPLETED = "job.completed"
FAILED = "job.failed"
