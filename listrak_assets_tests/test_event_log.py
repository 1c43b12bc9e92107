"""The instance's event log (`listrak_assets/defs/event_log.py`): the repository's
`dagster.yaml` selects it; it keeps one engine per database file across events, yet still ends
every transaction on disk in Dagster's own files, which an instance on Dagster's default
storage reads (and the other way round)."""

from __future__ import annotations

import gc
import os
import types
from pathlib import Path

import dagster as dg
import pytest

from listrak_assets.defs import event_log
from listrak_assets.defs.event_log import KEPT_ENGINES, ListrakInstance, SqliteEventLog
from listrak_assets_tests.conftest import INSTANCE_CONFIG, REPO


@dg.asset
def numbers() -> int:
    return 1


@dg.asset
def doubled(numbers: int) -> int:
    return numbers * 2


def _run_db(home: str, run_id: str) -> Path:
    return Path(home, "history", "runs", f"{run_id}.db")


def test_the_repositorys_instance_uses_it_and_reuses_one_engine_per_file() -> None:
    with dg.instance_for_test(overrides=INSTANCE_CONFIG) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, SqliteEventLog)
        result = dg.materialize([numbers, doubled], instance=instance)
        assert result.success
        run_id = result.run_id
        home = os.environ["DAGSTER_HOME"]
        # Dagster's layout: one database per run under history/runs, beside the index.
        assert _run_db(home, run_id).is_file()
        assert (_run_db(home, "index")).is_file()
        # Dozens of events, one engine for the run's file and one for the index.
        events = instance.all_logs(run_id)
        assert len(events) > 20
        engines = dict(storage._engines)  # pylint: disable=protected-access
        assert set(engines) == {run_id, "index"}
        # Each transaction still closes its connection: nothing is left in a write-ahead log,
        # so the run's database file itself changes with every event (the UI follows a running
        # run by watching that file).
        assert not Path(f"{_run_db(home, run_id)}-wal").exists()
        instance.report_runless_asset_event(dg.AssetMaterialization("extra"))
        assert storage._engines["index"] is engines["index"]  # pylint: disable=protected-access
        assert not Path(f"{_run_db(home, 'index')}-wal").exists()


def test_dagsters_default_storage_reads_its_history_and_back(tmp_path: Path) -> None:
    home = str(tmp_path)
    with dg.instance_for_test(overrides=INSTANCE_CONFIG, temp_dir=home) as instance:
        first = dg.materialize([numbers, doubled], instance=instance).run_id
    default = {k: v for k, v in INSTANCE_CONFIG.items() if k != "instance_class"}
    with dg.instance_for_test(overrides=default, temp_dir=home) as instance:
        assert not isinstance(instance.event_log_storage, SqliteEventLog)
        assert len(instance.all_logs(first)) > 20
        latest = instance.get_latest_materialization_event(dg.AssetKey("doubled"))
        assert latest is not None and latest.run_id == first
        second = dg.materialize([numbers, doubled], instance=instance).run_id
    with dg.instance_for_test(overrides=INSTANCE_CONFIG, temp_dir=home) as instance:
        latest = instance.get_latest_materialization_event(dg.AssetKey("doubled"))
        assert latest is not None and latest.run_id == second
        assert len(instance.all_logs(second)) > 20


def test_a_long_lived_process_keeps_a_bounded_number_of_engines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A webserver reads many runs' files: the least recently used engines are let go."""
    assert KEPT_ENGINES >= 2  # a run's file and the index
    monkeypatch.setattr(event_log, "KEPT_ENGINES", 3)
    with dg.instance_for_test(overrides=INSTANCE_CONFIG) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, SqliteEventLog)
        for n in range(6):
            storage.get_logs_for_run(f"run-{n}")
        engines = storage._engines  # pylint: disable=protected-access
        assert list(engines) == ["run-3", "run-4", "run-5"]
        storage.get_logs_for_run("run-3")
        storage.get_logs_for_run("run-6")
        assert list(engines) == ["run-5", "run-3", "run-6"]


def test_an_instance_folder_without_dagster_home_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`DagsterInstance.from_config(folder)` finds its files in that folder, as with Dagster's
    default, whatever `DAGSTER_HOME` says."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    (tmp_path / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance, ListrakInstance)
        assert isinstance(instance.event_log_storage, SqliteEventLog)
        run_id = dg.materialize([numbers], instance=instance).run_id
    assert _run_db(str(tmp_path), run_id).is_file()


def test_a_materialization_of_a_known_asset_leaves_nothing_for_the_cycle_collector() -> None:
    """Dagster stores a known asset's event by catching an IntegrityError, whose traceback
    holds the step's frames (and so its output, a whole table) in a reference cycle until the
    collector happens to run. The second materialization of each asset goes through that path;
    with the collector off, no frame and no error is left unreachable."""
    with dg.instance_for_test(overrides=INSTANCE_CONFIG) as instance:
        assert dg.materialize([numbers, doubled], instance=instance).success
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            second = dg.materialize([numbers, doubled], instance=instance)
            gc.collect()
            left = [o for o in gc.garbage if isinstance(o, types.FrameType | BaseException)]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
        assert second.success
        # The assets' rows were updated: their latest materialization is the second run's.
        for key in (dg.AssetKey("numbers"), dg.AssetKey("doubled")):
            latest = instance.get_latest_materialization_event(key)
            assert latest is not None and latest.run_id == second.run_id
    assert not left, sorted({type(o).__name__ for o in left})
