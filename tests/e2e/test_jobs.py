"""Jobs: the page submits, the arq worker process runs, progress comes back per row."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .conftest import OpenPage
from .jobs_page import RECORD_PROGRESS, jobs_page, progress_of, running, submit

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


def test_a_reloaded_page_re_attaches_to_its_running_and_recent_jobs(open_page: OpenPage) -> None:
    page = jobs_page(open_page)
    submit(page, "sum", 3)
    done = page.locator('[data-testid="job-row"][data-status="completed"]')
    expect(done).to_have_count(1)
    submit(page, "sum", 20)  # 20 steps of 0.15 s: still running after the reload
    rows = page.get_by_test_id("job-row")
    expect(rows.first).to_have_attribute("data-status", "running")
    running_id = rows.first.get_attribute("data-job-id")

    page.reload()
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "open")
    # The session's jobs are back: the finished one with its result, the running one
    # at its current step, and then it completes live.
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_have_attribute("data-status", "completed")
    expect(rows.nth(1).get_by_test_id("job-result")).to_have_text("1 + ... + 3 = 6")
    assert rows.first.get_attribute("data-job-id") == running_id
    assert rows.first.get_attribute("data-status") in ("running", "completed")
    page.evaluate(RECORD_PROGRESS)
    expect(rows.first).to_have_attribute("data-status", "completed")
    expect(rows.first.get_by_test_id("job-result")).to_have_text("1 + ... + 20 = 210")
    seen = progress_of(page, rows.first)
    # What arrived live after the reload: the remaining steps, in order, then the end.
    percents = [int(s.split(":")[0]) for s in seen]
    assert seen and seen[-1] == "100:completed" and percents == sorted(percents), seen
    assert len(set(seen)) == len(seen), seen  # no event shown twice


def test_a_second_tab_of_the_session_shows_the_same_jobs(open_page: OpenPage) -> None:
    page = jobs_page(open_page)
    other = open_page("/jobs", context=page.context)
    expect(other.get_by_test_id("connection-status")).to_have_attribute("data-state", "open")
    submit(page, "sum", 4)
    for tab in (page, other):
        row = tab.get_by_test_id("job-row")
        expect(row).to_have_count(1)
        expect(row.get_by_test_id("job-result")).to_have_text("1 + ... + 4 = 10")
