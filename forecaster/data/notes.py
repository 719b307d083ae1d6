"""The notes of lenient options (rows sorted, gaps or missing values filled, short series dropped,
outliers clipped): typed `Diagnostic`s on a `SeriesFrame`, reported wherever data is used.

They go to the `forecaster.notes` logger at WARNING level, so a library user sees them on stderr
by default and the command line prints each as one `note: ...` line (`cli.show_notes`); a training
run also records them as MLflow tags (`as_tags`). Nothing here imports more than `logging`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from forecaster.data.schema import Diagnostic

LOGGER = logging.getLogger("forecaster.notes")
TAG_LIMIT = 5000  # MLflow keeps at most 5000 characters of a tag value (8000 on newer stores)


def report(diagnostics: Iterable[Diagnostic]) -> None:
    """Log each note once, as the sentence shown to the user."""
    for diagnostic in diagnostics:
        LOGGER.warning(diagnostic.message)


def as_tags(diagnostics: Iterable[Diagnostic]) -> dict[str, str]:
    """MLflow run tags: `note.<kind>` -> that kind's notes joined by '; ' (cut to `TAG_LIMIT`)."""
    kinds: dict[str, list[str]] = {}
    for diagnostic in diagnostics:
        kinds.setdefault(diagnostic.kind, []).append(diagnostic.message)
    tags = {}
    for kind, messages in kinds.items():
        text = "; ".join(messages)
        tags[f"note.{kind}"] = text if len(text) <= TAG_LIMIT else text[: TAG_LIMIT - 3] + "..."
    return tags
