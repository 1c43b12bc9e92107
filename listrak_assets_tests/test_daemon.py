"""End to end with the real `dagster-daemon` and `dagster-webserver` on 127.0.0.1 and a
temporary DAGSTER_HOME: files dropped into the inbox are picked up by the inbox sensor, the
run it starts publishes them to the Listrak emulator and the sandbox SFTP server, and the
webserver's GraphQL API shows the run's lineage, checks and metadata.

The slowest test (a daemon, a webserver, their code servers and a run worker start); it
prints the latency from the files landing to the emulator holding their rows, and where it
went: the sensor's tick, the run's enqueueing, launch, start and end, as the instance recorded
them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
import yaml

from listrak_assets.sandbox.emulator import Emulator, run_emulator
from listrak_assets.sandbox.sftp_server import SandboxSftp, run_sandbox_sftp

REPO = Path(__file__).resolve().parents[1]
LOCATION = "listrak_assets"
REPOSITORY = "__repository__"
START_TIMEOUT = 120.0
RUN_TIMEOUT = 180.0
# Far above what the pipeline needs (a sensor interval and a run's start): only a hang fails.
LATENCY_BOUND = 150.0
SETTLE_SECONDS = 1  # the files are renamed in whole: no need to wait for them to settle

CUSTOMERS = "Email,FirstName\nada@example.com,Ada\ngrace@example.com,Grace\n"
AUDIENCE = "email\nada@example.com\ngrace@example.com\n"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(what: str, ready: Callable[[], Any], timeout: float, logs: list[Path]) -> Any:
    """Poll `ready` until it returns something true; fail with the logs after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = ready()
        except httpx.TransportError:
            value = None
        if value:
            return value
        time.sleep(0.25)
    tails = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in logs)
    pytest.fail(f"{what}: not after {timeout:.0f} s\n{tails}")


