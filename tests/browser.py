"""Headless Chromium (Debian's chromium + chromium-driver) driven through Selenium, for UI tests
and for the README's screenshots. Nothing here downloads a browser."""

from __future__ import annotations

import shutil
import tempfile
import time
from contextlib import contextmanager

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def available() -> bool:
    return bool(shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER))


@contextmanager
def chromium(width: int = 1800, height: int = 1000):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="forecaster-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--window-size={width},{height}", f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, xpath: str, seconds: float = 60):
    """The element at `xpath` once it is clickable; an element that React redraws while it is
    checked (stale) is looked up again, not an error."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException,))
    return wait.until(EC.element_to_be_clickable((By.XPATH, xpath)))


def open_runs_with_metric(driver, base_url: str, experiment_id: str, parent_name: str, metric: str = "mse") -> str:
    """The experiment's runs table with the `metric` column shown and the parent run expanded;
    returns the table's text."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(f"{base_url}/#/experiments/{experiment_id}/runs")
    wait_for(driver, f"//*[text()='{parent_name}']")
    close_assistant(driver)
    wait_for(driver, "//button[normalize-space(.)='Columns']").click()
    wait_for(driver, f"//*[normalize-space(text())='{metric}']").click()
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    cell = driver.find_element(By.XPATH, f"//*[text()='{parent_name}']/ancestor::*[contains(@class,'ag-cell')][1]")
    cell.find_element(By.XPATH, ".//button").click()  # expand the parent to show its child runs
    time.sleep(1.5)
    return driver.find_element(By.CSS_SELECTOR, ".ag-root").text


def open_compare_view(driver, base_url: str, experiment_id: str, run_ids: list[str]) -> str:
    """MLflow's compare-runs page for `run_ids`; returns its text once the metrics table and the
    chart (`compare_chart`) are drawn and the assistant panel is closed."""
    import json
    from urllib.parse import quote

    from selenium.webdriver.support.ui import WebDriverWait

    runs = quote(json.dumps(run_ids))
    driver.get(f"{base_url}/#/compare-runs?runs={runs}&experiments={quote(json.dumps([experiment_id]))}")
    wait_for(driver, "//*[normalize-space(text())='mse']")
    WebDriverWait(driver, 60).until(lambda d: compare_chart(d).get("mse"))
    close_assistant(driver)
    time.sleep(1)  # the plot redraws to the wider page
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def compare_chart(driver) -> dict[str, list]:
    """The compare view's chart as data: {axis label: values}, read from the Plotly figure that
    MLflow draws (its parallel-coordinates axes); {} until it is drawn."""
    return driver.execute_script(
        """
        const plot = document.querySelector('.js-plotly-plot');
        if (!plot || !plot.data || !plot.data.length || !plot.querySelector('svg.main-svg')) return {};
        const out = {};
        for (const trace of plot.data)
            for (const dim of (trace.dimensions || [])) out[dim.label] = Array.from(dim.values || []);
        return out;
        """
    )


def close_assistant(driver) -> None:
    """Close MLflow's assistant panel (it covers a quarter of the page) if it is open."""
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.XPATH, "//button[@data-component-id='mlflow.assistant.chat_panel.close']"):
        if button.is_displayed():
            button.click()
            time.sleep(0.5)


def runs_table_rows(driver) -> list[str]:
    """The text of each row of the runs table (its pinned and scrolling parts joined)."""
    return driver.execute_script(
        """
        const rows = {};
        document.querySelectorAll('.ag-row').forEach(r => {
            const i = r.getAttribute('row-index');
            rows[i] = (rows[i] || '') + ' ' + r.innerText.replace(/\\s+/g, ' ');
        });
        return Object.values(rows);
        """
    )
