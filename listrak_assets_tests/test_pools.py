"""One publisher at a time: the sinks run in concurrency pools of one slot (`defs/pools.py`,
the repository's `dagster.yaml`), a second run's sink waits for the slot, and a killed run gives
its slot back. Runs go through Dagster on an instance configured like the demo's.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.events import EngineEventData
from dagster._core.instance.config import PoolGranularity
from dagster._serdes import serialize_value

from listrak_assets.definitions import defs
from listrak_assets.defs.email_sink import listrak_email_audience
from listrak_assets.defs.pools import (
    EMAIL_POOL,
    HOST_TAG,
    POOLS,
    SFTP_POOL,
    SMS_POOL,
    host_tags,
    release_orphaned_slots,
    worker_pid,
)
from listrak_assets.defs.resources import ListrakSftp
from listrak_assets.defs.sftp_sinks import FILE_SINKS, file_key
from listrak_assets.defs.sms_sink import listrak_sms_audience
from listrak_assets_tests.conftest import (
    INSTANCE_CONFIG,
    REPO,
    Workspace,
    failure_messages,
    materialization,
)
from listrak_assets_tests.sftp_servers import CuttingProxy, SftpServer
from listrak_assets_tests.test_webserver import (
    LAUNCH,
    LOCATION,
    REPOSITORY,
    Server,
    _free_port,
    _wait_until_up,
)

WAIT = 60.0  # seconds: generous bounds for a process to start and a run to get going
HOLDER = "0000aaaa-another-run-holding-the-slot"
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def _until(condition, what: str, timeout: float = WAIT) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not after {timeout:.0f} s"
        time.sleep(0.05)


def _customers_built(workspace: Workspace, server: SftpServer) -> tuple[str, Path]:
    """The customers table built, and the settings pointing the file sinks at a new folder of
    `server`, trusted by fingerprint (so through a relay too)."""
    shutil.copy(REPO / "data" / "inbox" / "customers.csv", workspace.inbox)
    remote, local = server.folder("pool")
    workspace.settings(
        sftp={"remote_folder": remote, "host_key_fingerprint": server.host_key_fingerprint}
    )
    built = workspace.materialize("customers")
    assert built.success, failure_messages(built)
    return remote, local


def _publish(workspace: Workspace, sftp: ListrakSftp) -> dg.ExecuteInProcessResult:
    """A run of the customer file sink alone (its table is already built)."""
    return dg.materialize(
        list(defs.assets or []),
        selection=[file_key("customers")],
        resources={**workspace.resources(), "sftp": sftp},
        instance=workspace.instance,
        tags=host_tags(),
        raise_on_error=False,
    )


def _claimed_on(instance: dg.DagsterInstance, pool: str) -> set[str]:
    """The runs holding a slot of `pool`."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    return {slot.run_id for slot in info.claimed_slots}


def _claimed(workspace: Workspace, pool: str) -> set[str]:
    return _claimed_on(workspace.instance, pool)


# -- configuration ---------------------------------------------------------------------------


def test_each_sink_publishes_in_its_destinations_pool() -> None:
    pools = {
        key.to_user_string(): assets.op.pool
        for assets in defs.assets or []
        if isinstance(assets, dg.AssetsDefinition)
        for key in assets.keys
    }
    assert pools.pop("listrak/email_audience") == pools.pop("listrak/email_audience_rejects")
    assert listrak_email_audience.op.pool == EMAIL_POOL
    assert pools.pop("listrak/sms_audience") == pools.pop("listrak/sms_audience_rejects")
    assert listrak_sms_audience.op.pool == SMS_POOL
    for sink in FILE_SINKS:
        assert pools.pop(sink.key.to_user_string()) == SFTP_POOL
    assert set(POOLS) == {EMAIL_POOL, SMS_POOL, SFTP_POOL}
    # Raw and clean tables are built in parallel runs as before.
    assert set(pools.values()) == {None}, pools


def test_the_repositorys_dagster_yaml_gives_every_pool_one_slot(tmp_path: Path) -> None:
    with dg.instance_for_test(overrides=INSTANCE_CONFIG) as instance:
        config = instance.event_log_storage.get_pool_config()
        assert config.default_pool_limit == 1
        assert config.pool_granularity == PoolGranularity.OP
        assert instance.event_log_storage.supports_global_concurrency_limits
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0
        assert instance.run_monitoring_max_resume_run_attempts == 0
        assert not instance.telemetry_enabled
        assert "MONITORING" in instance.get_required_daemon_types()

    # `make demo` and `make ui` install it in DAGSTER_HOME, and keep one that is there.
    home = tmp_path / "home"
    make = ["make", "--no-print-directory", "instance", f"DAGSTER_HOME={home}"]
    subprocess.run(make, cwd=REPO, check=True, capture_output=True)
    assert (home / "dagster.yaml").read_text() == (REPO / "dagster.yaml").read_text()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    kept = subprocess.run(make, cwd=REPO, check=True, capture_output=True, text=True)
    assert "kept as it is" in kept.stdout
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


