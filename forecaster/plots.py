"""Matplotlib figures shared by run artifacts, the comparison report, notebooks and the README.

Every function returns a `matplotlib.figure.Figure` built without pyplot: no global state, no
display needed, nothing to close; the caller saves it, logs it, or lets a notebook show it.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def forecast_figure(
    x: np.ndarray,
    y: np.ndarray,
    pred: np.ndarray,
    *,
    column: str,
    title: str = "",
    bands: dict | None = None,
    times: list | None = None,
) -> Figure:
    """Inputs, actuals and forecasts of one column for a few windows, with prediction intervals.

    Args:
        x: (W, context_len) inputs; y, pred: (W, horizon) actuals and forecasts.
        bands: level -> (lo, hi), each (W, horizon): shaded, the widest lightest.
        times: per window, its context_len + horizon timestamps (the x axis); None: steps.
    """
    n = len(x)
    fig = Figure(figsize=(9, 2.2 * n))
    axes = fig.subplots(n, 1, squeeze=False)
    C, H = x.shape[1], y.shape[1]
    for w, (ax, xi, yi, pi) in enumerate(zip(axes[:, 0], x, y, pred)):
        at = np.asarray(times[w]) if times is not None else np.arange(C + H)
        past, ahead = at[:C], at[C:]
        for i, (level, (lo, hi)) in enumerate(sorted((bands or {}).items(), reverse=True)):
            shade = 0.18 + 0.17 * i
            ax.fill_between(ahead, lo[w], hi[w], color="tab:red", alpha=shade, lw=0, label=f"{level:g} % interval")
        ax.plot(past, xi, color="0.45", lw=1, label="input")
        ax.plot(ahead, yi, color="black", lw=1.2, label="actual")
        ax.plot(ahead, pi, color="tab:red", lw=1.2, label="forecast")
        ax.axvline(ahead[0], color="0.7", ls="--", lw=0.8)
    axes[0, 0].legend(loc="upper left", fontsize=8, ncol=3 + len(bands or {}))
    axes[0, 0].set_title(title or f"forecast vs actual: {column}")
    axes[-1, 0].set_xlabel("time" if times is not None else "step")
    if times is not None:
        fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def attention_figure(weights: list[np.ndarray], *, title: str = "") -> Figure:
    """Heat maps of attention weights, one row per layer and one column per head.

    Args:
        weights: per layer, (H, T, S) weights of one sequence.
    """
    n_layers, n_heads = len(weights), weights[0].shape[0]
    fig = Figure(figsize=(2.2 * n_heads, 2.2 * n_layers))
    axes = fig.subplots(n_layers, n_heads, squeeze=False)
    for i, layer in enumerate(weights):
        for h in range(n_heads):
            ax = axes[i, h]
            ax.imshow(layer[h], cmap="viridis", aspect="auto", interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"layer {i + 1} head {h + 1}", fontsize=8)
    axes[-1, 0].set_xlabel("key")
    axes[-1, 0].set_ylabel("query")
    fig.suptitle(title or "attention weights", fontsize=10)
    fig.tight_layout()
    return fig


def pattern_masks(tokens: int = 16, window: int = 4, *, d_model: int = 16, n_heads: int = 4) -> dict[str, np.ndarray]:
    """Which keys each query may see under every attention pattern (True: may attend), for `pattern_figure`:
    one (T, T) mask per pattern (cross: 4 horizon queries), hybrid's local and global heads apart."""
    from forecaster.config import ATTENTION_PATTERNS
    from forecaster.nn.attention import MultiHeadAttention

    masks = {}
    for pattern in ATTENTION_PATTERNS:
        attention = MultiHeadAttention(d_model=d_model, n_heads=n_heads, pattern=pattern, window=window)
        mask = attention.pattern_mask(4 if pattern == "cross" else tokens, tokens)
        if pattern == "hybrid":
            masks["hybrid: local heads"], masks["hybrid: global heads"] = mask[0].numpy(), mask[-1].numpy()
        else:
            masks[pattern] = mask[0].numpy()
    return masks


