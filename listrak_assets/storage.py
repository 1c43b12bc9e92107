"""Where the warehouse (tables and mirror state), the erasure ledger and the inbox's archive
live: a local folder, or a URL of any filesystem fsspec knows (`s3://bucket/warehouse`,
`sftp://host/srv/warehouse`), so that several machines can share them.

A local folder stays a plain `pathlib.Path` and is read and written exactly as before: polars
reads and writes the file itself, and a write goes through `atomic.py` (temporary name, flush,
`os.replace`). A URL becomes a `UPath` (universal_pathlib), and its bytes go through fsspec
file objects. A write there goes to a temporary name in the same folder, then `mv` onto the
target: on SFTP that is OpenSSH's `posix-rename` (atomic, like a local rename); on object
storage (S3, GCS, Azure) there is no rename, and `mv` is a copy and a delete, so readers may
see the new object only once it is whole (an object store never shows half an object) but two
writers of one key are not ordered. Remote temporary files of a killed writer are left behind
(no process on another machine can tell whether their writer still lives).

Files that must reach a URL whole before their local original goes (the archive's moves) are
copied, then read back and compared (`upload_verified`), then given their name without
replacing a file already there (`rename_no_replace`): on SFTP the plain SFTP rename, which
refuses an existing target (SFTP v3; OpenSSH's server claims the name with a hard link, so two
writers can't overwrite each other); elsewhere a look then a move, which is not race-free.

fsspec's backends (paramiko for SFTP, s3fs, ...) are imported only when a URL is used.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.util
import io
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TypeAlias

import polars as pl
from upath import UPath

from listrak_assets.atomic import atomic_path, temp_name
from listrak_assets.fingerprints import content_hash

Location: TypeAlias = Path | UPath
# zstd, polars' own codec, at its fastest level: a third less CPU than polars' default level 3
# for files about 2% larger (the 1M benchmark's tables), and read by anything that reads zstd.
ZSTD_LEVEL = 1
# URLs that name a local file: read as the local path they are, at local speed.
_LOCAL_SCHEMES = ("file", "local")
# fsspec's SFTP filesystem (paramiko): its client is `fs.ftp`.
_SSH_SCHEMES = ("sftp", "ssh")
_CHUNK = 1 << 20
# The most rows in a stored table's row group (about what polars gives a frame of one chunk).
ROW_GROUP_ROWS = 1 << 17


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


def write_parquet_file(
    frame: pl.DataFrame, path: Path, metadata: dict[str, str] | None = None
) -> None:
    """Write one local Parquet file as every stored table is written."""
    frame.write_parquet(
        path,
        compression="zstd",
        compression_level=ZSTD_LEVEL,
        row_group_size=row_group_rows(frame.height),
        metadata=metadata,
    )


def row_group_rows(height: int) -> int:
    """Rows per row group: the table split evenly into groups of at most `ROW_GROUP_ROWS`.
    Said outright because polars otherwise follows the frame's chunks (a table read from a
    CSV file in 68 chunks got uneven groups), and the clean step reads even groups with less
    memory (about 100 MB less at 1M rows); a frame need not be copied into one chunk first."""
    groups = max(1, -(-height // ROW_GROUP_ROWS))
    return max(1, -(-height // groups))


def write_parquet(
    frame: pl.DataFrame, target: Location, metadata: dict[str, str] | None = None
) -> None:
    """Write the whole table at once: readers see the old file or the new one."""
    if is_local(target):
        assert isinstance(target, Path)
        with atomic_path(target) as tmp:
            write_parquet_file(frame, tmp, metadata)
        return
    assert isinstance(target, UPath)
    # polars writes a local file (some fsspec files, paramiko's among them, don't report
    # what they wrote, which polars requires), then the filesystem uploads it in one go.
    with tempfile.TemporaryDirectory(prefix="listrak-upload-") as folder:
        local = Path(folder) / target.name
        write_parquet_file(frame, local, metadata)
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


def files_under(folder: Location) -> list[Location]:
    """Every file under `folder`, at any depth and hidden ones included, in path order; none
    when the folder does not exist. At a URL one listing of the whole tree (fsspec `find`)."""
    if is_local(folder):
        assert isinstance(folder, Path)
        return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    assert isinstance(folder, UPath)
    if not folder.is_dir():
        return []
    root = PurePosixPath(folder.path)
    found = folder.fs.find(folder.path, withdirs=False)
    return [folder.joinpath(PurePosixPath(p).relative_to(root).as_posix()) for p in sorted(found)]


def modified(path: Location) -> dt.datetime:
    """When the file was last modified, in UTC: a local file's mtime; at a URL, fsspec's
    `modified()`: the file's mtime on SFTP, when the object was last written on S3, GCS and
    Azure (a time without a zone is taken as UTC)."""
    if is_local(path):
        assert isinstance(path, Path)
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    assert isinstance(path, UPath)
    when = path.fs.modified(path.path)
    if not isinstance(when, dt.datetime):
        raise TypeError(f"{text(path)}: the filesystem reports no modification time")
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def download(source: Location, target: Path) -> None:
    """Copy a file's bytes to a local path (a local file with `shutil.copyfile`)."""
    if is_local(source):
        assert isinstance(source, Path)
        shutil.copyfile(source, target)
        return
    assert isinstance(source, UPath)
    source.fs.get_file(source.path, str(target))


