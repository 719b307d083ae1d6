"""The model package and what reads it: checks, loading, the ensemble, evaluation, the MLflow pyfunc."""
