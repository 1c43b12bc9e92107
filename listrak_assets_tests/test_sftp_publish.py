"""Publishing file sets over SFTP (`listrak_assets.sftp.publish`) against OpenSSH's sshd and the
sandbox server: Listrak's importer never sees old and new parts side by side, a file replacing
itself is never missing, a server without posix-rename never loses the old file before the new
one is in place, and a publisher killed mid-upload leaves the previous set whole.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from listrak_assets.file_names import DONE_SUFFIX, part_name, variants
from listrak_assets.sandbox import sftp_server as sandbox
from listrak_assets.sandbox.sftp_server import run_sandbox_sftp
from listrak_assets.sftp import SftpUploadError, UploadResult
from listrak_assets.sftp.publish import publish
from listrak_assets.sftp.uploader import SftpUploader, Staged, temp_target
from listrak_assets_tests.sftp_servers import CuttingProxy, SftpServer

REPO = Path(__file__).resolve().parents[1]
NAME = "Listrak_Customer_20260102.csv"
PART_SIZE = 4 * 1024 * 1024  # several SSH windows per part
DEADLINE = 60.0


def _parts(folder: Path, tag: str, count: int, size: int = 0) -> list[tuple[Path, str]]:
    """`count` local parts of NAME holding `tag`; with `size`, random bytes after the tag."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(1, count + 1):
        name = part_name(NAME, i, count) if count > 1 else NAME
        path = folder / f"{tag}-{name}"
        path.write_bytes(f"{tag} {i}\n".encode() + os.urandom(size))
        files.append((path, name))
    return files


def _visible(local: Path) -> dict[str, bytes]:
    """What Listrak's importer can see: the files without a hidden temporary name."""
    return {p.name: p.read_bytes() for p in local.iterdir() if not p.name.startswith(".")}


