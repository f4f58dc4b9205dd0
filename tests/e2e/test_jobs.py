"""Jobs: the page submits, the arq worker process runs, progress comes back per row."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .conftest import OpenPage
from .jobs_page import jobs_page, progress_of, running, submit

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


def test_job_shows_progress_then_the_workers_result(open_page: OpenPage) -> None:
    page = jobs_page(open_page)
    submit(page, "sum", 8)

    row = page.get_by_test_id("job-row")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-kind", "sum")
    expect(page.get_by_test_id("jobs-empty")).to_be_hidden()
    expect(row).to_have_attribute("data-status", "completed")
    expect(row.get_by_test_id("job-status")).to_have_text("Done")
    expect(row.get_by_test_id("job-result")).to_have_text("1 + ... + 8 = 36")
    expect(row.get_by_test_id("job-progress")).to_have_attribute("aria-valuenow", "100")
    # One update per worker step, then the completion.
    assert progress_of(page, row) == [*running(8), "100:completed"]


def test_failing_job_shows_its_error(open_page: OpenPage) -> None:
    page = jobs_page(open_page)
    submit(page, "fail", 4)

    row = page.get_by_test_id("job-row")
    expect(row).to_have_attribute("data-kind", "fail")
    expect(row).to_have_attribute("data-status", "failed")
    expect(row.get_by_test_id("job-status")).to_have_text("Failed")
    expect(row.get_by_test_id("job-result")).to_have_text("Failed on purpose at step 3 of 4.")
    # It got halfway, and the bar stays where the job stopped.
    assert progress_of(page, row) == running(4, upto=2)
    expect(row.get_by_test_id("job-progress")).to_have_attribute("aria-valuenow", "50")
    expect(page.get_by_test_id("error")).to_be_hidden()  # a job failure is not a page error


def test_two_jobs_at_once_each_land_in_their_own_row(
    open_page: OpenPage, docs_screenshot: Callable[[Page, str], None]
) -> None:
    page = jobs_page(open_page)
    submit(page, "sum", 5)
    submit(page, "sum", 7)

    rows = page.get_by_test_id("job-row")
    expect(rows).to_have_count(2)
    expect(page.locator('[data-testid="job-row"][data-status="completed"]')).to_have_count(2)
    # Newest first: the 7-step job is on top.
    expect(rows.get_by_test_id("job-result")).to_have_text(["1 + ... + 7 = 28", "1 + ... + 5 = 15"])
    first, second = rows.nth(0), rows.nth(1)
    assert first.get_attribute("data-job-id") != second.get_attribute("data-job-id")
    assert progress_of(page, first) == [*running(7), "100:completed"]
    assert progress_of(page, second) == [*running(5), "100:completed"]

    submit(page, "fail", 4)
    expect(rows.first).to_have_attribute("data-status", "failed")
    docs_screenshot(page, "jobs")
