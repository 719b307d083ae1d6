"""Variants x seeds as child runs, choosing on validation, the ranked table, fan-out over Ray."""
