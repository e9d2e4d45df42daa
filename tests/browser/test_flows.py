"""What people do on recap's pages, in Chromium (issue 19): filter the list to failed
sessions, summarize a session from its page and watch the progress turn into the summary,
follow a report's example to its timeline line, and read every page of the team at phone
and desktop width with nothing serious for axe-core."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.browser.conftest import TEAM, UiStack
from tests.browser.pages import check_page, sign_in, wait
from tests.support.browser import screenshot
from tests.support.journey_fixtures import DISTINCT_ID

# Kept in the tab's sessionStorage, so the reload that shows the summary keeps them.
_WATCH_STATES = """
const status = document.getElementById("summarize-status");
sessionStorage.setItem("states", "");
new MutationObserver(() => {
  const step = document.getElementById("summarize-step");
  const seen = status.dataset.state + ":" + (step ? step.textContent.trim() : "");
  sessionStorage.setItem("states", sessionStorage.getItem("states") + seen + "\\n");
}).observe(status, {attributes: true, childList: true, subtree: true, characterData: true});
"""


def _row_ids(driver: WebDriver) -> list[str]:
    rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr.session-row")
    return [row.get_attribute("data-session-id") or "" for row in rows]


def test_the_list_filters_to_failed_sessions(
    browser: WebDriver, ui_stack: UiStack, shots: Path
) -> None:
    sign_in(browser, ui_stack.url, ui_stack.email)
    assert len(_row_ids(browser)) > len(ui_stack.failed)
    Select(browser.find_element(By.ID, "filter-outcome")).select_by_value("failure")
    browser.find_element(By.ID, "filter-apply").click()
    wait(browser).until(lambda d: "outcome=failure" in d.current_url)
    assert sorted(_row_ids(browser)) == sorted(ui_stack.failed)
    assert all(
        "failure" in cell.text
        for cell in browser.find_elements(By.CSS_SELECTOR, "tbody tr.session-row .outcome")
    )
    # Each failed session shows what code counted in it; the checkouts' rage clicks.
    tags = {
        row.get_attribute("data-session-id"): {
            tag.get_attribute("data-signal")
            for tag in row.find_elements(By.CSS_SELECTOR, ".signal-tag")
        }
        for row in browser.find_elements(By.CSS_SELECTOR, "tbody tr.session-row")
    }
    assert all(tags.values()), tags
    raged = sorted(session_id for session_id, found in tags.items() if "rage" in found)
    assert raged, tags
    Select(browser.find_element(By.ID, "filter-outcome")).select_by_value("")
    browser.find_element(By.ID, "filter-signal-rage").click()
    browser.find_element(By.ID, "filter-apply").click()
    wait(browser).until(lambda d: "signal=rage" in d.current_url)
    assert sorted(_row_ids(browser)) == raged
    browser.back()

    check_page(browser, browser.current_url, "sessions-failed", shots)


def test_summarizing_from_the_page_shows_progress_then_the_summary(
    browser: WebDriver, ui_stack: UiStack, shots: Path
) -> None:
    sign_in(browser, ui_stack.url, ui_stack.email)
    url = f"{ui_stack.url}/ui/{TEAM}/sessions/{ui_stack.unsummarized}"
    check_page(browser, url, "session-unsummarized", shots)
    button = browser.find_element(By.ID, "summarize-button")
    assert button.text == "Summarize"
    assert "not summarized yet" in browser.find_element(By.TAG_NAME, "main").text
    browser.execute_script(_WATCH_STATES)
    button.click()
    # The summary replaces the progress: a title, and the button offers a new run.
    wait(browser, 120).until(
        lambda d: d.find_element(By.ID, "summarize-button").text == "Summarize again"
    )
    states = browser.execute_script("return sessionStorage.getItem('states');") or ""
    assert "running:" in states and "Summarizing" in states, states
    title = browser.find_element(By.TAG_NAME, "h1").text
    assert title == "The user browsed the site"
    assert browser.find_elements(By.CSS_SELECTOR, ".timeline li.event")
    screenshot(browser, shots / "session-summarized-1280.png")


def test_a_reports_example_opens_its_session_at_the_cited_line(
    browser: WebDriver, ui_stack: UiStack, shots: Path
) -> None:
    sign_in(browser, ui_stack.url, ui_stack.email)
    check_page(browser, f"{ui_stack.url}/ui/{TEAM}/reports/{ui_stack.report_id}", "report", shots)
    example = ui_stack.example
    link = browser.find_element(
        By.CSS_SELECTOR, f"a[href='/ui/{TEAM}/sessions/{example.session_id}#{example.ref}']"
    )
    link.click()
    wait(browser).until(lambda d: d.current_url.endswith(f"#{example.ref}"))
    target = browser.execute_script("return document.querySelector(':target').id;")
    assert target == example.ref
    assert example.session_id in browser.current_url


def test_every_page_of_the_team_reads_well_at_both_widths(
    browser: WebDriver, ui_stack: UiStack, shots: Path
) -> None:
    sign_in(browser, ui_stack.url, ui_stack.email)
    base = f"{ui_stack.url}/ui/{TEAM}"
    for name, path in (
        ("sessions", "/sessions"),
        ("reports", "/reports"),
        ("digests", "/digests"),
        ("digest", "/digests/dg_00aa11bb22cc33dd"),
        ("clusters", "/clusters"),
        ("jobs", "/jobs"),
    ):
        check_page(browser, base + path, name, shots)
    # The clusters of the real clustering run, and the first one's page.
    browser.get(base + "/clusters")
    links = browser.find_elements(By.CSS_SELECTOR, f"a[href^='/ui/{TEAM}/clusters/']")
    assert links, "the clustering run found no cluster"
    check_page(browser, links[0].get_attribute("href") or "", "cluster", shots)
    # A person's journey: every session in order, each linking to its page.
    person = f"{base}/persons/{quote(DISTINCT_ID, safe='')}"
    check_page(browser, person, "journey", shots)
    sessions = browser.find_elements(By.CSS_SELECTOR, f"main a[href^='/ui/{TEAM}/sessions/']")
    assert len({link.get_attribute("href").split("#")[0] for link in sessions}) == 12
    # The jobs page shows the clustering run, completed.
    browser.get(base + "/jobs")
    assert ui_stack.clusters_job in browser.page_source
    check_page(browser, f"{ui_stack.url}/ui/no/such/page", "not-found", shots, status=404)
