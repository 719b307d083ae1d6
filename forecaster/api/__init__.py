"""The Python API: a pandas DataFrame in, a model or a table out (`fit`, `compare`, `cross_validation`, `load`)."""
