"""`forecaster report`: a comparison as one self-contained HTML file, opened in headless Chromium."""

from __future__ import annotations

import os
import re
from pathlib import Path

import browser
import pytest
from conftest import ROOT, TINY, run_cli
from mlflow import MlflowClient

ARTIFACTS = Path(os.environ.get("FORECASTER_TEST_ARTIFACTS", ROOT / "out" / "test-artifacts"))


def test_a_run_that_is_no_comparison_or_no_run_is_refused_without_writing(mlflow_uri, tmp_path, capsys):
    client = MlflowClient(mlflow_uri)
    run = client.create_run(client.create_experiment("e"))
    for run_id, phrase in ((run.info.run_id, "is not a comparison's parent run"), ("f" * 32, "no such run")):
        code, _, err = run_cli(capsys, "report", run_id, "--output", tmp_path / "r.html")
        assert code == 2 and phrase in err and "Traceback" not in err
    assert not (tmp_path / "r.html").exists()


@pytest.mark.slow  # a real comparison, then Chromium
@pytest.mark.skipif(
    not browser.available(), reason="Chromium is not installed: apt-get install chromium chromium-driver"
)
def test_the_report_opens_in_chromium_with_the_table_charts_and_forecasts(mlflow_uri, wide_csv, tmp_path, capsys):
    code, _, err = run_cli(capsys, "compare", "--data", wide_csv, *TINY, "--variants", "local,naive", "--name", "tiny")
    assert code == 0, err
    client = MlflowClient(mlflow_uri)
    (parent,) = client.search_runs(
        [client.get_experiment_by_name("tiny").experiment_id], "attributes.run_name = 'compare-tiny'"
    )
    code, out, err = run_cli(capsys, "report", parent.info.run_id, "--output", tmp_path / "report.html")
    assert code == 0, err
    page = (tmp_path / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|file:|//)""", page)  # self-contained: nothing to fetch
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with browser.chromium(width=1300, height=2400) as driver:
        driver.get((tmp_path / "report.html").as_uri())
        driver.save_screenshot(str(ARTIFACTS / "report.png"))
        ranked = driver.execute_script(
            "return Array.from(document.querySelectorAll('#ranking tbody tr')).map(r => r.cells[1].innerText)"
        )
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.naturalWidth > 100 && i.naturalHeight > 100])"
        )
    assert sorted(ranked) == ["ensemble", "local", "naive"]
    drawn = {alt for alt, ok in images if ok}
    assert {"mse_by_seed.png", "accuracy_vs_time.png", "mse_by_variant.png"} <= drawn
    assert {"local-seed42: forecast.png", "naive-seed42: forecast.png"} <= drawn
    assert "Validation winner" in page and "<h2>Config</h2>" in page and "report.html" in out


def test_the_winner_line_names_how_the_ensemble_combines_its_members():
    from forecaster.compare.report import ensemble_label

    members = {"ensemble_members": "causal,linear"}
    assert ensemble_label({**members, "ensemble_rule": "weighted"}) == " (weighted mean of causal,linear)"
    assert ensemble_label({**members, "ensemble_rule": "median"}) == " (median of causal,linear)"
    assert ensemble_label(members) == " (of causal,linear)"  # logged before the rule was tagged
    assert ensemble_label({}) == ""