class Watched(SftpUploader):
    """The uploader, with the folder's visible files recorded after every change it makes."""

    def __init__(self, *args: object, local: Path, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.seen: list[dict[str, bytes]] = []
        self._local = local

    def _record(self) -> None:
        self.seen.append(_visible(self._local))

    def remove(self, remote_path: str) -> None:
        super().remove(remote_path)
        self._record()

    def commit(self, job: Staged) -> UploadResult:
        result = super().commit(job)
        self._record()
        return result

    def put_marker(self, remote_path: str) -> None:
        super().put_marker(remote_path)
        self._record()


def _publish(uploader: SftpUploader, remote: str, files: list[tuple[Path, str]], **kw: bool):  # noqa: ANN202
    return publish(
        uploader, remote, files, variants(NAME), marker_suffix=DONE_SUFFIX,
        markers=kw.get("markers", False),
    )  # fmt: skip


def _generations(state: dict[str, bytes]) -> set[str]:
    """Which publications ('old', 'new') the visible data files come from."""
    return {data.split(b" ", 1)[0].decode() for n, data in state.items() if not n.endswith(".DONE")}


# -- split parts -----------------------------------------------------------------------------


def test_a_rerun_with_fewer_parts_never_shows_old_and_new_parts_together(
    sftp_server: SftpServer, tmp_path: Path
) -> None:
    remote, local = sftp_server.folder("parts")
    old, new = _parts(tmp_path / "a", "old", 3), _parts(tmp_path / "b", "new", 2)
    with SftpUploader(sftp_server.config()) as uploader:
        _publish(uploader, remote, old, markers=True)
    assert sorted(_visible(local)) == sorted([n for _, n in old] + [n + ".DONE" for _, n in old])

    with Watched(sftp_server.config(), local=local) as uploader:
        result = _publish(uploader, remote, new, markers=True)
    for state in uploader.seen:
        assert len(_generations(state)) <= 1, f"old and new side by side: {sorted(state)}"
        for marker in (n for n in state if n.endswith(".DONE")):
            assert marker.removesuffix(".DONE") in state, f"{marker} vouches for a missing file"
    expected = {name: path.read_bytes() for path, name in new}
    assert _visible(local) == expected | {n + ".DONE": b"" for n in expected}
    assert sorted(os.listdir(local)) == sorted(_visible(local))  # no temporary file left
    stale = part_name(NAME, 3, 3)
    assert result.removed == [stale, stale + ".DONE"]
    assert [u.remote_path for u in result.uploads] == [f"{remote}/{n}" for _, n in new]


def test_a_set_replaced_by_one_file_of_another_shape(sftp_server: SftpServer, tmp_path: Path):
    remote, local = sftp_server.folder("shape")
    with SftpUploader(sftp_server.config()) as uploader:
        _publish(uploader, remote, _parts(tmp_path / "a", "old", 2), markers=True)
        zipped = tmp_path / "b" / "new.zip"
        zipped.parent.mkdir()
        zipped.write_bytes(b"new zip\n")
        name = NAME.replace(".csv", ".zip")
        result = _publish(uploader, remote, [(zipped, name)])
    assert _visible(local) == {name: b"new zip\n"}
    assert len(result.removed) == 4


def test_one_file_replacing_itself_is_never_missing(sftp_server: SftpServer, tmp_path: Path):
    """The daily re-run: the file is renamed over itself, so it is there at every step, and a
    marker no longer wanted goes before the new file is in."""
    remote, local = sftp_server.folder("single")
    with SftpUploader(sftp_server.config()) as uploader:
        _publish(uploader, remote, _parts(tmp_path / "a", "old", 1), markers=True)
    with Watched(sftp_server.config(), local=local) as uploader:
        result = _publish(uploader, remote, _parts(tmp_path / "b", "new", 1))
    assert uploader.seen == [{NAME: b"old 1\n"}, {NAME: b"new 1\n"}]
    assert result.removed == [NAME + ".DONE"]
    assert sorted(os.listdir(local)) == [NAME]


# -- servers without posix-rename ------------------------------------------------------------


@contextlib.contextmanager
def _no_posix_rename(root: Path, sandbox_server: SftpServer) -> Iterator[SftpUploader]:
    with run_sandbox_sftp(root, posix_rename=False) as server:
        config = sandbox_server.config(
            host=server.host,
            port=server.port,
            password=server.password,
            private_key=None,
            known_hosts=server.known_hosts,
        )
        with SftpUploader(config) as uploader:
            yield uploader


def _observe_server(monkeypatch: pytest.MonkeyPatch, root: Path) -> list[dict[str, bytes]]:
    """Record the served folder (hidden files too) after every rename and remove the sandbox
    server carries out."""
    seen: list[dict[str, bytes]] = []
    for method in ("rename", "remove"):
        original = getattr(sandbox._Folder, method)

        def recorded(self, *args, _original=original):  # noqa: ANN001, ANN202
            answer = _original(self, *args)
            seen.append({p.name: p.read_bytes() for p in root.iterdir()})
            return answer

        monkeypatch.setattr(sandbox._Folder, method, recorded)
    return seen


def test_without_posix_rename_the_old_file_goes_aside_until_the_new_one_is_in(
    sandbox_server: SftpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "served"
    with _no_posix_rename(root, sandbox_server) as uploader:
        uploader.upload(_parts(tmp_path / "a", "old", 1)[0][0], f"/{NAME}")
        seen = _observe_server(monkeypatch, root)
        uploader.upload(_parts(tmp_path / "b", "new", 1)[0][0], f"/{NAME}")
    aside = f".{NAME}.aside"
    assert [(s.get(NAME), s.get(aside)) for s in seen] == [
        (b"old 1\n", None),  # an aside left by an earlier failure would be removed (none here)
        (None, b"old 1\n"),  # renamed aside: the old file is kept
        (b"new 1\n", b"old 1\n"),  # the new one is in
        (b"new 1\n", None),  # only then is the old one removed
    ]
    assert os.listdir(root) == [NAME]


def test_without_posix_rename_a_refused_rename_puts_the_old_file_back(
    sandbox_server: SftpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "served"
    with _no_posix_rename(root, sandbox_server) as uploader:
        uploader.upload(_parts(tmp_path / "a", "old", 1)[0][0], f"/{NAME}")
        original = sandbox._Folder.rename

        def refuse_the_new_file(self, oldpath: str, newpath: str):  # noqa: ANN001, ANN202
            if oldpath.endswith(".part"):
                return sandbox.paramiko.SFTP_PERMISSION_DENIED
            return original(self, oldpath, newpath)

        monkeypatch.setattr(sandbox._Folder, "rename", refuse_the_new_file)
        with pytest.raises(SftpUploadError, match="refused"):
            uploader.upload(_parts(tmp_path / "b", "new", 1)[0][0], f"/{NAME}")
    assert (root / NAME).read_bytes() == b"old 1\n"
    assert os.listdir(root) == [NAME]  # nothing aside, the failed upload's file removed


def test_without_posix_rename_a_set_is_replaced_with_no_mix(
    sandbox_server: SftpServer, tmp_path: Path
) -> None:
    root = tmp_path / "served"
    with _no_posix_rename(root, sandbox_server) as uploader:
        _publish(uploader, "/", _parts(tmp_path / "a", "old", 3))
        _publish(uploader, "/", new := _parts(tmp_path / "b", "new", 2))
    assert _visible(root) == {name: path.read_bytes() for path, name in new}
    assert sorted(os.listdir(root)) == sorted(_visible(root))


# -- a publisher killed mid-upload -----------------------------------------------------------


def test_a_publisher_killed_mid_upload_then_a_plain_rerun_ends_exact(
    sshd_server: SftpServer, tmp_path: Path
) -> None:
    """SIGKILL of a process publishing three parts over OpenSSH, half way through the second:
    the previous four parts are still there, whole, and nothing partial has a final name; a
    plain re-run then leaves exactly the new parts, byte for byte."""
    remote, local = sshd_server.folder("killed")
    old = _parts(tmp_path / "old", "old", 4, PART_SIZE)
    with SftpUploader(sshd_server.config()) as uploader:
        _publish(uploader, remote, old)
    previous = _visible(local)
    new = _parts(tmp_path / "new", "new", 3, PART_SIZE)

    target = (sshd_server.host, sshd_server.port)
    budget = PART_SIZE + PART_SIZE // 2  # the first part and half of the second
    with CuttingProxy(target, cuts=[budget], hold=True) as proxy:
        config = dataclasses.asdict(
            sshd_server.config(
                port=proxy.port, known_hosts=None,
                host_key_fingerprint=sshd_server.host_key_fingerprint,
            )
        )  # fmt: skip
        args = {
            "config": {k: str(v) if isinstance(v, Path) else v for k, v in config.items()},
            "folder": remote,
            "files": [[str(path), name] for path, name in new],
            "name": NAME,
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "listrak_assets_tests.sftp_publish", json.dumps(args)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + DEADLINE
            while not proxy.cut_event.is_set():
                assert worker.poll() is None, worker.communicate()[0].decode()[-3000:]
                assert time.monotonic() < deadline, "the upload never got half way"
                time.sleep(0.01)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        at_kill = sorted(os.listdir(local))

    first, second = part_name(NAME, 1, 3), part_name(NAME, 2, 3)
    staged = {temp_target(n) for n in at_kill if n.endswith(".part")}
    assert {first, second} <= staged  # mid-upload indeed
    assert _visible(local) == previous  # the previous set, whole; nothing new under its names

    with SftpUploader(sshd_server.config()) as uploader:
        result = _publish(uploader, remote, new)
    assert _visible(local) == {name: path.read_bytes() for path, name in new}
    assert sorted(os.listdir(local)) == sorted(name for _, name in new)
    assert part_name(NAME, 4, 4) in result.removed
