"""Typed configuration: nested dataclasses are the single source of truth.

The room holds the names the config takes (`choices`), the sections as dataclasses (`sections`) and the
reading of YAML and dotted overrides into them (`loading`). Every public name is re-exported here, so
`from forecaster.config import Config, load` works as it did when this was one module (old MLflow
models and notebooks import it so).
"""

from forecaster.config.choices import (
    ATTENTION_PATTERNS,
    BASELINES,
    CLASSICAL,
    LOSS_SCALES,
    MODEL_NAMES,
    VARIANTS,
    check_variant,
)
from forecaster.config.loading import (
    add_arguments,
    argument_error,
    dump_yaml,
    from_dict,
    list_value,
    load,
    override,
    read_yaml,
    with_variant,
)
from forecaster.config.sections import (
    COMMAND_LINE_KEYS,
    SECTIONS,
    YAML_ONLY,
    Config,
    DataConfig,
    ModelConfig,
    SelectionConfig,
    TrackingConfig,
    TrainerConfig,
    dotted,
    flatten,
    lightning,
    to_dict,
)

__all__ = [
    "ATTENTION_PATTERNS",
    "BASELINES",
    "CLASSICAL",
    "COMMAND_LINE_KEYS",
    "LOSS_SCALES",
    "MODEL_NAMES",
    "SECTIONS",
    "VARIANTS",
    "YAML_ONLY",
    "Config",
    "DataConfig",
    "ModelConfig",
    "SelectionConfig",
    "TrackingConfig",
    "TrainerConfig",
    "add_arguments",
    "argument_error",
    "check_variant",
    "dotted",
    "dump_yaml",
    "flatten",
    "from_dict",
    "lightning",
    "list_value",
    "load",
    "override",
    "read_yaml",
    "to_dict",
    "with_variant",
]
