"""The `forecaster` command line: parse, then call one function of the package per subcommand.

jsonargparse parses it; the config fields of `train`, `compare` and `data inspect` come from
forecaster.config's dataclasses, so `--help` lists each with its type and default and any can be
overridden by its dotted name (`--data.context_len 336`, `--model.attention local`, `--seed 7`).
Values typed on the command line win over the config file and its `variants:` entries. Heavy
libraries are imported inside the commands that need them, so `--help` and `predict` on a local
package never load Lightning or MLflow. Errors the user can fix print one message on stderr and
exit 2. SIGINT and SIGTERM during `train`, `compare` and `tune` end their MLflow runs KILLED, print one
line with the command that resumes them (`--resume RUN_ID`; for `tune`, the same command) and exit 130 / 143.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys

DESCRIPTION = (
    "Which attention forecasts your series best, and at what cost. "
    "Train, compare, serve and evaluate attention forecasters on CSV series."
)
CONFIG_HELP = (
    "Config fields below can be given as --<section>.<field> VALUE (lists as a,b or [a, b]; null for "
    "none) and override the --config file, and its variants: entries too."
)


def build_parser():
    """The jsonargparse parser of every command; config fields come from forecaster.config's dataclasses."""
    from jsonargparse import ArgumentParser

    from forecaster.config import VARIANTS

    def command(**kwargs) -> ArgumentParser:
        return ArgumentParser(exit_on_error=False, allow_abbrev=False, **kwargs)

    parser = command(prog="forecaster", description=DESCRIPTION)
    sub = parser.add_subcommands(dest="command", required=True, metavar="COMMAND")

    data = command()
    sub.add_subcommand("data", data, help="inspect a data file")
    inspect = command(description="Say what forecaster detects in a CSV and whether it can train on it. " + CONFIG_HELP)
    inspect.add_argument("file", help="CSV file (wide or long layout)")
    inspect.add_argument("--config", help="YAML config whose data section to apply")
    inspect.add_argument("--context-len", type=int, help="input steps per window")
    inspect.add_argument("--horizon", type=int, help="forecast steps per window")
    _auto(inspect)
    _config_fields(inspect)
    data.add_subcommands(dest="data_command", required=True, metavar="SUBCOMMAND").add_subcommand(
        "inspect", inspect, help="say what forecaster detects in a CSV and whether it can train on it"
    )

    train = command(description="Train one model and log it to MLflow. " + CONFIG_HELP)
    _common(train)
    train.add_argument("--save", metavar="DIR", help="also write the model package to DIR")
    train.add_argument("--register", metavar="NAME", help="register the model as NAME with alias 'champion'")
    train.add_argument(
        "--resume", metavar="RUN_ID", help="continue this stopped run (same settings) from its last epoch"
    )
    _config_fields(train)
    sub.add_subcommand("train", train, help="train one model and log it to MLflow")

    compare = command(description="Train every variant (and seed) and rank them. " + CONFIG_HELP)
    _common(compare)
    compare.add_argument(
        "--variants",
        help=f"comma-separated variants (default: all): {','.join(VARIANTS)}",
    )
    compare.add_argument("--seeds", type=int, default=1, help="seeds per variant")
    compare.add_argument(
        "--resume", metavar="RUN_ID", help="continue this stopped comparison (parent run): skip children that finished"
    )
    compare.add_argument("--save-best", metavar="DIR", help="write the validation winner's model package to DIR")
    compare.add_argument(
        "--register", metavar="NAME", help="register the validation winner as NAME with alias 'champion'"
    )
    compare.add_argument(
        "--ensemble-k", type=int, default=3, help="median ensemble of the K best variants by validation MSE (0/1: off)"
    )
    _fanout(compare)
    _config_fields(compare)
    sub.add_subcommand("compare", compare, help="train every variant (and seed) and rank them")

    tune = command(description="Tune a variant's settings on the validation loss (Optuna; MLflow runs). " + CONFIG_HELP)
    _common(tune)
    tune.add_argument("--variants", help="comma-separated variants to tune (default: the config's)")
    tune.add_argument("--trials", type=int, default=20, help="finished (complete or pruned) trials per variant")
    tune.add_argument("--timeout", type=float, help="stop starting trials after this many seconds")
    tune.add_argument("--study-db", metavar="URL", help="study database (default: optuna.db beside mlflow.db)")
    tune.add_argument("--best-out", metavar="FILE", help="best config YAML (default: out/tune-<name>.yaml)")
    _fanout(tune)
    _config_fields(tune)
    sub.add_subcommand("tune", tune, help="tune a variant's settings on the validation loss")

    predict = command(description="Forecast the next horizon steps of every series.")
    predict.add_argument("--model", required=True, help="model package directory or MLflow model URI")
    predict.add_argument("--data", required=True, help="CSV of recent history, in the training layout")
    predict.add_argument("--output", help="write the forecast CSV here (default: print it)")
    predict.add_argument("--horizon", type=int, help="steps to forecast (at most the trained horizon)")
    predict.add_argument("--level", help="prediction intervals, e.g. 80,90: adds <col>-lo-80, <col>-hi-80, ...")
    sub.add_subcommand("predict", predict, help="forecast the next horizon steps of every series")

    evaluate = command(description="Test-split metrics and an optional rolling-origin backtest.")
    evaluate.add_argument("--model", required=True, help="model package directory or MLflow model URI")
    evaluate.add_argument("--data", required=True, help="CSV in the training layout")
    evaluate.add_argument("--metrics-out", metavar="FILE", help="write the metrics as JSON")
    evaluate.add_argument("--backtest-windows", type=int, default=0, help="rolling origins to score (0: off)")
    evaluate.add_argument("--step", type=int, default=1, help="steps between rolling origins")
    sub.add_subcommand("evaluate", evaluate, help="test-split metrics and an optional rolling-origin backtest")

    report = command(description="Write a comparison (its parent run) as one self-contained HTML file.")
    report.add_argument("run_id", metavar="PARENT_RUN_ID", help="the comparison's parent run (compare-...)")
    report.add_argument("--output", default="report.html", help="HTML file to write (default: report.html)")
    report.add_argument(
        "--tracking-uri", help="store of the run (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)"
    )
    sub.add_subcommand("report", report, help="write a comparison as one self-contained HTML file")

    ui = command(description="Open the MLflow UI on 127.0.0.1 for the runs.")
    ui.add_argument("--port", type=int, default=5000, help="port")
    ui.add_argument("--tracking-uri", help="store to show (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)")
    sub.add_subcommand("ui", ui, help="open the MLflow UI on 127.0.0.1 for the runs")
    return parser


