"""The `forecaster` command line's parser: subcommands, their options and the config fields.

jsonargparse builds it; the config fields of `train`, `compare`, `tune`, `cross-validation` and `data inspect`
come from forecaster.config's dataclasses, so `--help` lists each with its description (the field's
docstring, `forecaster.config.sections.field_docs`), its type or choices (a `Literal` field shows
`{error,ffill,interpolate}`) and its default, under one group per section. Each subcommand's epilog
gives examples that run on the repository's `datasets/`. Imports nothing heavy: `--help` stays fast.
The commands themselves are in `cli.py`.
"""

from __future__ import annotations

import json
import typing
from functools import lru_cache

from forecaster.config.choices import EXTENDS
from forecaster.errors import ConfigError

DESCRIPTION = (
    "Which attention forecasts your series best, and at what cost. "
    "Train, compare, serve and evaluate attention forecasters on CSV series."
)
CONFIG_HELP = (
    "Config fields below can be given as --<section>.<field> VALUE (lists as a,b or [a, b]; null for "
    "none) and override the --config file, and its variants: entries too."
)

# each subcommand's epilog: command lines that run on the repository's datasets/ (tests/test_parser.py parses them)
INSPECT_EXAMPLES = (
    "forecaster data inspect datasets/ETTh1.csv",
    "forecaster data inspect datasets/demo_long.csv --auto",
    "forecaster data inspect datasets/ETTh1.csv --context-len 336 --horizon 96 --data.split ett",
)
TRAIN_EXAMPLES = (
    "forecaster train --config configs/quick.yaml --save out/quick --register quick",
    "forecaster train --data datasets/ETTh1.csv --model.attention local --trainer.max_epochs 3",
    "forecaster train --data datasets/demo_long.csv --auto --model.name linear",
)
COMPARE_EXAMPLES = (
    "forecaster compare --config configs/quick.yaml",
    "forecaster compare --config configs/quick.yaml --variants causal,local,lstm,naive --seeds 3",
    "forecaster compare --data datasets/demo_long.csv --auto --save-best out/best",
)
TUNE_EXAMPLES = (
    "forecaster tune --config configs/search.yaml --variants causal,local --trials 20",
    "forecaster tune --config configs/quick.yaml --variants lstm --timeout 600",
)
CROSS_VALIDATION_EXAMPLES = (
    "forecaster cross-validation --config configs/quick.yaml --variants causal,naive --output out/cv.csv",
    "forecaster cross-validation --data datasets/demo_long.csv --auto --n-windows 4 --refit 1",
)
PREDICT_EXAMPLES = (
    "forecaster predict --model out/quick --data datasets/ETTh1.csv",
    "forecaster predict --model out/quick --data datasets/ETTh1.csv --level 80,90 --output out/forecast.csv",
    "forecaster predict --model models:/quick@champion --data datasets/ETTh1.csv --horizon 12",
)
EVALUATE_EXAMPLES = (
    "forecaster evaluate --model out/quick --data datasets/ETTh1.csv --metrics-out out/metrics.json",
    "forecaster evaluate --model out/quick --data datasets/ETTh1.csv --backtest-windows 10 --step 24",
)
REPORT_EXAMPLES = (
    "forecaster report PARENT_RUN_ID",
    "forecaster report PARENT_RUN_ID --output out/report.html --tracking-uri sqlite:///mlflow.db",
)
UI_EXAMPLES = (
    "forecaster ui",
    "forecaster ui --port 5001 --tracking-uri sqlite:///mlflow.db",
)


def build_parser():
    """The jsonargparse parser of every command; config fields come from forecaster.config's dataclasses."""
    parser = _command(prog="forecaster", description=DESCRIPTION)
    sub = parser.add_subcommands(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def _command(examples: tuple[str, ...] = (), **kwargs):
    from jsonargparse import ArgumentParser

    epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples) if examples else None
    return ArgumentParser(
        exit_on_error=False, allow_abbrev=False, formatter_class=_formatter(), epilog=epilog, **kwargs
    )


