"""Steps on the jobs page, shared by the jobs and scale-out tests."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from .conftest import OpenPage

# Records each state a row shows ("<percent>:<status>"), in order, keyed by job
# id: the test then checks the bar moved step by step, not only where it ended,
# without racing the worker to catch a row "running".
RECORD_PROGRESS = """() => {
  window.__progress = {};
  const list = document.querySelector('[data-testid="jobs-list"]');
  new MutationObserver((records) => {
    for (const record of records) {
      const bar = record.target;
      if (bar.dataset.testid !== "job-progress") continue;
      const id = bar.closest('[data-testid="job-row"]').dataset.jobId;
      const status = bar.closest('[data-testid="job-row"]').dataset.status;
      (window.__progress[id] ||= []).push(`${bar.dataset.percent}:${status}`);
    }
  }).observe(list, { subtree: true, attributes: true, attributeFilter: ["data-percent"] });
}"""


def jobs_page(open_page: OpenPage, base_url: str | None = None) -> Page:
    """The jobs page, connected and empty, recording each row's progress."""
    page = open_page("/jobs", base_url=base_url)
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "open")
    expect(page.get_by_test_id("jobs-empty")).to_be_visible()
    page.evaluate(RECORD_PROGRESS)
    return page


def submit(page: Page, kind: str, steps: int) -> None:
    page.get_by_test_id("job-kind").select_option(kind)
    page.get_by_test_id("job-steps").fill(str(steps))
    page.get_by_test_id("job-submit").click()


def progress_of(page: Page, row: Locator) -> list[str]:
    job_id = row.get_attribute("data-job-id")
    return list(page.evaluate("(id) => window.__progress[id] || []", job_id))


def running(steps: int, upto: int | None = None) -> list[str]:
    """What a row shows after each progress event of a ``steps``-step job."""
    return [f"{round(100 * step / steps)}:running" for step in range(1, (upto or steps) + 1)]