class Dagster:
    """The daemon and the webserver of one temporary instance, and a GraphQL client."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.port = _free_port()
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        self.logs = [root / "daemon.log", root / "webserver.log"]
        bin_dir = Path(sys.executable).parent
        commands = [
            [str(bin_dir / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            [
                str(bin_dir / "dagster-webserver"),
                *("-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(self.port)),
            ],
        ]
        self.processes: list[subprocess.Popen[bytes]] = []
        for command, log in zip(commands, self.logs, strict=True):
            with log.open("wb") as out:
                # A session of its own: stopping it stops its code server and run workers too.
                self.processes.append(
                    subprocess.Popen(
                        command,
                        cwd=REPO,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )

    def query(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.http.post("/graphql", json={"query": query, "variables": variables})
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def wait(self, what: str, ready: Callable[[], Any], timeout: float = RUN_TIMEOUT) -> Any:
        for process in self.processes:
            assert process.poll() is None, f"{process.args[0]} exited"
        return _wait(what, ready, timeout, self.logs)

    def stop(self) -> None:
        self.http.close()
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


SENSOR_TICKS = """
query($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status ticks(limit: 20) { status timestamp runIds } } }
  }
}
"""

SENSOR_RUNS = """
query {
  runsOrError(filter: {tags: [{key: "dagster/sensor_name", value: "inbox_sensor"}]}) {
    ... on Runs { results { runId status creationTime startTime assetSelection { path } } }
  }
}
"""

ASSET_NODES = """
query {
  assetNodes {
    assetKey { path }
    dependencyKeys { path }
    assetChecksOrError { ... on AssetChecks { checks { name blocking } } }
  }
}
"""

CHECK_EXECUTIONS = """
query($assetKey: AssetKeyInput!, $checkName: String!) {
  assetCheckExecutions(assetKey: $assetKey, checkName: $checkName, limit: 1) { runId status }
}
"""

LATEST = """
query($keys: [AssetKeyInput!]) {
  assetNodes(assetKeys: $keys) {
    assetKey { path }
    assetMaterializations(limit: 1) {
      runId
      metadataEntries {
        label
        ... on IntMetadataEntry { intValue }
        ... on TextMetadataEntry { text }
      }
    }
  }
}
"""


@pytest.fixture
def stand_ins(tmp_path: Path) -> Iterator[tuple[Emulator, SandboxSftp]]:
    with run_emulator() as emulator, run_sandbox_sftp(tmp_path / "sftp") as sftp:
        yield emulator, sftp


@pytest.fixture
def dagster(tmp_path: Path, stand_ins: tuple[Emulator, SandboxSftp]) -> Iterator[Dagster]:
    emulator, sftp = stand_ins
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())  # queued runs
    # Create the instance's SQLite databases once, before two processes race to migrate them.
    with dg.DagsterInstance.from_config(str(home)):
        pass
    (tmp_path / "inbox").mkdir()
    settings = yaml.safe_load((REPO / "listrak.yaml").read_text())
    settings.update(inbox="inbox", warehouse="warehouse", inbox_settle_seconds=SETTLE_SECONDS)
    (tmp_path / "listrak.yaml").write_text(yaml.safe_dump(settings))
    env = {
        **os.environ,
        **emulator.env(),
        **sftp.env(),
        "DAGSTER_HOME": str(home),
        "LISTRAK_CONFIG": str(tmp_path / "listrak.yaml"),
    }
    running = Dagster(tmp_path, env)
    try:
        yield running
    finally:
        running.stop()


# The run events that mark its way from the queue to its end, and what each one means.
RUN_STAGES = {
    dg.DagsterEventType.RUN_ENQUEUED: "run enqueued",
    dg.DagsterEventType.RUN_STARTING: "run dequeued, its process launching",
    dg.DagsterEventType.ENGINE_EVENT: "run process up (Python and dagster imported)",
    dg.DagsterEventType.RUN_START: "run started (definitions loaded, plan built)",
    dg.DagsterEventType.RUN_SUCCESS: "run succeeded",
}
START, SUCCESS = dg.DagsterEventType.RUN_START, dg.DagsterEventType.RUN_SUCCESS


def _run_stages(home: Path, run_id: str) -> dict[str, float]:
    """When the run reached each stage, from the instance's event log."""
    stamps: dict[str, float] = {}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        record = instance.get_run_record_by_id(run_id)
        assert record is not None
        for entry in instance.all_logs(run_id, of_type=set(RUN_STAGES)):
            event = entry.dagster_event
            if event is None or (
                event.event_type == dg.DagsterEventType.ENGINE_EVENT
                and not (event.message or "").startswith("Started process for run")
            ):
                continue
            stamps.setdefault(RUN_STAGES[event.event_type], entry.timestamp)
        sink = dg.AssetKey(["listrak", "email_audience"])
        [sent] = [
            entry.timestamp
            for entry in instance.all_logs(
                run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            )
            if entry.asset_materialization and entry.asset_materialization.asset_key == sink
        ]
        stamps[f"{sink.to_user_string()} materialized (sent)"] = sent
        # The run record's start and end are these events' (stored with less precision).
        assert record.start_time == pytest.approx(stamps[RUN_STAGES[START]], abs=0.01)
        assert record.end_time == pytest.approx(stamps[RUN_STAGES[SUCCESS]], abs=0.01)
    return stamps


def _breakdown(landed_at: float, stamps: dict[str, float]) -> str:
    """One line per stage: seconds since the files landed, and since the stage before."""
    lines, before = [], landed_at
    for what, at in sorted(stamps.items(), key=lambda item: item[1]):
        lines.append(f"  {at - landed_at:6.1f} s  (+{at - before:5.1f} s)  {what}")
        before = at
    return "\n".join(lines)


def _drop(inbox: Path, name: str, text: str) -> None:
    """Land a file whole: written under a name the sensor ignores, then renamed in."""
    staged = inbox / f".{name}.part"
    staged.write_text(text, encoding="utf-8")
    staged.rename(inbox / name)


