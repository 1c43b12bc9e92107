"""How a stand-in runs from the command line, the same for the emulator and the SFTP server:
around a command (`-- COMMAND ...`, with the variables that point at it), or until Ctrl-C
after printing those variables for the user to export.

The command runs in a process group of its own, and SIGTERM or SIGINT (Ctrl-C) sent to the
stand-in is passed on to that whole group: `dagster dev` under `make ui` starts a webserver,
a daemon and a code server, and a signal that reached only the top process would leave them
running. Whatever of the group is still alive once the command has exited is ended too.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType

# How a stand-in is asked to stop: `kill` (SIGTERM) or Ctrl-C (SIGINT).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# How long what is left of a command's group gets after the command exited, before SIGKILL.
GRACE_SECONDS = 10.0


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


@contextmanager
def _on_stop(handler: Callable[[int], None]) -> Iterator[None]:
    """Call `handler(signal)` on SIGTERM and SIGINT instead of dying or raising
    KeyboardInterrupt; the previous handlers come back on exit."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        handler(signum)

    previous = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def end_group(pgid: int, grace: float = GRACE_SECONDS) -> None:
    """SIGTERM to what is left of process group `pgid`, then SIGKILL after `grace` seconds."""
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def run_with(command: list[str], env: dict[str, str]) -> int:
    """Run `command` with `env` added to this process's environment, in a process group of
    its own that SIGTERM and SIGINT are passed on to; its exit code (128 + the signal's
    number when a signal ended it, as a shell reports it).

    The handlers are in place before the command starts, so it starts with both signals at
    their defaults even when this process inherited them ignored (`nohup`, some supervisors):
    a handled signal is reset on exec, an ignored one would be passed on ignored."""
    started: list[subprocess.Popen[bytes]] = []
    asked: int | None = None  # the last stop asked for

    def forward(signum: int) -> None:
        nonlocal asked
        asked = signum
        if started:
            with suppress(ProcessLookupError):
                os.killpg(started[0].pid, signum)

    with _on_stop(forward):
        child = subprocess.Popen(command, env={**os.environ, **env}, process_group=0)
        started.append(child)
        try:
            if asked is not None:  # a stop that came while the command was starting
                forward(asked)
            code = child.wait()
        finally:
            # Grandchildren that outlived the command (or a command never waited for).
            end_group(child.pid)
            child.wait()
    return 128 - code if code < 0 else code


def print_exports(env: dict[str, str]) -> None:
    for name, value in env.items():
        print(f"export {name}='{value}'")


def wait_for_ctrl_c(announce: str) -> None:
    """Print `announce`, then serve until Ctrl-C or SIGTERM, quietly. The handlers are in
    place before the line is printed: whoever reads it may signal at once."""
    stop = threading.Event()
    with _on_stop(lambda _signum: stop.set()):
        print(announce, flush=True)
        while not stop.wait(0.5):
            pass
