"""Debian's Chromium, driven by Selenium through Debian's chromedriver, for the browser
tests of recap's pages (issue 19).

Selenium rather than Playwright: Debian ships the browser and its driver as one matched
pair (`chromium`, `chromium-driver`), and Selenium speaks WebDriver to exactly that
driver, so nothing is downloaded and no browser-version pin can drift. Playwright's
Python package brings its own Node driver, built for its own Chromium revision.

The tests fail (never skip) when the browser, its driver or axe-core is missing; `.ci/run`
installs them (`apt-get install chromium chromium-driver`, `npm ci --prefix tests/browser`).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
# This machine's network is closed: without the background-networking flags Chromium
# keeps trying Google's hosts.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)
PHONE = 375
DESKTOP = 1280
# The figures each test measured, shown in pytest's closing summary.
FIGURES: list[str] = []


def report(name: str, **figures: Any) -> None:
    line = f"BROWSER {name} {json.dumps(figures, sort_keys=True)}"
    FIGURES.append(line)
    print("\n" + line, flush=True)


def require_browser() -> None:
    """Fails the test, naming the fix, when the browser, its driver or axe-core is missing."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER, AXE) if not path.is_file()]
    if missing:
        pytest.fail(
            f"cannot run the browser tests, missing: {', '.join(missing)}. Install them with"
            " `sudo apt-get install chromium chromium-driver` and"
            " `npm ci --prefix tests/browser` (.ci/run does both).",
            pytrace=False,
        )


@contextmanager
def chromium(profile: Path, log: Path) -> Iterator[WebDriver]:
    """A headless Chromium with a new, empty profile in `profile`, its driver logging to
    `log`; quit when the block ends."""
    require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={DESKTOP},900")
    # The explicit driver path keeps Selenium Manager (which downloads drivers) out.
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(log))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    try:
        # Every page is measured as a first visit: nothing comes from the cache.
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        yield driver
    finally:
        driver.quit()


def viewport(driver: WebDriver, width: int, height: int = 900) -> None:
    """The page's layout width, exactly `width` CSS pixels (a phone is a mobile viewport)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def color_scheme(driver: WebDriver, scheme: str) -> None:
    """The reader's preferred colour scheme, `light` or `dark`, as the page sees it."""
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )


def screenshot(driver: WebDriver, path: Path) -> Path:
    """The whole page, beyond the viewport, as a PNG at `path`."""
    size = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight];"
    )
    width, height = int(size[0]), min(int(size[1]), 8000)
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def horizontal_overflow(driver: WebDriver) -> int:
    """How many CSS pixels the page is wider than its viewport (0 when it fits)."""
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;"
    )
    return int(overflow)


_AXE_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]}).then(
  (result) => done(result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
  }))),
  (error) => done([{id: "axe-failed", impact: "critical", help: String(error), nodes: []}]),
);
"""


def serious_violations(driver: WebDriver) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it stands."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    violations: list[dict[str, Any]] = driver.execute_async_script(_AXE_RUN)
    return [item for item in violations if item.get("impact") in ("serious", "critical")]


_FIGURES = """
const nav = performance.getEntriesByType("navigation")[0];
const resources = performance.getEntriesByType("resource");
const paint = performance.getEntriesByName("first-contentful-paint")[0];
return {
  transferred: nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
  documents: nav.transferSize,
  resources: resources.map((r) => [r.name, r.transferSize]),
  first_paint_ms: paint ? paint.startTime : null,
  response_ms: nav.responseEnd - nav.startTime,
};
"""


def page_figures(driver: WebDriver) -> dict[str, Any]:
    """The page's bytes transferred (the document and what it loaded, nothing from a
    cache) and its first contentful paint, from the browser's own timings."""
    figures: dict[str, Any] = driver.execute_script(_FIGURES)
    paint = figures.get("first_paint_ms")
    figures["first_paint_ms"] = None if paint is None else math.ceil(float(paint))
    return figures
