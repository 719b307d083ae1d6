"""The command line's parser (`forecaster.parser`): the spellings it rewrites for jsonargparse, the
config fields in every config command's help (a description, the choices, the default said once),
the examples of each subcommand's epilog, and typed fields parsed as their types."""

from __future__ import annotations

import re
import shlex

import pytest
from conftest import ROOT, run_cli

from forecaster import parser as cli_parser
from forecaster.config import CHOICES, Config, flatten
from forecaster.errors import ConfigError
from forecaster.parser import build_parser, command_line

CONFIG_COMMANDS = [["train"], ["compare"], ["tune"], ["cross-validation"], ["data", "inspect"]]
EVERY_COMMAND = [[], ["data"], *CONFIG_COMMANDS, ["predict"], ["evaluate"], ["report"], ["ui"]]
EXAMPLES = {
    "data inspect": cli_parser.INSPECT_EXAMPLES,
    "train": cli_parser.TRAIN_EXAMPLES,
    "compare": cli_parser.COMPARE_EXAMPLES,
    "tune": cli_parser.TUNE_EXAMPLES,
    "cross-validation": cli_parser.CROSS_VALIDATION_EXAMPLES,
    "predict": cli_parser.PREDICT_EXAMPLES,
    "evaluate": cli_parser.EVALUATE_EXAMPLES,
    "report": cli_parser.REPORT_EXAMPLES,
    "ui": cli_parser.UI_EXAMPLES,
}


def help_text(capsys, *command: str) -> str:
    with pytest.raises(SystemExit):
        run_cli(capsys, *command, "--help")
    return capsys.readouterr().out


def help_entries(text: str) -> dict[str, tuple[str, str]]:
    """Option -> (its invocation `--data.fill {error,ffill,interpolate}`, its help text on one line)."""
    entries: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if re.match(r"^  --?\w", line):
            invocation, _, rest = line.strip().partition("  ")
            current = invocation.split()[0]
            entries[current] = [invocation, rest.strip()]
        elif current and line.startswith("    "):
            entries[current][1] = f"{entries[current][1]} {line.strip()}".strip()
        else:
            current = None
    return {k: (v[0], v[1]) for k, v in entries.items()}


def test_data_file_and_comma_lists_are_rewritten_and_nothing_else():
    given = ["train", "--data", "f.csv", "--data.targets", "a,b", "--data.static=store_type,size"]
    given += ["--data.context_len", "96", "--variants", "local,causal", "--data=g.csv"]
    assert command_line(given) == [
        "train", "--data.path", "f.csv", "--data.targets", '["a", "b"]', '--data.static=["store_type", "size"]',
        "--data.context_len", "96", "--variants", "local,causal", "--data.path=g.csv",
    ]  # fmt: skip


@pytest.mark.parametrize("command", CONFIG_COMMANDS, ids=" ".join)
def test_help_describes_every_config_field_and_shows_the_choices(command, capsys):
    entries = help_entries(help_text(capsys, *command))
    hidden = {"data.path"} if command == ["data", "inspect"] else set()  # inspect takes FILE
    for key in set(flatten(Config())) - hidden:
        invocation, description = entries[f"--{key}"]
        assert description and not description.startswith("("), f"--{key} has no description: {description!r}"
    for key, valid in CHOICES.items():
        invocation, description = entries[f"--{key}"]
        assert invocation == f"--{key} {{{','.join(valid)}}}" and "type:" not in description
        assert description.endswith(f"(default: {flatten(Config())[key]})")


@pytest.mark.parametrize("command", CONFIG_COMMANDS, ids=" ".join)
def test_help_lists_every_config_field_with_type_and_default(command, capsys):
    out = help_text(capsys, *command)
    entries = help_entries(out)
    for option, starts, ends in [
        ("--data.context_len CONTEXT_LEN", "Input steps", "(type: int, default: 96)"),
        ("--model.attention {global,causal,local,hybrid,dynamic,cross}", "The transformer's", "(default: causal)"),
        ("--trainer.devices DEVICES", "Devices to fit on", "(type: int | str, default: 1)"),
        ("--tracking.uri URI", "The tracking store", "(type: str | null, default: null)"),
        ("--seed SEED", "Seed of every random generator", "(type: int, default: 42)"),
    ]:
        invocation, description = entries[option.split()[0]]
        assert invocation == option and description.startswith(starts) and description.endswith(ends), option
    out = " ".join(out.split())
    assert "data: where the series come from and how they are cut into windows:" in out
    assert "tracking: MLflow: where runs go and what is logged:" in out


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: " ".join(c) or "forecaster")
def test_no_help_shows_a_class_or_an_unset_default(command, capsys):
    out = help_text(capsys, *command)
    assert "<class" not in out
    for option, (_, description) in help_entries(out).items():
        if "." not in option:  # a command's own option: no `default: null` that says nothing
            assert "default: null" not in description and "default: False" not in description, option


@pytest.mark.parametrize("command", [["train"], ["compare"], ["tune"], ["cross-validation"]], ids=" ".join)
def test_the_data_file_is_one_option_with_an_alias_and_one_default(command, capsys):
    out = help_text(capsys, *command)
    entries = help_entries(out)
    assert entries["--data"] == ("--data FILE", "alias of --data.path")
    assert entries["--data.path"][1].endswith("(type: str, default: datasets/ETTh1.csv)")
    assert " ".join(out.split()).count("default: datasets/ETTh1.csv") == 1


def test_data_inspect_takes_the_file_one_way(capsys):
    entries = help_entries(help_text(capsys, "data", "inspect"))
    assert "--data" not in entries and "--data.path" not in entries and "--config" in entries
    for given in (["--data", "other.csv"], ["--data.path", "other.csv"], ["--data=other.csv"]):
        with pytest.raises(ConfigError, match=r"data inspect takes the file as its argument, not --data"):
            command_line(["data", "inspect", "f.csv", *given])
    code, out, err = run_cli(capsys, "data", "inspect", ROOT / "datasets" / "ETTh1.csv", "--data.path", "x.csv")
    assert code == 2 and not out
    assert err == "error: data inspect takes the file as its argument, not --data.path: forecaster data inspect FILE\n"


@pytest.mark.parametrize("command", sorted(EXAMPLES))
def test_every_epilog_example_parses_and_names_files_that_exist(command, capsys):
    examples = EXAMPLES[command]
    assert 2 <= len(examples) <= 3 and "examples:" in help_text(capsys, *command.split())
    for line in examples:
        argv = shlex.split(line)
        assert argv[0] == "forecaster" and argv[1 : 1 + len(command.split())] == command.split()
        build_parser().parse_args(command_line(argv[1:]))
        for path in [a for a in argv if a.startswith(("datasets/", "configs/"))]:
            assert (ROOT / path).is_file(), f"{line}: {path} does not exist"


@pytest.mark.parametrize("value, expected", [("2", 2), ("auto", "auto")])
def test_devices_is_a_count_or_a_name(value, expected):
    args = build_parser().parse_args(["train", "--trainer.devices", value])
    assert args.train.trainer.devices == expected