def _common(p) -> None:
    p.add_argument("--config", help="YAML config (see configs/)")
    p.add_argument("--metrics-out", metavar="FILE", help="write the final metrics as JSON")
    _auto(p)


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


def _config_fields(p) -> None:
    from forecaster.config import add_arguments

    add_arguments(p)
    data = next(a for a in p._actions if a.dest == "data")  # jsonargparse's section loader; config.command_line
    data.help, data.metavar = "CSV to train on (same as --data.path)", "FILE"  # turns --data FILE into --data.path


def load_config(args, given, extra=()):
    """The config of `--config` with the config fields given on the command line (they win over `variants:`),
    then `extra` (dotted name, value) pairs; every setting is checked (`forecaster.validation`)."""
    from forecaster.config import load
    from forecaster.validation import check_config

    return check_config(load(args.config, [*typed_settings(given), *extra]))


def typed_settings(given) -> list:
    """(dotted name, value) of the config fields typed on the command line."""
    from forecaster.config import COMMAND_LINE_KEYS, dotted

    return dotted({k: v for k, v in given.as_dict().items() if k in COMMAND_LINE_KEYS})


def derive_settings(args, given, cfg, extra=(), *, probe: bool = True):
    """With `--auto`: (cfg with the settings derived from its data, the derived settings), each printed
    with its reason on stderr; without it: (cfg, []). `probe`: choose context and loss on validation."""
    if not args.auto:
        return cfg, []
    from forecaster.auto import describe, explicit_keys
    from forecaster.auto_settings import apply

    typed = [k for k, _ in [*typed_settings(given), *extra]]
    cfg, derived = apply(cfg, explicit_keys(args.config, typed), probe=probe)
    if derived:
        print(describe(derived), file=sys.stderr)
    return cfg, derived


class NoteHandler(logging.Handler):
    """Each data note as one `note: ...` line on stderr (looked up when written, so tests capture it)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"note: {record.getMessage()}", file=sys.stderr)


def show_notes() -> None:
    """Print the data's notes (rows sorted, values filled or clipped, series dropped) on stderr."""
    from forecaster.data.notes import LOGGER

    if not any(isinstance(h, NoteHandler) for h in LOGGER.handlers):
        LOGGER.addHandler(NoteHandler())
        LOGGER.propagate = False


def write_json(data, path: str) -> None:
    from forecaster.atomic import write_text

    write_text(path, json.dumps(data, indent=2, default=float))