@lru_cache(maxsize=1)
def _formatter():
    """jsonargparse's help formatter, less what says nothing: a choice's type (its metavar lists the values),
    a command option's unset default (`default: null`), and the epilog's examples kept as written."""
    from jsonargparse import DefaultHelpFormatter

    class HelpFormatter(DefaultHelpFormatter):
        def _get_type_str(self, action):
            if typing.get_origin(getattr(action, "_typehint", None)) is typing.Literal:
                return None
            return super()._get_type_str(action)

        def _get_help_string(self, action):
            text = super()._get_help_string(action)
            if "." not in action.dest and action.default in (None, False):  # a command's option, not a field
                text = text.replace(" (default: %(default)s)", "").replace(", default: %(default)s)", ")")
            return text

        def _fill_text(self, text, width, indent):
            if text.startswith("examples:"):
                return "\n".join(indent + line for line in text.splitlines())
            return super()._fill_text(text, width, indent)

    return HelpFormatter


def _data(sub) -> None:
    data = _command()
    sub.add_subcommand("data", data, help="inspect a data file")  # before its own subcommands (jsonargparse)
    inspect = _command(
        INSPECT_EXAMPLES,
        description="Say what forecaster detects in a CSV and whether it can train on it. " + CONFIG_HELP,
    )
    inspect.add_argument("file", metavar="FILE", help="CSV file (wide or long layout)")
    inspect.add_argument("--config", help="YAML config whose settings to apply (its data.path aside: the file is FILE)")
    inspect.add_argument("--context-len", type=int, help="alias of --data.context_len")
    inspect.add_argument("--horizon", type=int, help="alias of --data.horizon")
    _auto(inspect)
    _config_fields(inspect, data_file=False)
    data.add_subcommands(dest="data_command", required=True, metavar="SUBCOMMAND").add_subcommand(
        "inspect", inspect, help="say what forecaster detects in a CSV and whether it can train on it"
    )


def _train(sub) -> None:
    train = _command(TRAIN_EXAMPLES, description="Train one model and log it to MLflow. " + CONFIG_HELP)
    _common(train)
    train.add_argument("--save", metavar="DIR", help="also write the model package to DIR")
    train.add_argument("--register", metavar="NAME", help="register the model as NAME with alias 'champion'")
    _refit(train)
    train.add_argument(
        "--resume", metavar="RUN_ID", help="continue this stopped run (same settings) from its last epoch"
    )
    _config_fields(train)
    sub.add_subcommand("train", train, help="train one model and log it to MLflow")


def _compare(sub) -> None:
    from forecaster.config import VARIANTS

    compare = _command(COMPARE_EXAMPLES, description="Train every variant (and seed) and rank them. " + CONFIG_HELP)
    _common(compare)
    compare.add_argument(
        "--variants",
        help=f"comma-separated variants (default: all, the classical ets, theta, arima only where their fits "
        f"on the data are cheap): {','.join(VARIANTS)}",
    )
    compare.add_argument("--seeds", type=int, default=1, help="seeds per variant")
    compare.add_argument(
        "--resume", metavar="RUN_ID", help="continue this stopped comparison (parent run): skip children that finished"
    )
    compare.add_argument("--save-best", metavar="DIR", help="write the validation winner's model package to DIR")
    compare.add_argument(
        "--register", metavar="NAME", help="register the validation winner as NAME with alias 'champion'"
    )
    _refit(compare)
    compare.add_argument(
        "--ensemble-k", type=int, default=3, help="median ensemble of the K best variants by validation MSE (0/1: off)"
    )
    _fanout(compare)
    _config_fields(compare)
    sub.add_subcommand("compare", compare, help="train every variant (and seed) and rank them")


def _tune(sub) -> None:
    tune = _command(
        TUNE_EXAMPLES,
        description="Tune a variant's settings on the validation loss (Optuna; MLflow runs). " + CONFIG_HELP,
    )
    _common(tune)
    tune.add_argument("--variants", help="comma-separated variants to tune (default: the config's)")
    tune.add_argument("--trials", type=int, default=20, help="finished (complete or pruned) trials per variant")
    tune.add_argument("--timeout", type=float, help="stop starting trials after this many seconds")
    tune.add_argument("--study-db", metavar="URL", help="study database (default: optuna.db beside mlflow.db)")
    tune.add_argument("--best-out", metavar="FILE", help="best config YAML (default: out/tune-<name>.yaml)")
    _fanout(tune)
    _config_fields(tune)
    sub.add_subcommand("tune", tune, help="tune a variant's settings on the validation loss")


