"""What the browser tests do on recap's pages: sign in, open a page and check it the way
a person would (it fits the width, axe-core finds nothing serious, it is light), and keep
a screenshot of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import PASSWORD
from tests.support.browser import (
    DESKTOP,
    PHONE,
    color_scheme,
    horizontal_overflow,
    page_figures,
    report,
    screenshot,
    serious_violations,
    viewport,
)

MAX_BYTES = 200 * 1024
MAX_FIRST_PAINT_MS = 300


def wait(driver: WebDriver, seconds: float = 20) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, seconds)


def sign_in(driver: WebDriver, url: str, email: str) -> None:
    """Signs in through the form as `email`, from a browser holding no earlier session."""
    driver.get(f"{url}/ui/sign-in")
    driver.delete_all_cookies()
    driver.get(f"{url}/ui/sign-in")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    wait(driver).until(ready.url_contains("/sessions"))


def page_status(driver: WebDriver) -> int:
    """The HTTP status of the page the browser shows."""
    return int(
        driver.execute_script(
            "return performance.getEntriesByType('navigation')[0].responseStatus;"
        )
    )


def check_page(
    driver: WebDriver, url: str, name: str, shots: Path, *, status: int = 200
) -> dict[str, Any]:
    """Opens `url` at phone and desktop width: it fits the phone's width, axe-core finds
    no serious or critical violation, and its figures are taken at desktop width (a first
    visit: nothing cached), and the dark theme passes axe-core too. Screenshots
    `{name}-375.png`, `{name}-1280.png` and `{name}-1280-dark.png`."""
    figures: dict[str, Any] = {}
    for width in (PHONE, DESKTOP):
        viewport(driver, width)
        driver.get(url)
        wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")
        answered = page_status(driver)
        assert answered == status, f"{name} answered {answered}"
        screenshot(driver, shots / f"{name}-{width}.png")
        if width == PHONE:
            assert horizontal_overflow(driver) <= 1, f"{name} is wider than a phone"
        else:
            figures = page_figures(driver)
        violations = serious_violations(driver)
        assert violations == [], f"{name} at {width} px: {violations}"
    # The dark theme, for readers who prefer it: its contrast is checked too.
    color_scheme(driver, "dark")
    try:
        screenshot(driver, shots / f"{name}-{DESKTOP}-dark.png")
        violations = serious_violations(driver)
        assert violations == [], f"{name} in the dark theme: {violations}"
    finally:
        color_scheme(driver, "light")
    report(
        f"page {name}",
        transferred_bytes=figures["transferred"],
        first_paint_ms=figures["first_paint_ms"],
        response_ms=round(figures["response_ms"], 1),
    )
    assert figures["transferred"] < MAX_BYTES, figures
    return figures
