"""Where the warehouse (tables and mirror state) and the erasure ledger live: a local folder, or
a URL of any filesystem fsspec knows (`s3://bucket/warehouse`, `sftp://host/srv/warehouse`), so
that several machines can share them.

A local folder stays a plain `pathlib.Path` and is read and written exactly as before: polars
reads and writes the file itself, and a write goes through `atomic.py` (temporary name, flush,
`os.replace`). A URL becomes a `UPath` (universal_pathlib), and its bytes go through fsspec
file objects. A write there goes to a temporary name in the same folder, then `mv` onto the
target: on SFTP that is OpenSSH's `posix-rename` (atomic, like a local rename); on object
storage (S3, GCS, Azure) there is no rename, and `mv` is a copy and a delete, so readers may
see the new object only once it is whole (an object store never shows half an object) but two
writers of one key are not ordered. Remote temporary files of a killed writer are left behind
(no process on another machine can tell whether their writer still lives).

fsspec's backends (paramiko for SFTP, s3fs, ...) are imported only when a URL is used.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TypeAlias

import polars as pl
from upath import UPath

from listrak_assets.atomic import atomic_path, temp_name

Location: TypeAlias = Path | UPath
# URLs that name a local file: read as the local path they are, at local speed.
_LOCAL_SCHEMES = ("file", "local")
_SSH_SCHEMES = ("sftp", "ssh")


def scheme(value: str) -> str | None:
    """The URL scheme of a settings value (`s3` of `s3://bucket/x`); None for a plain path."""
    head, sep, _ = value.partition("://")
    return head.lower() if sep and head.isidentifier() else None


def check_scheme(name: str) -> None:
    """ValueError unless fsspec has a filesystem for `name` and its package is installed;
    checked without importing the backend."""
    from fsspec.registry import known_implementations, registry

    if name in registry:
        return
    known = known_implementations.get(name)
    if known is None:
        raise ValueError(
            f"no fsspec filesystem for the scheme '{name}://' (use a local folder, or a URL "
            "such as s3://, gs://, az://, sftp://, memory://)"
        )
    module = known["class"].rpartition(".")[0]
    top = module.partition(".")[0]
    if importlib.util.find_spec(top) is None or importlib.util.find_spec(module) is None:
        raise ValueError(
            f"the scheme '{name}://' needs a package that is not installed: "
            f"{known.get('err') or top}"
        )


def location(value: str | Path) -> Location:
    """A settings value as a place: a `Path` for a folder (or a `file://` URL), a `UPath` for
    a URL of another filesystem. Refuses an unknown scheme and a password in the URL
    (credentials come from fsspec's environment variables, never from listrak.yaml)."""
    if isinstance(value, Path):
        return value
    found = scheme(value)
    if found is None:
        return Path(value)
    check_scheme(found)
    where = UPath(value)
    if found in _LOCAL_SCHEMES:
        return Path(where.path)
    if where.storage_options.get("password"):
        raise ValueError(
            "a URL in the settings carries no password: give credentials through the "
            "filesystem's environment variables (see the README's 'Shared storage')"
        )
    if found in _SSH_SCHEMES:
        # Only a host key a known_hosts file lists (fsspec's default accepts any).
        from listrak_assets.storage_trust import KnownHostsOnly

        options = where.storage_options
        policy = KnownHostsOnly(str(options.get("host", "")), int(options.get("port") or 22))
        where = UPath(value, host_key_policy=policy)
    return where


def is_local(where: Location) -> bool:
    return not isinstance(where, UPath)


def resolve(where: Location, base: Path) -> Location:
    """A relative local folder resolves against `base` (listrak.yaml's folder); a URL is
    already absolute."""
    return base / where if is_local(where) else where


def text(where: Location) -> str:
    """What to record and show: the local path, or the whole URL (host, port and user
    included; `str()` of a UPath drops them). `location(text(w))` is `w` again."""
    if is_local(where):
        return str(where)
    assert isinstance(where, UPath)
    options = where.storage_options
    host = options.get("host")
    if not host:
        return str(where)
    user = f"{options['username']}@" if options.get("username") else ""
    port = f":{options['port']}" if options.get("port") else ""
    return f"{where.protocol}://{user}{host}{port}{where.path}"


def relative(path: Location, root: Location) -> str:
    """`path` as a posix path relative to `root` (a folder on the same filesystem)."""
    if isinstance(path, UPath) and isinstance(root, UPath):
        return PurePosixPath(path.path).relative_to(root.path).as_posix()
    assert isinstance(path, Path) and isinstance(root, Path)
    return path.relative_to(root).as_posix()


def uri(where: Location) -> str:
    """A URI for the UI's `dagster/uri`."""
    return where.resolve().as_uri() if is_local(where) else text(where)


@contextlib.contextmanager
def _remote_target(target: UPath) -> Iterator[UPath]:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(target)
    try:
        yield tmp
        tmp.fs.mv(tmp.path, target.path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError, OSError):
            tmp.unlink()
        raise


def write_parquet(
    frame: pl.DataFrame, target: Location, metadata: dict[str, str] | None = None
) -> None:
    """Write the whole table at once: readers see the old file or the new one."""
    if is_local(target):
        assert isinstance(target, Path)
        with atomic_path(target) as tmp:
            frame.write_parquet(tmp, metadata=metadata)
        return
    assert isinstance(target, UPath)
    # polars writes a local file (some fsspec files, paramiko's among them, don't report
    # what they wrote, which polars requires), then the filesystem uploads it in one go.
    with tempfile.TemporaryDirectory(prefix="listrak-upload-") as folder:
        local = Path(folder) / target.name
        frame.write_parquet(local, metadata=metadata)
        with _remote_target(target) as part:
            part.fs.put_file(str(local), part.path)


def write_bytes(target: Location, data: bytes) -> None:
    """Write a whole small file (a JSON ledger, an alert) at once."""
    if is_local(target):
        assert isinstance(target, Path)
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        return
    assert isinstance(target, UPath)
    with _remote_target(target) as part:
        part.write_bytes(data)


def _source(path: Location) -> Path | io.BytesIO:
    """What polars reads: the local path itself, or the remote file's bytes."""
    if is_local(path):
        assert isinstance(path, Path)
        return path
    return io.BytesIO(path.read_bytes())


def scan_parquet(path: Location) -> pl.LazyFrame:
    """A lazy table: a local file is scanned where it lies; a remote one is downloaded first
    (its bytes held in memory)."""
    return pl.scan_parquet(_source(path))


def read_parquet(path: Location) -> pl.DataFrame:
    return pl.read_parquet(_source(path))


def read_parquet_metadata(path: Location) -> dict[str, str]:
    """The file's key-value metadata; a remote file is read through its footer's bytes."""
    if isinstance(path, Path):
        return pl.read_parquet_metadata(path)
    with path.open("rb") as source:
        return pl.read_parquet_metadata(source)