def _cross_validation(sub) -> None:
    from forecaster.config import VARIANTS

    cv = _command(
        CROSS_VALIDATION_EXAMPLES,
        description="Forecast several cutoffs per series, each from a fit on the rows before it, as a table "
        "(unique_id, ds, cutoff, y, <variant>, <variant>-lo-80, ...) with each variant's scores. " + CONFIG_HELP,
    )
    _common(cv)
    cv.add_argument("--variants", help=f"comma-separated variants (default: the config's): {','.join(VARIANTS)}")
    cv.add_argument("--n-windows", type=int, default=3, help="forecast windows per series, the newest at its end")
    cv.add_argument("--step", type=int, help="rows between windows (default: the horizon)")
    cv.add_argument(
        "--refit", type=int, default=0, help="fit before every K-th window (1: before each); 0: once, before the oldest"
    )
    cv.add_argument("--output", metavar="FILE", help="write the table here: .csv or .parquet")
    _config_fields(cv)
    sub.add_subcommand("cross-validation", cv, help="forecast several cutoffs per series, each from a fit before it")


DEVICE_HELP = "where the network runs: cpu, cuda, cuda:N, mps or auto (a GPU if torch sees one); default cpu"


def _predict(sub) -> None:
    predict = _command(PREDICT_EXAMPLES, description="Forecast the next horizon steps of every series.")
    predict.add_argument("--model", required=True, help="model package directory or MLflow model URI")
    predict.add_argument("--data", required=True, help="CSV of recent history, in the training layout")
    predict.add_argument("--output", help="write the forecast CSV here (default: print it)")
    predict.add_argument("--horizon", type=int, help="steps to forecast (default: the trained horizon)")
    predict.add_argument(
        "--extend",
        default="none",
        choices=list(EXTENDS),
        help="beyond the trained horizon: none (refused, with the fix) or recursive (forecasts fed back as "
        "inputs; errors compound)",
    )
    predict.add_argument("--level", help="prediction intervals, e.g. 80,90: adds <col>-lo-80, <col>-hi-80, ...")
    predict.add_argument("--device", default="cpu", help=DEVICE_HELP)
    sub.add_subcommand("predict", predict, help="forecast the next horizon steps of every series")


def _evaluate(sub) -> None:
    evaluate = _command(EVALUATE_EXAMPLES, description="Test-split metrics and an optional rolling-origin backtest.")
    evaluate.add_argument("--model", required=True, help="model package directory or MLflow model URI")
    evaluate.add_argument("--data", required=True, help="CSV in the training layout")
    evaluate.add_argument("--metrics-out", metavar="FILE", help="write the metrics as JSON")
    evaluate.add_argument("--backtest-windows", type=int, default=0, help="rolling origins to score (0: off)")
    evaluate.add_argument("--step", type=int, default=1, help="steps between rolling origins")
    evaluate.add_argument("--device", default="cpu", help=DEVICE_HELP)
    sub.add_subcommand("evaluate", evaluate, help="test-split metrics and an optional rolling-origin backtest")


def _report(sub) -> None:
    report = _command(
        REPORT_EXAMPLES, description="Write a comparison (its parent run) as one self-contained HTML file."
    )
    report.add_argument("run_id", metavar="PARENT_RUN_ID", help="the comparison's parent run (compare-...)")
    report.add_argument("--output", default="report.html", help="HTML file to write (default: report.html)")
    report.add_argument(
        "--tracking-uri", help="store of the run (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)"
    )
    sub.add_subcommand("report", report, help="write a comparison as one self-contained HTML file")