# -- the pool at work ------------------------------------------------------------------------


def test_a_second_runs_sink_waits_while_another_run_holds_the_slot(
    workspace: Workspace, sandbox_server: SftpServer
) -> None:
    """Another run holds the SFTP pool's slot: this run's file sink waits, publishing nothing,
    and goes ahead as soon as the slot is free."""
    _, local = _customers_built(workspace, sandbox_server)
    storage = workspace.instance.event_log_storage
    storage.initialize_concurrency_limit_to_default(SFTP_POOL)
    assert storage.claim_concurrency_slot(SFTP_POOL, HOLDER, "listrak__customer_file").is_claimed

    results: list[dg.ExecuteInProcessResult] = []
    run = threading.Thread(
        target=lambda: results.append(_publish(workspace, sandbox_server.resource()))
    )
    run.start()
    try:
        _until(
            lambda: (
                storage.get_concurrency_info(SFTP_POOL).pending_run_ids - {HOLDER}
                or not run.is_alive()
            ),
            "the second run's sink step never asked for the slot",
        )
        assert _claimed(workspace, SFTP_POOL) == {HOLDER}
        assert run.is_alive() and list(local.iterdir()) == []  # waiting, nothing sent
    finally:
        storage.free_concurrency_slots_for_run(HOLDER)
        run.join(WAIT)
    assert not run.is_alive(), "the sink did not go ahead once the slot was free"
    [result] = results
    assert result.success, failure_messages(result)
    [name] = [p.name for p in local.iterdir()]
    assert materialization(result, file_key("customers"))["remote_path"].endswith(name)
    assert _claimed(workspace, SFTP_POOL) == set()


