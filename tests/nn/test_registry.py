"""The registry from model name to class (`forecaster.nn.registry`) against the config's trainable families."""

from __future__ import annotations

from forecaster.nn.registry import MODELS
from forecaster.validation import FAMILIES


def test_the_trainable_families_of_validation_are_the_registry_s():
    assert tuple(name for name, cls in MODELS.items() if cls.TRAINABLE) == FAMILIES
