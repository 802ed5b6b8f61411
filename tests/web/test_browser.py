"""End to end in a real browser: Debian's headless Chromium, driven by Selenium through Debian's
chromium-driver, against `audit-kit serve`'s app on 127.0.0.1. One server and one browser for the module.

Skips, saying why, only where the browser cannot be had (`make test` installs it where it runs as root).
Set AUDIT_KIT_SCREENSHOTS=DIR to save a picture of each page visited (docs/img/ was made that way).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_world import OTHER, OWN, PASSWORDS, World, build, questionnaire_csv, settings

from audit_kit.store import web
from audit_kit.store.people import PeopleStore
from audit_kit.web.app import create_app

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000"]

if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
    pytest.skip(f"browser tests need Debian's chromium and chromium-driver ({CHROMIUM}, {DRIVER}): "
                "`apt-get install -y chromium chromium-driver` (make test does it when run as root)",
                allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="browser tests need selenium (make .venv)")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str]]:
    import uvicorn

    world = build(tmp_path_factory.mktemp("browser") / "ws")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings(world.path)), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the web app did not start"
        time.sleep(0.05)
    yield world, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="audit-kit-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _shot(driver: Any, name: str) -> None:
    folder = os.environ.get("AUDIT_KIT_SCREENSHOTS")
    if folder:
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1280, min(max(height + 40, 700), 1800))
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))
        driver.set_window_size(1400, 1000)


def _sign_in(driver: Any, base: str, username: str) -> None:
    driver.delete_all_cookies()
    driver.get(base + "/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORDS[username])
    driver.find_element(By.ID, "signin").click()
    WebDriverWait(driver, 10).until(lambda d: "/login" not in d.current_url)


def _wait_text(driver: Any, css: str, text: str) -> None:
    # Read the text in one script call: finding the element and then asking for its text is two
    # round trips, and an htmx swap between them makes Chrome fail with "Node with given id does
    # not belong to the document" (a WebDriverException the expected conditions do not retry).
    script = "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';"
    WebDriverWait(driver, 10).until(lambda d: text in d.execute_script(script, css))


def _csp_violations(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser")
            if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]


def test_reviewer_works_the_queue(served, browser) -> None:
    world, base = served
    browser.get(base + "/findings")
    assert "/login" in browser.current_url  # signed out: sent to sign in
    _shot(browser, "login")
    _sign_in(browser, base, "rita")
    assert browser.find_element(By.TAG_NAME, "h1").text == "National dashboard"
    assert browser.find_elements(By.CSS_SELECTOR, "table.heat td")
    _shot(browser, "dashboard")
    browser.get(base + f"/orgs/{OWN}")
    _shot(browser, "body-reviewer")
    browser.get(base + f"/findings?org={OWN}")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.queue tbody tr[id^=f-]")
    assert rows
    _shot(browser, "queue")
    row_id = rows[0].get_attribute("id")
    form = rows[0].find_element(By.CSS_SELECTOR, "form.review")
    Select(form.find_element(By.NAME, "state")).select_by_value("confirmed")
    form.find_element(By.NAME, "note").send_keys("Checked with the DPO: no work reason.")
    form.find_element(By.TAG_NAME, "button").click()
    _wait_text(browser, f"#{row_id} .state", "Confirmed")  # htmx swapped the row in place
    assert browser.current_url.endswith(f"/findings?org={OWN}")  # no page load
    # Filter by state through htmx: only the confirmed finding stays.
    Select(browser.find_element(By.ID, "f-state")).select_by_value("confirmed")
    WebDriverWait(browser, 10).until(lambda d: "state=confirmed" in d.current_url)
    _wait_text(browser, "#queue .caption", "1 of 1")
    browser.find_element(By.CSS_SELECTOR, f"#{row_id} td a").click()
    WebDriverWait(browser, 10).until(lambda d: "/findings/" in d.current_url)
    assert "Checked with the DPO" in browser.find_element(By.TAG_NAME, "main").text
    # A changed mind on the finding's page: a false positive for 14 days leaves the workflow's suppression.
    Select(browser.find_element(By.ID, "review-state")).select_by_value("false_positive")
    browser.find_element(By.ID, "review-note").send_keys("Rota cover on the night, agreed with the DPO.")
    browser.find_element(By.ID, "review-days").send_keys("14")
    browser.find_element(By.ID, "review-save").click()
    _wait_text(browser, "p.rule", "In force: suppression sup-")
    _shot(browser, "finding")
    assert _csp_violations(browser) == []
    fid = row_id.removeprefix("f-")
    from audit_kit.review import rules

    with PeopleStore.open(world.path) as people:
        (rule,) = [r for r in rules(people, web.utcnow().replace(tzinfo=None)) if r.source_finding == fid]
    assert rule.kind.value == "suppression" and rule.created_by == "rita"
    with PeopleStore.open(world.path) as people:
        actions = {(e.username, e.action, e.object_id) for e in web.access_entries(people)}
    assert ("rita", "review_finding", fid) in actions and ("rita", "view_finding", fid) in actions


def test_dpo_uploads_a_questionnaire_and_is_kept_to_their_body(served, browser, tmp_path: Path) -> None:
    world, base = served
    _sign_in(browser, base, "dora")
    assert browser.current_url.endswith(f"/orgs/{OWN}")
    form = browser.find_element(By.CSS_SELECTOR, "form.respond")
    Select(form.find_element(By.NAME, "status")).select_by_value("in progress")
    form.find_element(By.NAME, "owner_name").send_keys("J. Patel, IT lead")
    form.find_element(By.NAME, "comment").send_keys("Vetting of new starters from May.")
    form.find_element(By.TAG_NAME, "button").click()
    _wait_text(browser, "#plan", "Vetting of new starters from May.")
    _shot(browser, "body-dpo")
    browser.get(base + f"/orgs/{OTHER}")
    assert "Not yours to see" in browser.find_element(By.TAG_NAME, "h1").text
    browser.get(base + f"/api/orgs/{OTHER}")
    assert "you may not see this" in browser.page_source
    bad = tmp_path / "answers.csv"
    bad.write_bytes(questionnaire_csv(OWN, {"IAM-02": "most of them", "MON-01": "daily"}))
    browser.get(base + f"/orgs/{OWN}/questionnaire")
    browser.find_element(By.ID, "q-file").send_keys(str(bad))
    browser.find_element(By.ID, "q-submit").click()
    _wait_text(browser, "#q-result h2", "Not submitted: 2 problem(s)")
    problems = browser.find_element(By.ID, "q-problems").text
    assert "IAM-02" in problems and "MON-01" in problems and "row " in problems
    _shot(browser, "questionnaire-errors")
    with PeopleStore.open(world.path) as people:
        assert web.submissions(people, OWN) == []
    good = tmp_path / "fixed.csv"
    good.write_bytes(questionnaire_csv(OWN))
    browser.find_element(By.ID, "q-file").send_keys(str(good))
    browser.find_element(By.ID, "q-submit").click()
    _wait_text(browser, "#q-result h2", "Received")
    assert _csp_violations(browser) == []
    with PeopleStore.open(world.path) as people:
        denied = [e for e in web.access_entries(people) if e.username == "dora" and e.status == 403]
        assert {e.org_id for e in denied} == {OTHER} and web.verify_access_log(people).ok