def _ui(sub) -> None:
    ui = _command(UI_EXAMPLES, description="Open the MLflow UI on 127.0.0.1 for the runs.")
    ui.add_argument("--port", type=int, default=5000, help="port")
    ui.add_argument("--tracking-uri", help="store to show (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)")
    sub.add_subcommand("ui", ui, help="open the MLflow UI on 127.0.0.1 for the runs")


# `forecaster --help`'s order
SUBCOMMANDS = (_data, _train, _compare, _tune, _cross_validation, _predict, _evaluate, _report, _ui)


def _common(p) -> None:
    p.add_argument("--config", help="YAML config (see configs/)")
    p.add_argument("--metrics-out", metavar="FILE", help="write the final metrics as JSON")
    _auto(p)


def _refit(p) -> None:
    p.add_argument(
        "--refit",
        choices=["true", "false"],
        help="what --save / --register deploy: the chosen settings fitted again on every row (true, the default) "
        "or the fit that was validated (false); the same as --selection.refit",
    )


def _fanout(p) -> None:
    p.add_argument("--workers", type=int, default=0, help="fit N at once on a local Ray (cores/N threads each)")
    p.add_argument("--ray-address", metavar="ADDR", help="run the fits on this Ray cluster (`ray start --head`)")


def _auto(p) -> None:
    p.add_argument(
        "--auto",
        action="store_true",
        help="derive the settings you did not give (horizon, context, split, patches, window, batch, epochs) "
        "from the data's frequency and series lengths; each is printed with its reason",
    )


def _config_fields(p, *, data_file: bool = True) -> None:
    """The config's fields as options, under a group per section titled `data: where the series come from ...`.

    `--data FILE` is the alias of `--data.path` (command_line rewrites it); `data inspect` takes its
    file as its argument, so there (`data_file=False`) neither is shown and command_line refuses both."""
    from argparse import SUPPRESS

    from forecaster.config import SECTIONS, add_arguments, field_docs

    add_arguments(p)
    docs = field_docs()
    for name, section in SECTIONS.items():
        summary = section.__doc__.split("\n\n")[0].strip().rstrip(".")
        summary = summary if summary[1:2].isupper() else summary[0].lower() + summary[1:]  # MLflow stays
        p.groups[name].title = f"{name}: {summary}"
    for action in p._actions:
        if action.dest in SECTIONS:  # jsonargparse's loader of one section's YAML file
            action.help = f"a YAML file of {action.dest}.* settings"
        elif action.dest in docs:
            action.help = docs[action.dest]
    data = next(a for a in p._actions if a.dest == "data")  # jsonargparse's section loader, repurposed
    data.help, data.metavar = "alias of --data.path", "FILE"
    if not data_file:
        for action in p._actions:
            if action.dest in ("data", "data.path"):
                action.help = SUPPRESS


def command_line(argv: list[str]) -> list[str]:
    """Spellings jsonargparse does not know: `--data FILE` is `--data.path FILE`; `a,b` in a list field is a list.
    `data inspect` takes its file one way, as its argument: `--data` or `--data.path` there is an error."""
    if argv[:2] == ["data", "inspect"]:
        given = [arg for arg in argv if arg.partition("=")[0] in ("--data", "--data.path")]
        if given:
            raise ConfigError(
                f"data inspect takes the file as its argument, not {given[0].partition('=')[0]}: "
                "forecaster data inspect FILE"
            )
    out: list[str] = []
    for arg in argv:
        if arg == "--data" or arg.startswith("--data="):
            arg = "--data.path" + arg[len("--data") :]
        option, eq, value = arg.partition("=")
        if eq and option.startswith("--"):
            arg = f"{option}={_list_arg(option, value)}"
        elif out and out[-1].startswith("--") and "=" not in out[-1] and not arg.startswith("--"):
            arg = _list_arg(out[-1], arg)
        out.append(arg)
    return out


def _list_arg(option: str, text: str) -> str:
    from forecaster.config import SECTIONS, list_value

    section, _, name = option[2:].partition(".")
    if section not in SECTIONS or name not in typing.get_type_hints(SECTIONS[section]):
        return text
    value = list_value(section, name, text)
    return json.dumps(value) if isinstance(value, list) else text
