"""Plain torch networks. Nothing here imports Lightning or MLflow, does I/O, or moves devices."""
