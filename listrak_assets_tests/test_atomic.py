"""Atomic local writes (`listrak_assets.atomic`): a table or state file is always the old one or
the new one, whole, whatever another writer or a kill does meanwhile. The concurrent and killed
writers are real processes materializing a table through Dagster and the Parquet IO manager.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pytest

from listrak_assets.atomic import atomic_path, remove_orphans, temp_name
from listrak_assets.listrak.state import MemberState
from listrak_assets_tests import table_writer

REPO = Path(__file__).resolve().parents[1]
ROWS = 1_000_000  # a write long enough to overlap with the other writer's
DEADLINE = 120.0  # seconds; the writers take a few


def _writer(warehouse: Path, tag: str, rounds: int, *start: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "listrak_assets_tests.table_writer", str(warehouse), tag]
    command += [str(rounds), str(ROWS), *map(str, start)]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _stopped(pid: int) -> bool:
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state in ("T", "t")


# -- one writer ------------------------------------------------------------------------------


def test_a_failed_write_leaves_the_target_as_it_was_and_no_temporary_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "table.parquet"
    target.write_bytes(b"old, whole")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half of the ne")
        raise RuntimeError("the writer failed")
    assert target.read_bytes() == b"old, whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.parquet"]


def test_two_writers_of_one_file_each_have_their_own_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "state" / "members.parquet"  # the folder is made on first write
    with atomic_path(target) as first, atomic_path(target) as second:
        assert first != second and first.parent == second.parent == target.parent
        assert first.name.startswith(f".{target.name}.{os.getpid()}-")
        first.write_bytes(b"first")
        second.write_bytes(b"second")
    # The inner block finished first, so the outer one's rename came last and won.
    assert target.read_bytes() == b"first"
    assert [p.name for p in target.parent.iterdir()] == ["members.parquet"]


def test_temporary_files_of_dead_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "table.parquet"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    try:
        names = {
            "mine": temp_name(target),
            "live": tmp_path / f".table.parquet.{sleeper.pid}-0a1b2c.tmp",
            "dead": tmp_path / f".table.parquet.{int(dead.stdout)}-0a1b2c.tmp",
            "other": tmp_path / f".other.parquet.{int(dead.stdout)}-0a1b2c.tmp",
        }
        for path in names.values():
            path.write_bytes(b"x")
        assert remove_orphans(target) == [names["dead"]]
        assert all(p.exists() for k, p in names.items() if k != "dead")
    finally:
        sleeper.kill()
        sleeper.wait()


# -- real writers ----------------------------------------------------------------------------


def test_two_runs_writing_one_table_at_once_never_crash_and_never_tear_it(
    tmp_path: Path,
) -> None:
    """Two processes materialize the same asset into one warehouse, round after round, while
    this one reads the table whenever it can: every read is a whole table."""
    warehouse, start = tmp_path / "warehouse", tmp_path / "start"
    target = warehouse / "clean" / "customers.parquet"
    writers = [_writer(warehouse, tag, 8, start) for tag in ("a", "b")]
    start.touch()
    reads, torn, tags = 0, [], set()
    deadline = time.monotonic() + DEADLINE
    try:
        while any(w.poll() is None for w in writers) and time.monotonic() < deadline:
            try:
                frame = pl.read_parquet(target)
            except FileNotFoundError:
                continue  # before the first rename
            except Exception as err:  # a torn file fails to parse
                torn.append(repr(err))
                continue
            reads += 1
            tags.add(frame["tag"][0])
            if not table_writer.is_whole(frame, ROWS):
                torn.append(f"{frame.height} rows, tags {frame['tag'].unique().to_list()}")
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
    outputs = [w.communicate() for w in writers]
    for writer, (_, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err.decode()[-3000:]
    assert torn == []
    assert reads > 0 and tags  # the reader did see the table while it was being rewritten
    final = pl.read_parquet(target)
    assert table_writer.is_whole(final, ROWS) and final["tag"][0] in {"a-8", "b-8"}
    assert _temporaries(target.parent) == []


def test_a_writer_killed_mid_write_leaves_the_previous_table_whole(tmp_path: Path) -> None:
    """SIGKILL while the new table is half on disk: the previous one is still there, whole,
    and the next write clears what the dead writer left."""
    warehouse = tmp_path / "warehouse"
    target = warehouse / "clean" / "customers.parquet"
    table_writer.run(warehouse, "old", 1, ROWS)
    writer = _writer(warehouse, "new", 50)
    before = None
    deadline = time.monotonic() + DEADLINE
    try:
        while before is None:
            assert writer.poll() is None, writer.communicate()[1].decode()[-3000:]
            assert time.monotonic() < deadline, "the writer never started a write"
            if not _temporaries(target.parent):
                time.sleep(0.001)
                continue
            writer.send_signal(signal.SIGSTOP)
            while not _stopped(writer.pid):
                time.sleep(0.001)
            if _temporaries(target.parent):  # stopped before that write's rename
                before = pl.read_parquet(target)
            else:
                writer.send_signal(signal.SIGCONT)
        writer.kill()
        writer.wait()
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    after = pl.read_parquet(target)
    assert table_writer.is_whole(after, ROWS)
    assert after.equals(before)
    [orphan] = _temporaries(target.parent)
    assert orphan.startswith(f".customers.parquet.{writer.pid}-")

    table_writer.run(warehouse, "next", 1, ROWS)
    assert pl.read_parquet(target)["tag"][0] == "next-1"
    assert _temporaries(target.parent) == []


def test_the_mirror_state_is_written_the_same_way(tmp_path: Path) -> None:
    """Two sends committing the email mirror state at once (threads here): no crash, and the
    members file is always one send's members, whole."""
    state = MemberState(tmp_path / "state")
    audiences = {
        tag: pl.Series([f"{tag}{i}@example.com" for i in range(50_000)]) for tag in ("a", "b")
    }

    def commit(tag: str) -> None:
        for _ in range(20):
            state.commit(1, 2, members=audiences[tag])

    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(commit, tag) for tag in audiences]:
            future.result()
    members = state.members(1, 2)
    assert any(members.equals(a.sort().alias(members.name)) for a in audiences.values())
    assert sorted(p.name for p in state.folder.iterdir()) == [state.members_path.name]
