"""`forecaster tune`: search spaces, Optuna studies, trials as MLflow child runs, fan-out, the report."""
