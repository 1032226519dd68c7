"""The dashboard in a real browser: Debian's headless Chromium driven through chromedriver.

A demo service (examples + 40 synthetic accounts, replaying real 4-hour history at 0.3 s per
bar) runs in a child process. The test logs in with the admin key, waits for live overview
updates over the WebSocket and checks the numbers against ``GET /api/overview`` and the ledger's
own account count; opens an account page (positions with Greeks, every model's margin, the heat
map), submits a what-if trade and reads the result; then logs in with an account key and is
refused another account's page. Screenshots go to ``$CROSSMARGIN_SCREENSHOT_DIR`` when set
(``docs/images`` holds the committed ones).

Under CI (``CI=true``) a missing Chromium or chromedriver fails the test; locally it skips.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.shared_data import in_ci

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).parents[2]
WAIT_S = 180.0  # liveness bound for a shared 2-core machine, not a speed assertion


def _require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if missing:
        message = (
            f"the dashboard's browser test needs {', '.join(missing)}, not installed here: "
            "`apt-get install chromium chromium-driver` (as .ci/run does) runs it; the "
            "dashboard's HTTP tests (tests/service) ran without it"
        )
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Desk:
    def __init__(self, base_url: str, admin_key: str, process: subprocess.Popen[bytes]) -> None:
        self.base_url = base_url
        self.admin_key = admin_key
        self.process = process
        self.admin = {"Authorization": f"Bearer {admin_key}"}


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    _require_browser()
    folder = tmp_path_factory.mktemp("desk")
    port = _free_port()
    admin_key = f"admin-{secrets.token_urlsafe(32)}"
    env = {
        **os.environ,
        "CROSSMARGIN_ADMIN_KEY": admin_key,
        "CROSSMARGIN_SECRETS_DIR": str(folder / "secrets"),
    }
    command = [
        sys.executable, "-m", "crossmargin.service.demo", "--serve", "--accounts", "40",
        "--days", "20", "--pace", "0.3", "--port", str(port),
        "--database", f"sqlite:///{folder / 'demo.db'}",
    ]  # fmt: skip
    log = (folder / "service.log").open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/health", timeout=2.0).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.5)
    else:
        process.terminate()
    if process.poll() is not None:
        pytest.fail((folder / "service.log").read_text()[-3000:])
    yield Desk(base_url, admin_key, process)
    process.terminate()
    process.wait(timeout=60)
    log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    profile = tempfile.mkdtemp(prefix="crossmargin-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={profile}", "--window-size=1280,800",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=DriverService(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _screenshot(driver: object, name: str) -> None:
    folder = os.environ.get("CROSSMARGIN_SCREENSHOT_DIR")
    if folder:
        driver.save_screenshot(str(Path(folder) / name))  # type: ignore[attr-defined]


def _login(driver: object, desk: Desk, key: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{desk.base_url}/login")  # type: ignore[attr-defined]
    driver.find_element(By.ID, "key").send_keys(key)  # type: ignore[attr-defined]
    driver.find_element(By.ID, "login-button").click()  # type: ignore[attr-defined]


def test_the_dashboard_end_to_end(desk: Desk, browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    wait = WebDriverWait(driver, WAIT_S)

    # an account key, for the last part
    opened = httpx.post(f"{desk.base_url}/accounts", headers=desk.admin, json={"name": "viewer"})
    assert opened.status_code == 201, opened.text
    own_id, own_key = opened.json()["account_id"], opened.json()["api_key"]

    # the admin sees the overview, and live updates arrive over the WebSocket
    _login(driver, desk, desk.admin_key)
    wait.until(lambda d: d.find_element(By.ID, "live-status").text == "connected")
    wait.until(lambda d: int(d.find_element(By.ID, "update-count").text) >= 2)
    first_time = driver.find_element(By.ID, "tick-time").text  # type: ignore[attr-defined]
    wait.until(lambda d: d.find_element(By.ID, "tick-time").text != first_time)
    overview = httpx.get(f"{desk.base_url}/api/overview", headers=desk.admin).json()
    ledger_users = 1 + 40 + len(list((ROOT / "examples").glob("*.toml")))
    assert overview["account_count"] == ledger_users
    assert sum(overview["accounts_by_health"].values()) == ledger_users
    assert overview["insurance_fund_usd"] > 0
    shown = driver.find_element(By.ID, "account-count").text  # type: ignore[attr-defined]
    assert int(shown.replace(",", "")) == ledger_users
    assert driver.find_element(By.CSS_SELECTOR, "#price-chart canvas")  # type: ignore[attr-defined]
    _screenshot(driver, "dashboard_overview.png")

    # an account page: positions, every model side by side, the heat map; then a what-if
    book_id = next(
        a for a in range(1, 200)
        if httpx.get(f"{desk.base_url}/accounts/{a}", headers=desk.admin).status_code == 200
        and httpx.get(f"{desk.base_url}/accounts/{a}", headers=desk.admin).json()["name"]
        == "example-btc_eth_book"
    )  # fmt: skip
    driver.get(f"{desk.base_url}/dashboard/accounts/{book_id}")  # type: ignore[attr-defined]
    title = wait.until(lambda d: d.find_element(By.ID, "account-title")).text
    assert "example-btc_eth_book" in title
    rows = driver.find_elements(By.CSS_SELECTOR, "#positions tr")  # type: ignore[attr-defined]
    assert len(rows) == 1 + 6
    for model in ("isolated", "cross", "pm", "span"):
        assert driver.find_element(By.ID, f"im-{model}").text  # type: ignore[attr-defined]
    assert len(driver.find_elements(By.CSS_SELECTOR, "#heatmap tr")) == 1 + 9  # type: ignore[attr-defined]
    size = driver.find_element(By.ID, "whatif-size")  # type: ignore[attr-defined]
    size.clear()
    size.send_keys("-10000")
    driver.find_element(By.ID, "whatif-button").click()  # type: ignore[attr-defined]
    result = wait.until(lambda d: d.find_element(By.ID, "whatif-result"))
    im_after = Decimal_text(driver.find_element(By.ID, "whatif-im-after").text)  # type: ignore[attr-defined]
    assert im_after > 0
    assert driver.find_element(By.ID, "whatif-passes").text in ("yes", "no")  # type: ignore[attr-defined]
    assert "Book engine" in result.text
    _screenshot(driver, "dashboard_account.png")

    # an account key: its own page, never another account's
    driver.delete_all_cookies()  # type: ignore[attr-defined]
    _login(driver, desk, own_key)
    wait.until(lambda d: d.find_element(By.ID, "account-title"))
    assert f"Account {own_id}" in driver.find_element(By.ID, "account-title").text  # type: ignore[attr-defined]
    driver.get(f"{desk.base_url}/dashboard/accounts/{book_id}")  # type: ignore[attr-defined]
    assert driver.find_element(By.ID, "refused").text == "Not found"  # type: ignore[attr-defined]
    driver.get(f"{desk.base_url}/")  # type: ignore[attr-defined]
    assert f"Account {own_id}" in driver.find_element(By.ID, "account-title").text  # type: ignore[attr-defined]
    cookie = driver.get_cookie("crossmargin_session")  # type: ignore[attr-defined]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert own_key not in cookie["value"]


def Decimal_text(text: str) -> float:  # noqa: N802
    return float(text.replace(",", ""))
