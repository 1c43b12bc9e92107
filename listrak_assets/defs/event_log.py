"""The instance's event log: Dagster's SQLite event log, the same files and the same
transactions, with one SQLAlchemy engine per database file instead of one per event.

Dagster's `SqliteEventLogStorage` builds a new engine for every connection it opens (about
1,700 in an unchanged refresh of the sample data) and throws it away after one transaction, so
each event also pays for the engine's construction and for compiling its SQL again (the
compiled-statement cache lives on the engine). Here each database file keeps its engine for
the life of the storage. The engine still has no pool: every transaction opens its own SQLite
connection and closes it, exactly as before, so each event is on disk when its transaction
ends, the per-run database is updated at once (the UI streams a running run's events from
that file's changes), and other processes (the daemon, the webserver) see what they saw.

The repository's `dagster.yaml` names `ListrakInstance`, whose default storage is Dagster's
SQLite storage with this event log; the runs, the schedules and the files under the instance
folder are Dagster's, so an instance can switch to or from it at any time.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
import yaml
from dagster import DagsterInstance
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.schema import AssetKeyTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

# Engines kept at most: a run writes to two files (its own and the index), while a long-lived
# webserver reads many runs' files; the least recently used engine goes first.
KEPT_ENGINES = 32


class SqliteEventLog(SqliteEventLogStorage):
    """`SqliteEventLogStorage` with an engine kept per database file (see the module's text)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is not None:
                self._engines.move_to_end(shard)
                return engine
            engine = sa.create_engine(
                self.conn_string_for_shard(shard),
                poolclass=NullPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            self._engines[shard] = engine
            while len(self._engines) > KEPT_ENGINES:
                self._engines.popitem(last=False)[1].dispose()
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # Dagster's `_connect`, with the engine looked up instead of created and disposed.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _store_asset_event(self, conn: Connection, event: EventLogEntry, event_id: int) -> None:
        # Dagster inserts the asset's row and, when the key exists (every materialization but
        # the first), catches the IntegrityError and updates it. That caught error sits in a
        # reference cycle whose traceback holds the frames of the step that logged the event,
        # so the step's output (a whole table) stays in memory until the cycle collector next
        # runs. The same statements, update first: no error on the usual path.
        dagster_event = event.dagster_event
        if not (dagster_event and dagster_event.asset_key):
            return
        values = self._get_asset_entry_values(
            event, event_id, self._has_asset_key_index_cols_on_connection(conn)
        )
        if not values:
            return
        key = dagster_event.asset_key.to_string()
        updated = conn.execute(
            AssetKeyTable.update().values(**values).where(AssetKeyTable.c.asset_key == key)
        )
        if updated.rowcount == 0:
            super()._store_asset_event(conn, event, event_id)  # a new key (or a race: as Dagster)

    def dispose(self) -> None:
        with self._engines_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
        super().dispose()


class SqliteStorage(DagsterSqliteStorage):
    """Dagster's default SQLite storage of an instance folder, with `SqliteEventLog` as its
    event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage = SqliteEventLog(os.path.join(base_dir, "history", "runs", ""))

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> SqliteStorage:
        return cls.from_local(inst_data=inst_data, base_dir=config_value["base_dir"])


class ListrakInstance(DagsterInstance):
    """A Dagster instance whose default storage (an instance folder without a `storage` block)
    is `SqliteStorage`. An instance class rather than a storage block: Dagster passes its
    defaults the instance's own folder, so `DagsterInstance.from_config(folder)` works as with
    Dagster's default, without `DAGSTER_HOME` set."""

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return {}

    @classmethod
    def config_defaults(cls, base_dir: str) -> Mapping[str, ConfigurableClassData | None]:
        defaults = dict(InstanceRef.config_defaults(base_dir))
        defaults["storage"] = ConfigurableClassData(
            SqliteStorage.__module__,
            SqliteStorage.__name__,
            yaml.dump({"base_dir": base_dir}, default_flow_style=False),
        )
        return defaults
