"""The command line's parser (`forecaster.parser`): the spellings it rewrites for jsonargparse, the
config fields in every config command's help, and typed fields parsed as their types."""

from __future__ import annotations

import pytest
from conftest import run_cli

from forecaster.parser import build_parser, command_line


def test_data_file_and_comma_lists_are_rewritten_and_nothing_else():
    given = ["train", "--data", "f.csv", "--data.targets", "a,b", "--data.static=store_type,size"]
    given += ["--data.context_len", "96", "--variants", "local,causal", "--data=g.csv"]
    assert command_line(given) == [
        "train", "--data.path", "f.csv", "--data.targets", '["a", "b"]', '--data.static=["store_type", "size"]',
        "--data.context_len", "96", "--variants", "local,causal", "--data.path=g.csv",
    ]  # fmt: skip


@pytest.mark.parametrize("command", [["train"], ["compare"], ["tune"], ["cross-validation"], ["data", "inspect"]])
def test_help_lists_every_config_field_with_type_and_default(command, capsys):
    with pytest.raises(SystemExit):
        run_cli(capsys, *command, "--help")
    out = " ".join(capsys.readouterr().out.split())
    for option, shown in [
        ("--data.context_len CONTEXT_LEN", "(type: int, default: 96)"),
        ("--model.attention ATTENTION", "(type: str, default: causal)"),
        ("--trainer.devices DEVICES", "(type: int | str, default: 1)"),
        ("--tracking.uri URI", "(type: str | null, default: null)"),
        ("--seed SEED", "(type: int, default: 42)"),
    ]:
        assert f"{option} {shown}" in out
    assert "--data FILE CSV to train on (same as --data.path)" in out


@pytest.mark.parametrize("value, expected", [("2", 2), ("auto", "auto")])
def test_devices_is_a_count_or_a_name(value, expected):
    args = build_parser().parse_args(["train", "--trainer.devices", value])
    assert args.train.trainer.devices == expected
