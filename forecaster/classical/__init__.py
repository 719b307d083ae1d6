"""Classical references: statsforecast's AutoETS, AutoTheta and AutoARIMA as variants `ets`, `theta`, `arima`.

Each is a `forecaster.nn.common.Network` without weights that fits its model on every window's
context when it forecasts (`networks`), so it goes through the same evaluation, intervals,
comparison and package as every other variant. `cost` says what those fits cost and which of
them a default comparison includes. statsforecast is imported only when a fit runs, so `--help`
and the `predict` of other models never load it.
"""
