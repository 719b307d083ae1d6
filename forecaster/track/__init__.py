"""MLflow runs, the data a run trained on, and the store's lock and checkpoint folders."""
