"""Fingerprints of what a step's result depends on, so an unchanged re-run can skip the work.

A step is skipped only when everything it reads hashes the same as at its last result: the
files it reads (name, size, modification time), the settings that steer it, the code that
runs it, and the day where its rules depend on today. Anything not recognised counts as
changed: re-doing is always safe, skipping never is when in doubt.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from upath import UPath

# Demo and test tooling: not part of what a production run computes.
_NOT_RUNTIME = ("sandbox", "generator", "generate.py", "replay.py", "refresh.py")
_CHUNK = 1 << 20


def digest(parts: Mapping[str, object]) -> str:
    """A short hash of `parts`, independent of key order; values as JSON (else as text)."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_stat(path: Path | UPath) -> str | None:
    """A file's size and modification time, or None when it is not there."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def content_hash(path: Path) -> str:
    """The SHA-256 of a file's bytes: what a receiver got, whatever its name or time."""
    sha = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def _sources(root: Path) -> Iterable[Path]:
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] not in _NOT_RUNTIME:
            yield path


@cache
def code_version() -> str:
    """A hash of the package's runtime source: any change to the code re-does every step once."""
    root = Path(__file__).parent  # the package
    sha = hashlib.sha256()
    for path in _sources(root):
        sha.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()[:16]