def cmd_inspect(args, given) -> int:
    from forecaster.inspect import inspect_file

    aliases = [(f"data.{k}", v) for k, v in (("context_len", args.context_len), ("horizon", args.horizon))]
    aliases = [(k, v) for k, v in aliases if v is not None]
    aliases.append(("data.path", args.file))
    cfg = load_config(args, given, aliases)  # `--horizon 0` is checked like `--data.horizon 0`
    cfg, _ = derive_settings(args, given, cfg, aliases, probe=False)  # inspect stays cheap: no fit
    if args.auto:
        also = "auto: train and compare --auto also choose the context and the linear model's loss on validation"
        print(also, file=sys.stderr)
    print(inspect_file(args.file, cfg.data))
    return 0


def cmd_train(args, given) -> int:
    from rich.console import Console

    from forecaster import progress
    from forecaster.config import with_variant
    from forecaster.experiment import train
    from forecaster.validation import check_trainable

    cfg, derived = derive_settings(args, given, load_config(args, given))
    cfg = check_trainable(with_variant(cfg, cfg.variant()))  # what `compare` trains for this variant
    with progress.display(Console(), total=1):
        outcome = train(cfg, save=args.save, register=args.register, resume=args.resume, derived=derived)
    metrics = {"variant": cfg.variant(), "seed": cfg.seed, **outcome.metrics}
    for key, value in metrics.items():
        print(f"{key:>24}: {value:.6g}" if isinstance(value, float) else f"{key:>24}: {value}")
    if outcome.model_uri:
        print(f"{'model':>24}: {outcome.model_uri}")
    if args.save:
        print(f"{'package':>24}: {args.save}")
    if args.metrics_out:
        write_json(metrics, args.metrics_out)
    return 0


def cmd_compare(args, given) -> int:
    from rich.console import Console

    from forecaster.compare import compare, deploy_line, parse_variants, rich_table
    from forecaster.experiment import experiment_name
    from forecaster.fanout import Plan
    from forecaster.tracking import tracking_uri

    cfg, derived = derive_settings(args, given, load_config(args, given))
    variants = parse_variants(args.variants)
    check_compare(cfg, variants, args.seeds)
    console = Console(width=None if sys.stdout.isatty() else 150)
    choice = {"ensemble_k": args.ensemble_k, "save_best": args.save_best, "register": args.register}
    choice["plan"] = Plan(workers=args.workers, address=args.ray_address)
    rows, summary = compare(
        cfg, variants=variants, seeds=args.seeds, console=console, resume=args.resume, derived=derived, **choice
    )
    console.print(
        rich_table(
            summary,
            title=f"{cfg.name}: test metrics on every window (ranked by MSE); "
            "p: Diebold-Mariano p-value of the best variant's advantage",
        )
    )
    console.print(deploy_line(summary))
    if args.metrics_out:
        write_json(rows, args.metrics_out)
    uri = tracking_uri(cfg.tracking.uri)
    if cfg.tracking.enabled and uri.startswith(("http://", "https://")):
        console.print(f"Runs are on the tracking server: open [bold]{uri}[/] (experiment '{experiment_name(cfg)}').")
    elif cfg.tracking.enabled:
        console.print(
            f"Runs are in {uri}. See them with: [bold].venv/bin/forecaster ui[/]  (then open http://127.0.0.1:5000)"
        )
    return 0


def check_compare(cfg, variants: list[str], seeds: int) -> None:
    """Every variant's settings, and the seeds cfg.seed .. cfg.seed + seeds - 1, before the parent run opens."""
    from forecaster.config import with_variant
    from forecaster.errors import out_of_range
    from forecaster.validation import SEED_LIMIT, check_at_least, check_trainable

    check_at_least("--seeds", seeds, 1)
    if cfg.seed + seeds > SEED_LIMIT:
        raise out_of_range("seed", cfg.seed, f"an integer in [0, {SEED_LIMIT - seeds}] with --seeds {seeds}")
    for variant in variants:
        check_trainable(with_variant(cfg, variant))


