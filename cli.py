"""The `forecaster` command line: parse, then call one function of the package per subcommand.

jsonargparse parses it (`forecaster.parser`); the config fields of `train`, `compare` and `data inspect` come from
forecaster.config's dataclasses, so `--help` lists each with its description, type or choices and default, and
any can be overridden by its dotted name (`--data.context_len 336`, `--model.attention local`, `--seed 7`).
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

from forecaster.parser import build_parser


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
    from forecaster.auto.apply import apply, explicit_keys
    from forecaster.auto.rules import describe

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


FILE_OPTIONS = ("metrics_out", "output", "best_out")  # the file outputs of the commands (`--metrics-out`, ...)


def check_outputs(command: str, args) -> None:
    """Every file a command will write, checked before it reads anything or opens a run
    (`forecaster.atomic.check_file`; cross-validation's table also by its suffix): a folder named where a
    file goes is refused in a second, not after the fit. Packages (`--save`, `--save-best`) and `--register`
    are checked with the config (`forecaster.fit.checks.check_deploy`), the first thing `train` and
    `compare` do after loading it."""
    from forecaster.atomic import check_file

    if command == "cross-validation" and args.output:
        from forecaster.compare.cross_validation import check_output

        check_output(args.output)
    for name in FILE_OPTIONS:
        if getattr(args, name, None):
            check_file(getattr(args, name), f"--{name.replace('_', '-')}")


def write_json(data, path: str) -> None:
    from forecaster.atomic import write_text

    write_text(path, json.dumps(data, indent=2, default=float))


def cmd_inspect(args, given) -> int:
    from forecaster.data.inspection import inspect_file

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
    from forecaster.auto.rules import as_records
    from forecaster.config import with_variant
    from forecaster.fit.checks import check_deploy, check_trainable
    from forecaster.fit.experiment import train

    refit = [("selection.refit", args.refit == "true")] if args.refit else []
    cfg = load_config(args, given, refit)
    check_deploy(cfg, args.save, args.register)  # before --auto reads the data
    cfg, derived = derive_settings(args, given, cfg, refit)
    cfg = check_trainable(with_variant(cfg, cfg.variant()))  # what `compare` trains for this variant
    with progress.display(Console(), total=1):
        outcome = train(cfg, save=args.save, register=args.register, resume=args.resume, derived=as_records(derived))
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

    from forecaster.compare.comparison import compare, parse_variants
    from forecaster.compare.fanout import Plan
    from forecaster.compare.table import deploy_line, rich_table
    from forecaster.fit.checks import check_deploy
    from forecaster.fit.experiment import experiment_name
    from forecaster.track.tracking import tracking_uri

    refit = [("selection.refit", args.refit == "true")] if args.refit else []
    cfg = load_config(args, given, refit)
    check_deploy(cfg, args.save_best, args.register, save_option="--save-best")  # before --auto reads the data
    cfg, derived = derive_settings(args, given, cfg, refit)
    variants = parse_variants(args.variants)
    console = Console(width=None if sys.stdout.isatty() else 150)
    choice = {"ensemble_k": args.ensemble_k, "save_best": args.save_best, "register": args.register}
    choice["plan"] = Plan(workers=args.workers, address=args.ray_address)
    choice["classical_by_cost"] = not args.variants  # all variants: ets, theta, arima where the data are small
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
        write_json([row.to_json() for row in rows], args.metrics_out)
    uri = tracking_uri(cfg.tracking.uri)
    if cfg.tracking.enabled and uri.startswith(("http://", "https://")):
        console.print(f"Runs are on the tracking server: open [bold]{uri}[/] (experiment '{experiment_name(cfg)}').")
    elif cfg.tracking.enabled:
        console.print(
            f"Runs are in {uri}. See them with: [bold].venv/bin/forecaster ui[/]  (then open http://127.0.0.1:5000)"
        )
    return 0


def cmd_tune(args, given) -> int:
    from rich.console import Console

    from forecaster.atomic import check_file, write_text
    from forecaster.compare.comparison import parse_variants
    from forecaster.compare.fanout import Plan
    from forecaster.config import dump_yaml
    from forecaster.tune.report import rich_table, summary
    from forecaster.tune.tuner import check_tune, tune

    cfg = load_config(args, given)
    path = check_file(args.best_out or f"out/tune-{cfg.name}.yaml", "--best-out")  # `name` holds no path (RULES)
    cfg, _ = derive_settings(args, given, cfg)  # --auto: the best YAML holds what it derived
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
    write_text(path, dump_yaml(result.best))
    console.print(f"{result.trials_run} trials run now. Best config: [bold]{path}[/]")
    console.print(f"Train it with: [bold]forecaster train --config {path}[/]")
    return 0


def cmd_cross_validation(args, given) -> int:
    from rich.console import Console

    from forecaster.compare import cross_validation as cv
    from forecaster.compare.comparison import parse_variants

    cfg, _ = derive_settings(args, given, load_config(args, given), probe=False)  # no probe: it reads every row
    variants = parse_variants(args.variants or cfg.variant())
    console = Console(width=None if sys.stdout.isatty() else 150)
    settings = {"n_windows": args.n_windows, "step": args.step, "refit": args.refit}
    result = cv.run(cfg, variants=variants, console=console, **settings)
    title = f"{cfg.name}: every window of every series ({args.n_windows} per series, refit {args.refit})"
    console.print(cv.rich_scores(result.scores, title=title))
    if args.metrics_out:
        write_json(result.scores, args.metrics_out)
    if args.output:
        cv.write_table(result.table, args.output)
        console.print(f"Wrote {len(result.table)} rows to {args.output}")
    else:
        console.print(f"{len(result.table)} rows: write them with --output FILE (.csv or .parquet)")
    if result.run_id is not None:
        console.print(f"Parent run {result.run_id} (kind {cv.KIND}) holds the table and a child run per fit.")
    return 0


def cmd_predict(args, given) -> int:
    from forecaster.data.notes import report
    from forecaster.scores.intervals import parse_levels
    from forecaster.serve.loading import load_any
    from forecaster.serve.package import write_csv

    levels = parse_levels(args.level) if args.level is not None else None  # checked before anything is read
    package = load_any(args.model, device=args.device)
    frame = package.read(args.data)
    report(frame.diagnostics)
    table = package.forecast(frame, args.horizon, levels, extend=args.extend)
    if args.output:
        write_csv(table, args.output)
        print(f"wrote {len(table)} rows to {args.output}", file=sys.stderr)
    else:
        print(table.to_csv(index=False, float_format="%.8g"), end="")
    return 0


def cmd_evaluate(args, given) -> int:
    from forecaster.serve.evaluation import evaluate_package
    from forecaster.serve.loading import load_any
    from forecaster.validation import check_at_least

    check_at_least("--backtest-windows", args.backtest_windows, 0)
    check_at_least("--step", args.step, 1)
    package = load_any(args.model, device=args.device)
    metrics = evaluate_package(package, args.data, backtest_windows=args.backtest_windows, step=args.step)
    if metrics["in_sample"]:
        print(
            "note: this model was refitted on every row of its training file (--refit true), the test period "
            "included: on that file these scores are in-sample, not held out. For held-out scores, evaluate the "
            "validated fit (train with --refit false), or a file of rows newer than the training file.",
            file=sys.stderr,
        )
    for key, value in metrics.items():
        print(f"{key:>24}: {value:.6g}" if isinstance(value, float) else f"{key:>24}: {value}")
    if args.metrics_out:
        write_json(metrics, args.metrics_out)
    return 0


def cmd_report(args, given) -> int:
    from forecaster.compare.report import write

    path = write(args.run_id, args.output, uri=args.tracking_uri)
    print(f"Wrote the report of comparison {args.run_id} to {path}")
    return 0


def cmd_ui(args, given) -> int:
    from forecaster.track.store import artifact_root
    from forecaster.track.tracking import tracking_uri

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
    "cross-validation": cmd_cross_validation,
    "predict": cmd_predict,
    "evaluate": cmd_evaluate,
    "report": cmd_report,
    "ui": cmd_ui,
}


def main(argv: list[str] | None = None) -> int:
    from jsonargparse import ArgumentError

    from forecaster.config import argument_error
    from forecaster.errors import ForecasterError
    from forecaster.interrupts import Interrupted, handle_signals, message
    from forecaster.parser import command_line

    argv = typed = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    show_notes()
    try:
        if argv[:1] in (["train"], ["compare"], ["tune"], ["cross-validation"], ["data"]):
            argv = command_line(argv)  # `data inspect --data FILE` is refused here
        try:
            args = parser.parse_args(argv)
            given = parser.parse_args(argv, defaults=False)  # only what was typed: it wins over `variants:`
        except ArgumentError as exc:
            raise argument_error(str(exc)) from None
        command = args.command
        args, given = getattr(args, command), getattr(given, command)
        if command == "data":
            args, given = args.inspect, given.inspect
        check_outputs(command, args)
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