def test_a_dropped_file_is_published_by_the_sensors_run(
    dagster: Dagster, stand_ins: tuple[Emulator, SandboxSftp], tmp_path: Path
) -> None:
    emulator, sftp = stand_ins
    selector = {
        "repositoryLocationName": LOCATION,
        "repositoryName": REPOSITORY,
        "sensorName": "inbox_sensor",
    }

    def ticks() -> list[dict[str, Any]]:
        """The sensor's ended ticks, newest first."""
        sensor = dagster.query(SENSOR_TICKS, selector=selector)["sensorOrError"]
        if sensor["__typename"] != "Sensor":  # the code location is still loading
            return []
        assert sensor["sensorState"]["status"] == "RUNNING"  # on by default
        ended: list[dict[str, Any]] = [
            t for t in sensor["sensorState"]["ticks"] if t["status"] != "STARTED"
        ]
        return ended

    # The daemon evaluates the sensor once on an empty inbox: nothing to do.
    [first] = dagster.wait("a first tick of the inbox sensor", ticks, START_TIMEOUT)[-1:]
    assert first["status"] == "SKIPPED"

    landed, landed_at = time.monotonic(), time.time()
    _drop(tmp_path / "inbox", "customers.csv", CUSTOMERS)
    _drop(tmp_path / "inbox", "email_audience.csv", AUDIENCE)

    newsletter = emulator.email.list_named("Newsletter")

    def delivered() -> bool:
        with emulator.email.lock:
            return {"ada@example.com", "grace@example.com"} <= set(newsletter.contacts)

    dagster.wait("the emulator holding the audience", delivered)
    latency, delivered_at = time.monotonic() - landed, time.time()

    def finished() -> dict[str, Any] | None:
        runs = dagster.query(SENSOR_RUNS)["runsOrError"]["results"]
        done = [r for r in runs if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
        return done[0] if done else None

    run = dagster.wait("the sensor's run to end", finished)
    assert run["status"] == "SUCCESS", run

    # Where the time went, from the tick that requested the run to the run's end.
    [tick] = [t for t in ticks() if run["runId"] in t["runIds"]]
    stamps = _run_stages(tmp_path / "dagster_home", run["runId"])
    stages = [stamps[what] for what in RUN_STAGES.values()]
    assert stages == sorted(stages), stamps
    assert landed_at <= tick["timestamp"] <= stamps["run enqueued"]  # a tick after the drop
    stamps["sensor tick started"] = tick["timestamp"]
    stamps["emulator holds the rows (seen by this test)"] = delivered_at
    print(
        f"\nfiles landed -> emulator holds their rows: {latency:.1f} s\n"
        + _breakdown(landed_at, stamps)
    )
    assert latency < LATENCY_BOUND
    # Only the chains of the two tables that landed: no SMS audience, no order files.
    assert {"/".join(k["path"]) for k in run["assetSelection"]} == {
        *(
            f"{layer}/customers{s}"
            for layer, s in (("raw", ""), ("clean", ""), ("clean", "_rejects"))
        ),
        *(
            f"{layer}/email_audience{s}"
            for layer, s in (("raw", ""), ("clean", ""), ("clean", "_rejects"))
        ),
        "listrak/customer_file",
        "listrak/email_audience",
        "listrak/email_audience_rejects",
        "erasure/retention",  # after every table's rejects
        "erasure/reappearances",  # likewise
    }
    [uploaded] = [p for p in sftp.root.iterdir() if p.name.startswith("Listrak_Customer_")]
    assert "ada@example.com" in uploaded.read_text(encoding="utf-8")

    # Lineage and checks as the UI shows them.
    nodes = {"/".join(n["assetKey"]["path"]): n for n in dagster.query(ASSET_NODES)["assetNodes"]}
    deps = {"/".join(k["path"]) for k in nodes["listrak/customer_file"]["dependencyKeys"]}
    assert deps == {"clean/customers"}
    guard = nodes["clean/email_audience"]["assetChecksOrError"]["checks"]
    assert {"name": "removal_guard", "blocking": True} in guard
    for check in ("schema_valid", "conservation"):
        [execution] = dagster.query(
            CHECK_EXECUTIONS, assetKey={"path": ["clean", "customers"]}, checkName=check
        )["assetCheckExecutions"]
        assert execution == {"runId": run["runId"], "status": "SUCCEEDED"}, check

    # The latest materializations' metadata.
    keys = [{"path": ["raw", "customers"]}, {"path": ["listrak", "customer_file"]}]
    latest = {
        "/".join(n["assetKey"]["path"]): {
            e["label"]: e.get("intValue", e.get("text"))
            for e in n["assetMaterializations"][0]["metadataEntries"]
        }
        for n in dagster.query(LATEST, keys=keys)["assetNodes"]
    }
    assert latest["raw/customers"]["dagster/row_count"] == 2
    assert len(str(latest["raw/customers"]["input_fingerprint"])) == 16
    assert latest["listrak/customer_file"]["dagster/row_count"] == 2