def cmd_tune(args, given) -> int:
    from rich.console import Console

    from forecaster.atomic import write_text
    from forecaster.compare import parse_variants
    from forecaster.config import dump_yaml
    from forecaster.fanout import Plan
    from forecaster.tune import check_tune, tune
    from forecaster.tune_report import rich_table, summary

    cfg, _ = derive_settings(args, given, load_config(args, given))  # --auto: the best YAML holds what it derived
    variants = parse_variants(args.variants or cfg.variant())
    check_tune(cfg, variants, args.trials, args.timeout)
    console = Console(width=None if sys.stdout.isatty() else 150)
    plan = Plan(workers=args.workers, address=args.ray_address)
    result = tune(
        cfg,
        variants=variants,
        trials=args.trials,
        timeout=args.timeout,
        study_db=args.study_db,
        console=console,
        plan=plan,
    )
    console.print(rich_table(result.studies, title=f"{cfg.name}: trials (* best of its variant, by validation loss)"))
    if args.metrics_out:
        write_json(summary(result.studies), args.metrics_out)
    if result.best is None:
        print("error: no trial completed (all pruned or invalid): no best config to write", file=sys.stderr)
        return 1
    path = args.best_out or f"out/tune-{cfg.name}.yaml"
    write_text(path, dump_yaml(result.best))
    console.print(f"{result.trials_run} trials run now. Best config: [bold]{path}[/]")
    console.print(f"Train it with: [bold]forecaster train --config {path}[/]")
    return 0


def cmd_predict(args, given) -> int:
    from forecaster.data.notes import report
    from forecaster.intervals import parse_levels
    from forecaster.loading import load_any
    from forecaster.package import write_csv

    levels = parse_levels(args.level) if args.level is not None else None  # checked before anything is read
    package = load_any(args.model)
    frame = package.read(args.data)
    report(frame.diagnostics)
    table = package.forecast(frame, args.horizon, levels)
    if args.output:
        write_csv(table, args.output)
        print(f"wrote {len(table)} rows to {args.output}", file=sys.stderr)
    else:
        print(table.to_csv(index=False, float_format="%.8g"), end="")
    return 0


def cmd_evaluate(args, given) -> int:
    from forecaster.evaluation import evaluate_package
    from forecaster.loading import load_any
    from forecaster.validation import check_at_least

    check_at_least("--backtest-windows", args.backtest_windows, 0)
    check_at_least("--step", args.step, 1)
    metrics = evaluate_package(load_any(args.model), args.data, backtest_windows=args.backtest_windows, step=args.step)
    for key, value in metrics.items():
        print(f"{key:>24}: {value:.6g}" if isinstance(value, float) else f"{key:>24}: {value}")
    if args.metrics_out:
        write_json(metrics, args.metrics_out)
    return 0


def cmd_report(args, given) -> int:
    from forecaster.report import write

    path = write(args.run_id, args.output, uri=args.tracking_uri)
    print(f"Wrote the report of comparison {args.run_id} to {path}")
    return 0


def cmd_ui(args, given) -> int:
    from forecaster.store import artifact_root
    from forecaster.tracking import tracking_uri

    uri = tracking_uri(args.tracking_uri)
    root = artifact_root(uri)  # a SQLite store's artifacts are beside it (runs record where exactly)
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(args.port),
        *(["--artifacts-destination", str(root)] if root is not None else []),
    ]
    print(f"MLflow UI for {uri} on http://127.0.0.1:{args.port} (Ctrl-C to stop)", file=sys.stderr)
    os.execv(sys.executable, command)
    return 0


COMMANDS = {
    "data": cmd_inspect,
    "train": cmd_train,
    "compare": cmd_compare,
    "tune": cmd_tune,
    "predict": cmd_predict,
    "evaluate": cmd_evaluate,
    "report": cmd_report,
    "ui": cmd_ui,
}


def main(argv: list[str] | None = None) -> int:
    from jsonargparse import ArgumentError

    from forecaster.config import argument_error, command_line
    from forecaster.errors import ForecasterError
    from forecaster.interrupts import Interrupted, handle_signals, message

    argv = typed = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["train"], ["compare"], ["tune"], ["data"]):
        argv = command_line(argv)
    parser = build_parser()
    show_notes()
    try:
        try:
            args = parser.parse_args(argv)
            given = parser.parse_args(argv, defaults=False)  # only what was typed: it wins over `variants:`
        except ArgumentError as exc:
            raise argument_error(str(exc)) from None
        command = args.command
        args, given = getattr(args, command), getattr(given, command)
        if command == "data":
            args, given = args.inspect, given.inspect
        with handle_signals() if command in ("train", "compare", "tune") else contextlib.nullcontext():
            return COMMANDS[command](args, given)
    except ForecasterError as exc:
        print(f"error: {exc.for_command(argv[0] if argv else None)}", file=sys.stderr)
        return exc.exit_code
    except Interrupted as exc:
        print(message(exc, typed), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
