"""`edl --help` and every subcommand's help teach: an example each, a help line for every
option, the environment variables, the same exit codes on every verifying command; `--version`."""

from __future__ import annotations

import argparse

import pytest

import edl
from edl.cli import build_parser, main
from edl.cli.common import EXIT_CODES_HELP

ENVIRONMENT = ("EDL_KEYSTORE_PASSPHRASE", "EDL_HOME", "EDL_PKCS11_PIN")
VERIFYING = ("verify", "mdoc verify", "trust show")


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(path, parser) for the top level and every command and group below it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name))


COMMANDS = {" ".join(path): parser for path, parser in _walk(build_parser())}


def test_the_walk_finds_every_command():
    """A negative control: a broken walk would make the tests below pass on nothing."""
    assert {"demo", "verify", "issue", "wallet qr", "mdoc verify", "city init", "trust show"} <= set(COMMANDS)
    assert len(COMMANDS) >= 24


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=lambda c: c or "edl")
def test_every_command_shows_an_example(command):
    assert "Example" in COMMANDS[command].format_help()


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=lambda c: c or "edl")
def test_every_option_has_a_help_line(command):
    parser = COMMANDS[command]
    silent = [
        action.dest
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction)
        and (not action.help or action.help == argparse.SUPPRESS or not action.help.strip())
    ]
    assert silent == [], f"edl {command}: options without help: {silent}"


@pytest.mark.parametrize("name", ENVIRONMENT)
def test_top_level_help_names_the_environment(name):
    assert name in COMMANDS[""].format_help()


@pytest.mark.parametrize("command", VERIFYING)
def test_verifying_commands_list_the_same_exit_codes(command):
    assert EXIT_CODES_HELP in COMMANDS[command].format_help()
    assert all(f"  {code}  " in EXIT_CODES_HELP for code in "0123")


def test_version_exits_0_with_the_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"edl {edl.__version__}\n"
