"""Plain torch networks. Nothing here imports Lightning, MLflow or the config, does I/O, or moves devices.

Every constructor takes keyword-only arguments; `forecaster.models.build_network` translates the
model section of the config into them. Invalid arguments raise `ValueError`; each rule is stated
once, in a `*_problems` function beside the module it guards, which `forecaster.models` also calls
(with the config's names) to report a bad setting before anything is built.

Every network subclasses `forecaster.nn.common.Network` and declares what it can do on its class
(`TRAINABLE`, `HAS_QUANTILES`, `NEEDS_UNITS`, `SHOWS_ATTENTION`, `COVARIATES`; documented there):
callers read the declarations, never probe for methods. The attention patterns' names are the keys
of `forecaster.nn.patterns.PATTERNS`, a module that imports nothing, so the config can read them.

Shape letters, used in every shape comment of the package:

    B  batch                         N  tokens (patches)
    L  context steps (context_len)   P  patch length
    H  horizon steps                 D  model width (d_model)
    F  input features (columns,      nh heads
       targets first)                hd head width
    K  target columns                S  key positions
                                     W  local window

Covariates (`forecaster.nn.covariates`): Fk future-known features (the last Fk of the F), Z static
covariates.

B' is the batch the encoder sees: B * F when channel-independent (one sequence per channel), else B.
"""