def _sha256_remote(path: UPath) -> str:
    digest = hashlib.sha256()
    if path.protocol in _SSH_SCHEMES:
        # paramiko's `getfo` reads ahead many blocks at once; a plain read asks for one at a time.
        path.fs.ftp.getfo(path.path, _Sink(digest))
        return digest.hexdigest()
    with path.fs.open(path.path, "rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _Sink:
    """A writable file that only hashes what it is given."""

    def __init__(self, digest: hashlib._Hash) -> None:
        self._digest = digest

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        return len(data)


class CopyMismatch(OSError):
    """A file read back from a URL is not the file that was sent."""


def upload_verified(local: Path, target: UPath) -> None:
    """Copy a local file to `target`, then check the copy: its size as the filesystem reports
    it (fsspec `info`) and the SHA-256 of its bytes read back. CopyMismatch when either
    differs (the copy stays, for the caller to remove)."""
    target.fs.put_file(str(local), target.path)
    size = local.stat().st_size
    stored = target.fs.info(target.path).get("size")
    if stored != size:
        raise CopyMismatch(f"{text(target)}: {stored} bytes stored of {size} sent")
    if _sha256_remote(target) != content_hash(local):
        raise CopyMismatch(f"{text(target)}: the bytes read back differ from those sent")


def rename_no_replace(source: UPath, target: UPath) -> bool:
    """Give `source` the name `target` unless a file has it (then False, nothing changed).

    On SFTP the plain SFTP rename (not OpenSSH's posix-rename, which replaces): the protocol
    refuses an existing target, and OpenSSH's server makes the new name with a hard link, so
    two writers never overwrite each other. Elsewhere (object storage has no rename: a move is
    a copy and a delete) a look and then a move: a writer that takes the name between the two
    is overwritten."""
    if source.protocol in _SSH_SCHEMES:
        try:
            source.fs.ftp.rename(source.path, target.path)
        except OSError:
            if target.exists():
                return False
            raise
        return True
    if target.exists():
        return False
    source.fs.mv(source.path, target.path)
    return True


def replace_file(local: Path, target: UPath, mtime: dt.datetime | None = None) -> None:
    """Replace the file at `target` with a local file's bytes, whole (see `write_bytes`).
    `mtime` is kept on SFTP, where a file's modification time can be set; an object store
    dates an object by when it was written, so there the rewrite is dated now."""
    with _remote_target(target) as part:
        part.fs.put_file(str(local), part.path)
        if mtime is not None and part.protocol in _SSH_SCHEMES:
            stamp = mtime.timestamp()
            part.fs.ftp.utime(part.path, (stamp, stamp))
