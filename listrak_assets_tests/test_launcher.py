"""Stopping the stand-ins: `make ui` runs `dagster dev` under the emulator and the SFTP server,
and a SIGTERM or Ctrl-C sent to the outer one must end everything beneath it, quietly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Stands in for `dagster dev`: a process that starts a child of its own (as dagster dev starts
# the webserver, daemon and code server), writes the ids of the whole chain, then waits. Both
# die of SIGINT without Python's KeyboardInterrupt traceback (the child is `sleep`, which can't
# be caught half-started inside Python), so any traceback is the wrappers'.
_COMMAND = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_DFL)
child = subprocess.Popen(["sleep", "300"])
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(f"{os.getppid()} {os.getpid()} {child.pid}")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(300)
"""


def _running(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_for(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} was not written"
        time.sleep(0.1)


def _ignore_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


# The third case: a shell or supervisor started the stand-in with SIGTERM ignored (`nohup`-
# like). The stand-ins handle it themselves, and their command must not inherit it ignored.
@pytest.mark.parametrize(
    ("sig", "caller_ignores"),
    [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGTERM, True)],
    ids=["SIGTERM", "SIGINT", "SIGTERM-ignored-by-the-caller"],
)
def test_a_signal_to_the_outer_stand_in_ends_every_process_beneath_it(
    tmp_path: Path, sig: signal.Signals, caller_ignores: bool
) -> None:
    pids_file = tmp_path / "pids"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTRAK_")}
    python = sys.executable
    # The same chain as the Makefile's `ui`: emulator -- SFTP server -- the command.
    outer = subprocess.Popen(
        [python, "-m", "listrak_assets.sandbox.emulator", "--",
         python, "-m", "listrak_assets.sandbox.sftp_server", "--root", str(tmp_path / "sftp"),
         "--", python, "-c", _COMMAND, str(pids_file)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_ignore_sigterm if caller_ignores else None,
    )  # fmt: skip
    try:
        _wait_for(pids_file, timeout=60)
        inner = [int(p) for p in pids_file.read_text().split()]
        assert all(_running(pid) for pid in inner)

        outer.send_signal(sig)
        _, stderr = outer.communicate(timeout=60)
    finally:
        if outer.poll() is None:
            outer.kill()
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in inner) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in inner if _running(pid)] == []
    assert "Traceback" not in stderr
    assert "KeyboardInterrupt" not in stderr


def test_serving_alone_stops_quietly_on_sigterm(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "listrak_assets.sandbox.emulator"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        while "Ctrl-C stops it" not in server.stdout.readline():
            assert server.poll() is None, "the emulator exited before serving"
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0
    assert "Traceback" not in stderr
    # It stops the way Ctrl-C stops it: with its summary.
    assert "Listrak emulator" in stdout
