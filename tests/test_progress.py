"""What a person sees while fits run: a line per fit off a terminal, rich's live bars in one, and a
fit that is the same number for number with the display on."""

from __future__ import annotations

import io

import pytest
from conftest import wide_frame
from rich.console import Console

from forecaster import progress
from forecaster.config import load
from forecaster.fit.experiment import train


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=120, color_system=None), out


def test_off_a_terminal_each_fit_is_one_line_with_its_loss_and_the_comparisons_eta():
    console, out = _console(terminal=False)
    with progress.display(console, total=3) as shown:
        assert progress.current() is shown and type(shown) is progress.Display
        shown.start_fit("local seed 42", 5)
        for epoch in range(2):
            for batch in range(1, 4):
                shown.batch(epoch, batch, 3)
            shown.validated(epoch, 0.5 - 0.1 * epoch)
        shown.end_fit(2)
        progress.skip()  # a child that finished before a resume
        shown.start_fit("naive seed 42", 5)
        shown.end_fit(0)
    assert progress.current() is None
    first, second = out.getvalue().splitlines()
    assert first.startswith("[1/3] local seed 42: 2 epochs, val loss 0.4000, ") and ", ETA 0:0" in first
    assert second.startswith("[3/3] naive seed 42: no training, ") and "ETA" not in second  # nothing left


def test_in_a_terminal_the_display_is_live_bars_of_the_comparison_and_the_running_fit():
    console, out = _console(terminal=True)
    with progress.display(console, total=2) as shown:
        assert isinstance(shown, progress.LiveDisplay)
        shown.start_fit("hybrid seed 7", 4)
        shown.batch(1, 2, 8)
        shown.validated(1, 0.25)
        tasks = {t.description.split(" ")[0]: t for t in shown.bars.tasks}
        assert tasks["comparison"].completed == pytest.approx(1.25 / 4)  # a share of one fit of two
        assert "epoch 2/4 · batch 2/8 · val loss 0.2500" in shown.bars.tasks[1].description
        shown.bars.refresh()
        shown.end_fit(4)
        assert shown.bars.tasks[0].completed == 1
    assert "hybrid seed 7" in out.getvalue() and "comparison" in out.getvalue()


def test_no_console_shows_nothing():
    with progress.display(None, total=3) as shown:
        assert shown is None and progress.current() is None
        progress.skip()  # harmless


@pytest.mark.slow  # two short real fits
def test_a_fit_with_the_display_on_gives_the_same_numbers(tmp_path):
    wide_frame().to_csv(tmp_path / "w.csv", index=False)
    settings = {
        "data.path": str(tmp_path / "w.csv"),
        "data.context_len": 24,
        "data.horizon": 6,
        "model.d_model": 16,
        "model.n_heads": 2,
        "model.n_layers": 1,
        "model.d_ff": 16,
        "model.patch_len": 4,
        "model.stride": 4,
        "trainer.max_epochs": 2,
        "tracking.enabled": False,
    }
    cfg = load(None, list(settings.items()))
    plain = train(cfg, quiet=True).metrics
    console, out = _console(terminal=True)
    with progress.display(console, total=1):
        shown = train(cfg).metrics
    for key in ("mse", "mae", "best_val_loss", "epochs", "n_params"):
        assert shown[key] == plain[key], key
    assert "epoch 2/2" in out.getvalue()
