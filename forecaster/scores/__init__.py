"""Scoring forecasts: test metrics, M4's metrics and Naive2's seasonality, conformal intervals."""
