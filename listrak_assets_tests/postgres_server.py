"""A throwaway PostgreSQL server (Debian's `postgresql` package) on 127.0.0.1 for the tests of
a Postgres-backed Dagster instance.

`initdb` makes a cluster in a temporary folder, `pg_ctl` starts it on a free port with password
logins over TCP only, and it is always stopped and removed. PostgreSQL refuses to run as root:
as root (CI) the cluster belongs to Debian's `postgres` account and its commands run through
`runuser`; as anyone else they run as that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT = 60  # seconds pg_ctl waits for the server to accept connections


def find_bindir() -> Path | None:
    """The server binaries: Debian keeps them in /usr/lib/postgresql/<major>/bin, off PATH."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    on_path = shutil.which("pg_ctl")  # elsewhere: the real binary's folder, past any symlink
    return Path(on_path).resolve().parent if on_path else None


@dataclass(frozen=True)
class Postgres:
    """Where the server listens and how to log in."""

    port: int
    user: str
    password: str = field(repr=False)
    database: str
    host: str = "127.0.0.1"

    def env(self) -> dict[str, str]:
        """The variables the shipped Postgres dagster.yaml reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USERNAME": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": self.database,
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def run_postgres() -> Iterator[Postgres]:
    """Start a new cluster, yield its address, then stop it and delete it."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL's server is not installed (Debian: apt-get install postgresql); "
            ".ci/run installs it"
        )
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    root = Path(tempfile.mkdtemp(prefix="listrak-pg-"))
    data = root / "data"
    pwfile = root / "pw"
    password = secrets.token_urlsafe(16)
    pwfile.write_text(password + "\n")
    if as_root:
        owner = pwd.getpwnam("postgres")
        root.chmod(0o755)
        for path in (root, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def run(*args: str) -> None:
        subprocess.run(
            [*prefix, str(bindir / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            text=True,
            cwd=root,
        )

    user, port = "listrak", _free_port()
    try:
        run("initdb", "-D", str(data), "-U", user, "--pwfile", str(pwfile),
            "--auth-host=scram-sha-256", "--auth-local=reject", "--encoding=UTF8",
            "--no-instructions")  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
        run("pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "log"),
            "-w", "-t", str(START_TIMEOUT), "start")  # fmt: skip
        try:
            env = {**os.environ, "PGPASSWORD": password}
            subprocess.run(
                [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", user,
                 "dagster"],
                check=True, capture_output=True, text=True, env=env,
            )  # fmt: skip
            yield Postgres(port=port, user=user, password=password, database="dagster")
        finally:
            run("pg_ctl", "-D", str(data), "-m", "immediate", "stop")
    except subprocess.CalledProcessError as err:
        log = root / "log"
        detail = log.read_text() if log.is_file() else ""
        raise RuntimeError(f"PostgreSQL failed: {err.stderr}\n{detail}") from err
    finally:
        shutil.rmtree(root, ignore_errors=True)
