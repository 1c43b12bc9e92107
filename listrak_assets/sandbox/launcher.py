"""How a stand-in runs from the command line, the same for the emulator and the SFTP server:
around a command (`-- COMMAND ...`, with the variables that point at it), or until Ctrl-C
after printing those variables for the user to export."""

from __future__ import annotations

import argparse
import os
import subprocess
import threading
from contextlib import suppress


def add_command_arguments(
    parser: argparse.ArgumentParser, *, configured_by: str, stand_in: str
) -> None:
    """`--unless-configured` and the `-- COMMAND` to run against the stand-in."""
    parser.add_argument(
        "--unless-configured",
        action="store_true",
        help=f"with a command: when {configured_by} is already set, run it without the {stand_in}",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND to run against it")


def command_of(args: argparse.Namespace) -> list[str]:
    """The command after `--`; empty when there is none (serve until Ctrl-C)."""
    return args.command[1:] if args.command[:1] == ["--"] else args.command


def already_configured(args: argparse.Namespace, configured_by: str) -> bool:
    """A command was given with `--unless-configured`, and the environment already points
    somewhere real: run the command without the stand-in."""
    return bool(command_of(args) and args.unless_configured and os.environ.get(configured_by))


def run_with(command: list[str], env: dict[str, str]) -> int:
    """Run `command` with `env` added to this process's environment; its exit code."""
    return subprocess.call(command, env={**os.environ, **env})


def print_exports(env: dict[str, str]) -> None:
    for name, value in env.items():
        print(f"export {name}='{value}'")


def wait_for_ctrl_c() -> None:
    with suppress(KeyboardInterrupt):
        threading.Event().wait()
