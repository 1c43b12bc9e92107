"""The sandbox SFTP server's command line, as `make ui` uses it: around a command, with the
variables that point at it, or not at all when the environment names a real server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

COMMAND = [sys.executable, "-m", "listrak_assets.sandbox.sftp_server"]


def test_runs_a_command_that_uploads_to_it(tmp_path: Path) -> None:
    script = (
        "import io, os, paramiko;"
        "c = paramiko.SSHClient(); c.load_host_keys(os.environ['LISTRAK_SFTP_KNOWN_HOSTS']);"
        "c.connect(os.environ['LISTRAK_SFTP_HOST'], int(os.environ['LISTRAK_SFTP_PORT']),"
        " os.environ['LISTRAK_SFTP_USERNAME'], os.environ['LISTRAK_SFTP_PASSWORD'],"
        " look_for_keys=False, allow_agent=False);"
        "c.open_sftp().putfo(io.BytesIO(b'hello'), '/hello.csv'); c.close();"
        "raise SystemExit(3)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTRAK_")}
    root = tmp_path / "outbox"
    done = subprocess.run(
        [*COMMAND, "--root", str(root), "--", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 3, done.stderr
    assert (root / "hello.csv").read_bytes() == b"hello"
    assert f"serving {root.resolve()}" in done.stderr


def test_leaves_a_configured_environment_alone(tmp_path: Path) -> None:
    env = {**os.environ, "LISTRAK_SFTP_HOST": "ftp.listrak.com"}
    script = "import os; print(os.environ['LISTRAK_SFTP_HOST'], 'LISTRAK_SFTP_PORT' in os.environ)"
    root = tmp_path / "outbox"
    done = subprocess.run(
        [*COMMAND, "--root", str(root), "--unless-configured", "--", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in env.items() if k != "LISTRAK_SFTP_PORT"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ftp.listrak.com False"
    assert not root.exists()  # no server was started