def test_a_demo_run_killed_while_publishing_gives_its_slot_back(
    workspace: Workspace, sandbox_server: SftpServer
) -> None:
    """SIGKILL of a run executing in its own process (as `make demo` runs) while its sink holds
    the slot: the run stays 'started' with the slot taken, so every later sink would wait for
    ever; `release_orphaned_slots` (called by `make demo` before it runs) marks it failed and
    frees the slot, and the next run publishes."""
    remote, local = _customers_built(workspace, sandbox_server)
    target = (sandbox_server.host, sandbox_server.port)
    # The relay stalls the first connection: the sink is stuck in its upload, slot in hand.
    with CuttingProxy(target, cuts=[0], hold=True) as proxy:
        fields = sandbox_server.resource(port=proxy.port, known_hosts=None).model_dump()
        args = {
            "instance_ref": serialize_value(workspace.instance.get_ref()),
            "settings": str(workspace.config),
            "sftp": {k: v for k, v in fields.items() if v is not None},
            "table": "customers",
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "listrak_assets_tests.sink_run", json.dumps(args)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            _until(
                lambda: proxy.cut_event.is_set() or worker.poll() is not None,
                "the run never reached its upload",
            )
            assert worker.poll() is None, worker.communicate()[0].decode()[-3000:]
            [run_id] = _claimed(workspace, SFTP_POOL)
            os.kill(worker.pid, signal.SIGKILL)
            worker.communicate()
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    run = workspace.instance.get_run_by_id(run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.STARTED
    assert _claimed(workspace, SFTP_POOL) == {run_id}  # nobody else frees it
    assert list(local.iterdir()) == []

    assert release_orphaned_slots(workspace.instance) == [run_id]
    run = workspace.instance.get_run_by_id(run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
    [failure] = workspace.instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert f"pid {worker.pid}" in failure.message and "killed" in failure.message
    assert _claimed(workspace, SFTP_POOL) == set()
    assert release_orphaned_slots(workspace.instance) == []  # nothing left to free

    rerun = _publish(workspace, sandbox_server.resource(known_hosts=None))
    assert rerun.success, failure_messages(rerun)
    [name] = [p.name for p in local.iterdir()]
    assert materialization(rerun, file_key("customers"))["remote_path"] == f"{remote}/{name}"


def test_a_live_run_and_a_run_of_another_machine_keep_their_slots(workspace: Workspace) -> None:
    """Only runs of this machine whose process is gone are failed: a run whose process lives,
    or a run executed by another machine (its pid means nothing here), is left alone."""
    instance = workspace.instance
    storage = instance.event_log_storage
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          check=True, capture_output=True, text=True)  # fmt: skip
    runs = {
        EMAIL_POOL: (host_tags(), os.getpid()),  # this machine, alive
        SMS_POOL: ({HOST_TAG: "another-machine"}, int(gone.stdout)),
    }
    for pool, (tags, pid) in runs.items():
        run = instance.create_run_for_job(dg.GraphDefinition(pool).to_job(), tags=tags)
        instance.report_engine_event("Executing steps", run, EngineEventData.in_process(pid))
        storage.initialize_concurrency_limit_to_default(pool)
        assert storage.claim_concurrency_slot(pool, run.run_id, "sink").is_claimed
        runs[pool] = (tags, run.run_id)  # type: ignore[assignment]
    assert release_orphaned_slots(instance) == []
    for pool, (_, run_id) in runs.items():
        assert _claimed(workspace, pool) == {run_id}


# -- under `dagster dev` ---------------------------------------------------------------------


def _dagster_dev(root: Path, env: dict[str, str]) -> Server:
    """`dagster dev` (webserver, daemon, code server) as `make ui` starts it, in a process
    group of its own so that all of it can be stopped."""
    port = _free_port()
    executable = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
    command = [executable, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    log = root / "dagster_dev.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    return Server(f"http://127.0.0.1:{port}", process, log)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop `dagster dev` and its children (the webserver, daemon and code server, in its
    process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _launch_customer_file(server: Server) -> str:
    params = {
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "jobName": "__ASSET_JOB",
            "assetSelection": [{"path": file_key("customers").path}],
        }
    }
    launched = server.query(LAUNCH, params=params)["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def _status(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRunStatus | None:
    run = instance.get_run_by_id(run_id)
    return run.status if run else None


def test_under_dagster_dev_a_killed_run_gives_its_slot_back(
    tmp_path: Path, sandbox_server: SftpServer
) -> None:
    """`dagster dev` on a DAGSTER_HOME set up by `make instance`: a run is SIGKILLed while its
    file sink holds the SFTP pool's slot; the code server marks it failed, the monitoring
    daemon frees the slot, and the next run publishes. Slow (about a minute): the webserver,
    the daemon, the code server and two run processes start."""
    remote, local = sandbox_server.folder("dev")
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    inbox.mkdir()
    # The export the file sink publishes (an absent one fails it), never settled in the
    # sensor's eyes (`inbox_settle_seconds`: a day), so the inbox sensor starts nothing.
    shutil.copy(REPO / "data" / "inbox" / "customers.csv", inbox)
    subprocess.run(
        ["make", "--no-print-directory", "instance", f"DAGSTER_HOME={home}"],
        cwd=REPO, check=True, capture_output=True,
    )  # fmt: skip
    settings = yaml.safe_load((REPO / "listrak.yaml").read_text())
    sftp = {"remote_folder": remote, "host_key_fingerprint": sandbox_server.host_key_fingerprint}
    settings.update(
        inbox=str(inbox),
        warehouse=str(tmp_path / "warehouse"),
        sftp=sftp,
        inbox_settle_seconds=86_400,
    )
    config = tmp_path / "listrak.yaml"
    config.write_text(yaml.safe_dump(settings))

    # The customers table, built beforehand from a copy of the sample: the runs publish it.
    sample = tmp_path / "sample"
    sample.mkdir()
    shutil.copy(REPO / "data" / "inbox" / "customers.csv", sample)
    with dg.instance_for_test(overrides=INSTANCE_CONFIG) as scratch:
        workspace = Workspace(tmp_path, scratch)
        workspace.settings(**{**settings, "inbox": str(sample)})
        built = workspace.materialize("customers")
        assert built.success, failure_messages(built)
    config.write_text(yaml.safe_dump(settings))

    target = (sandbox_server.host, sandbox_server.port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTRAK_")}
    env |= {
        "DAGSTER_HOME": str(home),
        "LISTRAK_CONFIG": str(config),
        "LISTRAK_SFTP_HOST": sandbox_server.host,
        "LISTRAK_SFTP_USERNAME": sandbox_server.username,
        "LISTRAK_SFTP_PASSWORD": str(sandbox_server.password),
    }
    # The first connection stalls: the first run's sink is stuck in its upload, slot in hand.
    with (
        CuttingProxy(target, cuts=[0], hold=True) as proxy,
        dg.DagsterInstance.from_config(str(home)) as instance,
    ):
        server = _dagster_dev(tmp_path, env | {"LISTRAK_SFTP_PORT": str(proxy.port)})
        try:
            _wait_until_up(server)
            first = _launch_customer_file(server)
            _until(lambda: proxy.cut_event.is_set(), "the first run never reached its upload")
            _until(lambda: _claimed_on(instance, SFTP_POOL) == {first}, "no slot claimed")
            pid = worker_pid(instance, first)
            assert pid is not None and pid != server.process.pid
            os.kill(pid, signal.SIGKILL)

            _until(
                lambda: _status(instance, first) == dg.DagsterRunStatus.FAILURE,
                "the killed run was not marked failed",
            )
            _until(lambda: not _claimed_on(instance, SFTP_POOL), "the slot was not freed")

            second = _launch_customer_file(server)
            _until(
                lambda: _status(instance, second) in FINISHED,
                "the second run did not finish",
            )
            assert _status(instance, second) == dg.DagsterRunStatus.SUCCESS, server.output()
        finally:
            server.http.close()
            _stop_group(server.process)
    [name] = [p.name for p in local.iterdir()]
    assert name.startswith("Listrak_Customer_") and name.endswith(".csv")
