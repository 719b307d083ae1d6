"""Property-based: random settings and random damage to a slice of ETTh1 end in exit 0 or 2, never a traceback.

Hypothesis draws config values (integers with 0, negatives and huge ones, floats with nan, inf and
negatives, strings) and mutations of the CSV (bad cells, shuffled rows, truncated lines, huge
values, empty cells, deleted or duplicated rows) and runs `forecaster data inspect` and
`forecaster train` in-process: any exception escaping `cli.main` fails the test.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import pytest
from conftest import ETTH1, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SLICE = ETTH1.read_text().splitlines()[:401]  # header + 400 hourly rows
WINDOWS = ["--data.context_len", "24", "--data.horizon", "6"]  # fit 400 rows, unless a drawn value changes them

INTEGERS = st.one_of(st.integers(-3, 40), st.sampled_from([0, -1, 2**31, 2**32, 2**63, 10**30]))
FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -1.0, 0.5, 1.0, 1e30]))
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
VALUES = st.one_of(INTEGERS.map(str), FLOATS.map(repr), TEXT, st.sampled_from(["null", "true", "[]", "a,b"]))
SMALL = st.integers(-2, 6).map(str)  # sizes of the network: small, so no draw allocates gigabytes

DATA_KEYS = [
    "data.context_len",
    "data.horizon",
    "data.batch_size",
    "data.eval_batch_size",
    "data.split",
    "data.ratios",
    "data.borders",
    "data.fill",
    "data.sort",
    "data.drop_short",
    "data.outliers",
    "data.format",
    "data.delimiter",
    "data.time_col",
    "data.targets",
    "data.covariates",
    "data.season_period",
    "seed",
]
TRAIN_KEYS = [
    *DATA_KEYS,
    "model.name",
    "model.attention",
    "model.dropout",
    "model.local_share",
    "model.revin",
    "trainer.lr",
    "trainer.weight_decay",
    "trainer.gradient_clip_val",
    "trainer.loss",
    "trainer.scheduler",
    "trainer.patience",
    "trainer.limit_train_batches",
    "trainer.limit_val_batches",
]
SIZE_KEYS = ["model.d_model", "model.n_heads", "model.n_layers", "model.window", "model.patch_len", "model.stride"]


@st.composite
def settings_drawn(draw, keys: list[str]) -> list[str]:
    """Up to three `--key=value` options, with random keys and values (sizes of the network kept small)."""
    options = [f"--{k}={draw(VALUES)}" for k in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True))]
    options += [f"--{k}={draw(SMALL)}" for k in draw(st.lists(st.sampled_from(SIZE_KEYS), max_size=2, unique=True))]
    return options


@st.composite
def damaged(draw, *, offsets: bool = False) -> str:
    """The slice of ETTh1 with up to four random mutations."""
    header, rows = SLICE[0], list(SLICE[1:])
    kinds = ["cell", "shuffle", "truncate", "huge", "empty", "delete", "duplicate"] + (["offset"] if offsets else [])
    for kind in draw(st.lists(st.sampled_from(kinds), max_size=4)):
        if not rows:
            break
        i = draw(st.integers(0, len(rows) - 1))
        cells = rows[i].split(",")
        j = draw(st.integers(0, len(cells) - 1))
        if kind == "cell":
            cells[j] = draw(TEXT).replace(",", "").replace("\n", "")
        elif kind == "huge":
            huge = st.sampled_from(["1e30", "-1e30", "1e39", "3.4e38", "1e300", "inf"])
            cells[min(max(j, 1), len(cells) - 1)] = draw(huge)
        elif kind == "empty":
            cells[j] = ""
        elif kind == "offset":
            cells[0] += draw(st.sampled_from(["+01:00", "+02:00", "Z", "-05:00"]))
        if kind in ("cell", "huge", "empty", "offset"):
            rows[i] = ",".join(cells)
        elif kind == "shuffle":
            k = draw(st.integers(0, len(rows) - 1))
            rows[i], rows[k] = rows[k], rows[i]
        elif kind == "truncate":
            rows[i] = rows[i][: draw(st.integers(0, len(rows[i])))]
        elif kind == "delete":
            del rows[i : i + draw(st.integers(1, 50))]
        elif kind == "duplicate":
            rows.insert(i, rows[i])
    return "\n".join([header, *rows]) + "\n"


def assert_clean(code: int, err: str) -> None:
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:
        assert err.startswith("error: ") or "\nerror: " in err, err


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(text)
    return path


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=damaged(), options=settings_drawn(DATA_KEYS))
def test_inspect_exits_0_or_2_on_random_settings_and_damage(text, options, capsys, tmp_path):
    path = write(tmp_path, text)
    code, _, err = run_cli(capsys, "data", "inspect", path, *WINDOWS, *options)
    assert_clean(code, err)


@pytest.mark.skipif(
    find_spec("forecaster.data.times") is None, reason="timestamps with offsets: issue 12 case 2 (data/times.py)"
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=damaged(offsets=True))
def test_inspect_exits_0_or_2_on_stamps_with_offsets(text, capsys, tmp_path):
    path = write(tmp_path, text)
    code, _, err = run_cli(capsys, "data", "inspect", path, *WINDOWS)
    assert_clean(code, err)


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=damaged(), options=settings_drawn(TRAIN_KEYS))
def test_train_exits_0_or_2_on_random_settings_and_damage(text, options, capsys, tmp_path):
    path = write(tmp_path, text)
    small = ["--model.d_model", "8", "--model.n_heads", "2", "--model.d_ff", "8", "--model.patch_len", "4"]
    fixed = ["--trainer.max_steps", "2", "--tracking.enabled", "false", "--trainer.progress_bar", "false"]
    code, _, err = run_cli(capsys, "train", "--data", path, *WINDOWS, *small, "--model.stride", "4", *options, *fixed)
    assert_clean(code, err)