def pattern_figure(masks: dict[str, np.ndarray]) -> Figure:
    """Which keys each query may see, one panel per pattern. masks: name -> (T, S) bool."""
    fig = Figure(figsize=(2.4 * len(masks), 2.6))
    axes = fig.subplots(1, len(masks), squeeze=False)
    for ax, (name, mask) in zip(axes[0], masks.items()):
        ax.imshow(mask, cmap="Blues", vmin=0, vmax=1.3, interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
    axes[0, 0].set_xlabel("key")
    axes[0, 0].set_ylabel("query")
    fig.tight_layout()
    return fig


def metric_bars(names: list[str], means: list[float], stds: list[float], *, metric: str = "mse") -> Figure:
    """Horizontal bars of a metric per variant, best at the top."""
    order = np.argsort(means)[::-1]
    fig = Figure(figsize=(7, 0.45 * len(names) + 1.2))
    ax = fig.subplots()
    ax.barh(
        [names[i] for i in order], [means[i] for i in order], xerr=[stds[i] for i in order], color="tab:blue", alpha=0.8
    )
    ax.set_xlabel(f"test {metric} (scaled)")
    ax.set_title(f"test {metric} per variant (lower is better)")
    fig.tight_layout()
    return fig


def overlay_figure(x: np.ndarray, y: np.ndarray, preds: dict[str, np.ndarray], *, column: str) -> Figure:
    """Every variant's forecast of one window over the actuals. x: (C,), y: (H,), preds: name -> (H,)."""
    C, H = len(x), len(y)
    fig = Figure(figsize=(10, 4))
    ax = fig.subplots()
    tail = min(C, 3 * H)
    ax.plot(np.arange(C - tail, C), x[-tail:], color="0.45", lw=1, label="input")
    ax.plot(np.arange(C, C + H), y, color="black", lw=2, label="actual")
    for name, p in preds.items():
        ax.plot(np.arange(C, C + H), p, lw=1.1, label=name)
    ax.axvline(C - 0.5, color="0.7", ls="--", lw=0.8)
    ax.set_title(f"forecasts of one test window: {column}")
    ax.legend(fontsize=8, ncol=4)
    fig.tight_layout()
    return fig


def forecasts_on_test_windows(
    network, data, *, variant: str, n_windows: int = 3, column: int = 0, calibration=None, levels=(80, 90)
) -> Figure:
    """`forecast_figure` for `n_windows` evenly spaced test windows of prepared `data`, in the
    column's own units; with a `calibration` (`forecaster.scores.intervals`), the bands of `levels`."""
    import torch

    from forecaster.scores import intervals

    test = data.dataset("test")
    picks = np.linspace(0, len(test) - 1, n_windows).astype(int).tolist()
    x, y, *covariates = test.__getitems__(picks)
    network.eval()
    with torch.no_grad():
        pred = network(x, *covariates)
    unscale = lambda a: data.scaler.inverse_column(np.asarray(a)[..., column], column)
    bands = {}
    if calibration is not None:
        point, quantiles, scale = intervals.forecast_batch(network, x, *covariates, n_targets=data.schema.n_targets)
        starts = test.start_rows(torch.tensor(picks)).numpy()
        series = np.searchsorted(data.offsets, starts, side="right") - 1
        f = intervals.Forecasts(y.double().numpy(), point, quantiles, scale, series)
        shown = [v for v in map(float, levels) if v in calibration.levels]
        found = intervals.bounds(calibration, f, data.schema.series_ids, shown, network.quantiles)
        bands = {v: (unscale(lo), unscale(hi)) for v, (lo, hi) in found.items()}
    name = data.schema.columns[column]
    title = f"{variant}: forecast vs actual ({name})"
    times = window_times(data, test.start_rows(torch.tensor(picks)).numpy())
    return forecast_figure(unscale(x), unscale(y), unscale(pred), column=name, title=title, bands=bands, times=times)


def window_times(data, starts: np.ndarray) -> list:
    """The context_len + horizon timestamps of the windows starting at global rows `starts` of prepared `data`."""
    s = data.schema
    series = np.searchsorted(data.offsets, starts, side="right") - 1
    return [
        data.frame.times[i][start - data.offsets[i] : start - data.offsets[i] + s.context_len + s.horizon]
        for start, i in zip(starts, series)
    ]


def attention_on_test_window(network, data, *, variant: str, window: int | None = None, channel: int = 0) -> Figure:
    """`attention_figure` of every layer for one test window (the middle one) and one channel."""
    import torch

    test = data.dataset("test")
    x, _, *covariates = test.__getitems__([len(test) // 2 if window is None else window])
    network.eval()
    with torch.no_grad():
        weights = [w[channel].numpy() for w in network.attention_weights(x, *covariates) if w is not None]
    return attention_figure(weights, title=f"{variant}: attention weights, one test window")


def seed_spread(values: dict[str, list[float]], *, metric: str = "mse") -> Figure:
    """A metric per variant: the mean over seeds as a bar, every seed as a dot, best at the top.

    Args:
        values: variant -> the metric of each of its seeds.
    """
    names = sorted(values, key=lambda n: -float(np.mean(values[n])))
    fig = Figure(figsize=(7, 0.45 * len(names) + 1.2))
    ax = fig.subplots()
    ax.barh(names, [float(np.mean(values[n])) for n in names], color="tab:blue", alpha=0.35, label="mean")
    for i, name in enumerate(names):
        ax.plot(values[name], [i] * len(values[name]), "o", color="tab:blue", ms=5, label="seed" if i == 0 else None)
    ax.set_xlabel(f"test {metric} (scaled)")
    ax.set_title(f"test {metric} per variant and seed (lower is better)")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def accuracy_vs_time(names: list[str], errors: list[float], seconds: list[float], *, metric: str = "mse") -> Figure:
    """Each variant's mean test metric against its mean training time: what accuracy costs."""
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    ax.scatter(seconds, errors, color="tab:red", zorder=3)
    for name, x, y in zip(names, seconds, errors):
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_xscale("symlog", linthresh=1.0)  # untrained baselines sit at 0 s
    ax.set_xlabel("training time per fit (s)")
    ax.set_ylabel(f"test {metric} (scaled)")
    ax.set_title("accuracy against training time (lower left is better)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
