"""recap's pages in a real browser (issue 19): Debian's Chromium driven by Selenium on
the dev-server stack with the loopback model double."""

from __future__ import annotations

from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ready

from tests.browser.conftest import TEAM, UiStack
from tests.browser.pages import check_page, page_status, sign_in, wait


def test_signing_in_leads_to_the_teams_recordings(
    browser: WebDriver, ui_stack: UiStack, shots: Path
) -> None:
    browser.get(f"{ui_stack.url}/ui/")
    browser.delete_all_cookies()
    browser.get(f"{ui_stack.url}/ui/{TEAM}/sessions")
    # Not signed in: the sign-in form, which returns here afterwards.
    assert "/ui/sign-in" in browser.current_url
    check_page(browser, f"{ui_stack.url}/ui/sign-in", "sign-in", shots)
    sign_in(browser, ui_stack.url, ui_stack.email)
    assert browser.current_url.endswith(f"/ui/{TEAM}/sessions")
    rows = browser.find_elements(By.CSS_SELECTOR, "tbody tr")
    # The sample sessions and the stack's too-short recording.
    assert len(rows) == len(ui_stack.api.session_ids) + 1
    assert "team-ui" in browser.find_element(By.CSS_SELECTOR, ".who").text


def test_a_cited_ref_scrolls_to_its_timeline_line_and_marks_it(
    browser: WebDriver, ui_stack: UiStack, shots: Path
) -> None:
    sign_in(browser, ui_stack.url, ui_stack.email)
    session_id = ui_stack.failed[0]
    check_page(browser, f"{ui_stack.url}/ui/{TEAM}/sessions/{session_id}", "session", shots)
    links = browser.find_elements(By.CSS_SELECTOR, ".summary a.ref")
    assert links, "the summary cites no ref"
    target = links[-1].get_attribute("href").rsplit("#", 1)[1]
    line = browser.find_element(By.ID, target)
    assert "highlight" not in (line.get_attribute("class") or "")
    links[-1].click()
    wait(browser).until(lambda d: "highlight" in (line.get_attribute("class") or ""))
    # Only that line is marked, and it is on screen.
    marked = browser.find_elements(By.CSS_SELECTOR, ".event.highlight")
    assert [item.get_attribute("id") for item in marked] == [target]
    assert browser.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight;",
        line,
    )
    assert browser.current_url.endswith(f"#{target}")
    # What a person sees after the click, as it is on screen.
    browser.save_screenshot(str(shots / "session-ref-clicked-1280.png"))


def test_another_teams_session_page_is_not_found(browser: WebDriver, ui_stack: UiStack) -> None:
    sign_in(browser, ui_stack.url, ui_stack.other_email)
    browser.get(f"{ui_stack.url}/ui/{TEAM}/sessions/{ui_stack.summarized[0]}")
    assert page_status(browser) == 404
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not found"
    # The page tells nothing of the other team's summary.
    assert ui_stack.summarized[0] not in browser.page_source


def test_a_form_without_its_csrf_token_is_refused(browser: WebDriver, ui_stack: UiStack) -> None:
    sign_in(browser, ui_stack.url, ui_stack.email)
    # The sign-out form, stripped of its token as another site's form would be.
    browser.execute_script(
        "document.querySelector('form[action=\"/ui/sign-out\"] input[name=csrf_token]').remove();"
    )
    browser.find_element(By.CSS_SELECTOR, "form[action='/ui/sign-out'] button").click()
    wait(browser).until(ready.text_to_be_present_in_element((By.TAG_NAME, "h1"), "expired"))
    assert page_status(browser) == 403
    # Nothing changed: the person is still signed in.
    browser.get(f"{ui_stack.url}/ui/{TEAM}/sessions")
    assert browser.current_url.endswith(f"/ui/{TEAM}/sessions")
