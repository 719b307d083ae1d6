"""Matplotlib figures (`forecaster.plots`): forecasts drawn in the column's own units, one attention
panel per layer and head, and variants ranked best on top."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from forecaster import plots
from forecaster.config import load, with_variant
from forecaster.data.windows import prepare
from forecaster.models import build_network


def test_forecasts_on_test_windows_are_drawn_in_the_columns_own_units(wide_csv):
    settings = [("data.path", str(wide_csv)), ("data.context_len", 24), ("data.horizon", 6)]
    cfg = with_variant(load(None, settings), "naive")
    data = prepare(cfg.data)
    figure = plots.forecasts_on_test_windows(build_network(cfg.model, data.schema), data, variant="naive", column=1)
    assert len(figure.axes) == 3 and figure.axes[0].get_title() == "naive: forecast vs actual (b)"
    test = data.dataset("test")
    starts = test.start_rows(torch.tensor([0, (len(test) - 1) // 2, len(test) - 1])).tolist()  # evenly spaced
    b = pd.read_csv(wide_csv)["b"].to_numpy()
    for ax, start in zip(figure.axes, starts):
        lines = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
        np.testing.assert_allclose(lines["input"], b[start : start + 24], rtol=1e-5)
        np.testing.assert_allclose(lines["actual"], b[start + 24 : start + 30], rtol=1e-5)
        np.testing.assert_allclose(lines["forecast"], np.full(6, b[start + 23]), rtol=1e-5)  # naive: the last value
        when = pd.to_datetime(pd.read_csv(wide_csv)["date"])
        x_axis = pd.to_datetime(ax.get_lines()[0].get_xdata())  # the input's timestamps, not steps
        assert (x_axis == when[start : start + 24].to_numpy()).all() and ax.get_xlabel() in ("", "time")


def test_the_forecast_figure_shades_the_calibrated_bands(wide_csv):
    from forecaster.scores.intervals import calibrate

    settings = [("data.path", str(wide_csv)), ("data.context_len", 24), ("data.horizon", 6)]
    cfg = with_variant(load(None, settings), "naive")
    data = prepare(cfg.data)
    network = build_network(cfg.model, data.schema)
    figure = plots.forecasts_on_test_windows(network, data, variant="naive", calibration=calibrate(network, data))
    labels = [c.get_label() for c in figure.axes[0].collections]
    assert labels == ["90 % interval", "80 % interval"]
    assert figure.axes[-1].get_xlabel() == "time"


def test_one_attention_panel_per_layer_and_head_and_the_best_variant_on_top():
    figure = plots.attention_figure([np.random.rand(3, 4, 4), np.random.rand(3, 4, 4)])
    assert len(figure.axes) == 6 and figure.axes[5].get_title() == "layer 2 head 3"
    spread = plots.seed_spread({"a": [3.0, 1.0], "b": [1.0, 1.0], "c": [5.0]}).axes[0]
    assert [bar.get_width() for bar in spread.patches] == [5.0, 2.0, 1.0]  # bottom to top: the lowest last
    assert [t.get_text() for t in spread.get_yticklabels()] == ["c", "a", "b"]
