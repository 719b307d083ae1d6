"""The `forecaster` command line: parse, then call one function of the package per subcommand.

Heavy libraries are imported inside the commands that need them, so `--help` and `predict` on a
local package never load Lightning or MLflow. Any config field can be overridden with its dotted
name (`--data.context_len 336`, `--model.attention local`, `--seed 7`). Errors the user can fix
print one message on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

OVERRIDES_HELP = (
    "any config field: --<section>.<field> VALUE (sections: data, model, trainer, tracking), "
    "or --seed N; e.g. --model.attention local --model.window 24 --data.context_len 336"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="forecaster", allow_abbrev=False,
        description="Which attention forecasts your series best, and at what cost. "
                    "Train, compare, serve and evaluate attention forecasters on CSV series.",
        epilog=f"Overrides: {OVERRIDES_HELP}.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser("data", help="inspect a data file", allow_abbrev=False)
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    inspect = data_sub.add_parser("inspect", help="say what forecaster detects in a CSV and whether it can train on it",
                                  allow_abbrev=False, epilog=f"Overrides: {OVERRIDES_HELP}.")
    inspect.add_argument("file", help="CSV file (wide or long layout)")
    inspect.add_argument("--config", help="YAML config whose data section to apply")
    inspect.add_argument("--context-len", type=int, help="input steps per window")
    inspect.add_argument("--horizon", type=int, help="forecast steps per window")

    train = sub.add_parser("train", help="train one model and log it to MLflow", allow_abbrev=False,
                           epilog=f"Overrides: {OVERRIDES_HELP}.")
    _common(train)
    train.add_argument("--save", metavar="DIR", help="also write the model package to DIR")
    train.add_argument("--register", metavar="NAME", help="register the model as NAME with alias 'champion'")

    compare = sub.add_parser("compare", help="train every variant (and seed) and rank them", allow_abbrev=False,
                             epilog=f"Overrides: {OVERRIDES_HELP}.")
    _common(compare)
    compare.add_argument("--variants", help="comma-separated variants (default: all): "
                         "global,causal,local,hybrid,dynamic,cross,lstm,naive,seasonal_naive,linear")
    compare.add_argument("--seeds", type=int, default=1, help="seeds per variant (default 1)")

    predict = sub.add_parser("predict", help="forecast the next horizon steps of every series", allow_abbrev=False)
    predict.add_argument("--model", required=True, help="model package directory or MLflow model URI")
    predict.add_argument("--data", required=True, help="CSV of recent history, in the training layout")
    predict.add_argument("--output", help="write the forecast CSV here (default: print it)")
    predict.add_argument("--horizon", type=int, help="steps to forecast (at most the trained horizon)")

    evaluate = sub.add_parser("evaluate", help="test-split metrics and an optional rolling-origin backtest",
                              allow_abbrev=False)
    evaluate.add_argument("--model", required=True, help="model package directory or MLflow model URI")
    evaluate.add_argument("--data", required=True, help="CSV in the training layout")
    evaluate.add_argument("--metrics-out", metavar="FILE", help="write the metrics as JSON")
    evaluate.add_argument("--backtest-windows", type=int, default=0, help="rolling origins to score (default 0: off)")
    evaluate.add_argument("--step", type=int, default=1, help="steps between rolling origins (default 1)")

    ui = sub.add_parser("ui", help="open the MLflow UI on 127.0.0.1 for the runs", allow_abbrev=False)
    ui.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    ui.add_argument("--tracking-uri", help="store to show (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)")
    return parser


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML config (see configs/)")
    p.add_argument("--data", dest="data_file", metavar="FILE", help="CSV to train on (same as --data.path)")
    p.add_argument("--metrics-out", metavar="FILE", help="write the final metrics as JSON")


def parse_overrides(extra: list[str]) -> list[tuple[str, str]]:
    """`--a.b VALUE` / `--a.b=VALUE` pairs from the arguments argparse did not know."""
    from forecaster.errors import ConfigError

    out, i = [], 0
    while i < len(extra):
        arg = extra[i]
        if not arg.startswith("--") or len(arg) < 3:
            raise ConfigError(f"unexpected argument '{arg}'; overrides look like --data.context_len 336")
        key, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(extra):
                raise ConfigError(f"--{key} needs a value")
            value, i = extra[i + 1], i + 1
        out.append((key, value))
        i += 1
    return out


def load_config(args, extra: list[str]):
    from forecaster.config import load

    overrides = parse_overrides(extra)
    if getattr(args, "data_file", None):
        overrides.insert(0, ("data.path", args.data_file))
    return load(args.config, overrides)


def write_json(data, path: str) -> None:
    from forecaster.atomic import write_text

    write_text(path, json.dumps(data, indent=2, default=float))


def cmd_inspect(args, extra) -> int:
    from forecaster.inspect import inspect_file

    cfg = load_config(args, extra)
    if args.context_len:
        cfg.data.context_len = args.context_len
    if args.horizon:
        cfg.data.horizon = args.horizon
    print(inspect_file(args.file, cfg.data))
    return 0


def cmd_train(args, extra) -> int:
    from forecaster.experiment import train

    cfg = load_config(args, extra)
    outcome = train(cfg, save=args.save, register=args.register)
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


def cmd_compare(args, extra) -> int:
    from rich.console import Console

    from forecaster.compare import compare, parse_variants, rich_table
    from forecaster.experiment import experiment_name
    from forecaster.tracking import tracking_uri

    cfg = load_config(args, extra)
    console = Console(width=None if sys.stdout.isatty() else 150)
    rows, summary = compare(cfg, variants=parse_variants(args.variants), seeds=args.seeds, console=console)
    console.print(rich_table(summary, title=f"{cfg.name}: test metrics on every window (ranked by MSE); "
                                            "p: Diebold-Mariano p-value of the best variant's advantage"))
    if args.metrics_out:
        write_json(rows, args.metrics_out)
    uri = tracking_uri(cfg.tracking.uri)
    if cfg.tracking.enabled and uri.startswith(("http://", "https://")):
        console.print(f"Runs are on the tracking server: open [bold]{uri}[/] (experiment '{experiment_name(cfg)}').")
    elif cfg.tracking.enabled:
        console.print(f"Runs are in {uri}. See them with: [bold].venv/bin/forecaster ui[/]  "
                      "(then open http://127.0.0.1:5000)")
    return 0


def cmd_predict(args, extra) -> int:
    from forecaster.package import load_any, write_csv

    package = load_any(args.model)
    table = package.forecast(package.read(args.data), args.horizon)
    if args.output:
        write_csv(table, args.output)
        print(f"wrote {len(table)} rows to {args.output}", file=sys.stderr)
    else:
        print(table.to_csv(index=False, float_format="%.8g"), end="")
    return 0


def cmd_evaluate(args, extra) -> int:
    from forecaster.evaluation import evaluate_package
    from forecaster.package import load_any

    metrics = evaluate_package(load_any(args.model), args.data, backtest_windows=args.backtest_windows,
                               step=args.step)
    for key, value in metrics.items():
        print(f"{key:>24}: {value:.6g}" if isinstance(value, float) else f"{key:>24}: {value}")
    if args.metrics_out:
        write_json(metrics, args.metrics_out)
    return 0


def cmd_ui(args, extra) -> int:
    from forecaster.tracking import tracking_uri

    uri = tracking_uri(args.tracking_uri)
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", "127.0.0.1",
               "--port", str(args.port)]
    print(f"MLflow UI for {uri} on http://127.0.0.1:{args.port} (Ctrl-C to stop)", file=sys.stderr)
    os.execv(sys.executable, command)
    return 0


COMMANDS = {"train": cmd_train, "compare": cmd_compare, "predict": cmd_predict, "evaluate": cmd_evaluate,
            "ui": cmd_ui}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    from forecaster.errors import ForecasterError

    try:
        if args.command in ("predict", "evaluate", "ui") and extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        handler = cmd_inspect if args.command == "data" else COMMANDS[args.command]
        return handler(args, extra)
    except ForecasterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
