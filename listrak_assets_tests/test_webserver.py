"""The real `dagster-webserver`, asked through its GraphQL API what a user sees in the UI.

Slower than the other tests (a webserver, its code server and a run worker start): ~15 s.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from listrak_assets.defs.sftp_sinks import FILE_ASSETS
from listrak_assets.sandbox.emulator import run_emulator
from listrak_assets.sandbox.sftp_server import run_sandbox_sftp
from listrak_assets.schemas import TABLES

REPO = Path(__file__).resolve().parents[1]
LOCATION = "listrak_assets"
REPOSITORY = "__repository__"
START_TIMEOUT = 60.0
RUN_TIMEOUT = 60.0

# The repository's dagster.yaml (pools of one slot, no telemetry), but the webserver alone has
# no daemon to dequeue runs: launch them straight away instead (so no queue settings either).
INSTANCE = yaml.safe_load((REPO / "dagster.yaml").read_text())
INSTANCE.pop("run_queue", None)
INSTANCE["run_coordinator"] = {
    "module": "dagster.core.run_coordinator",
    "class": "DefaultRunCoordinator",
}
INSTANCE_YAML = yaml.safe_dump(INSTANCE)
# Erasure's input tables, suppression list and retention, beside the Listrak tables.
ERASURE_ASSETS = {
    "raw/forget",
    "clean/forget",
    "clean/forget_rejects",
    "erasure/suppression",
    "erasure/retention",
    "erasure/reappearances",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log
        self.http = httpx.Client(base_url=url, timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]

    def query(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.http.post("/graphql", json={"query": query, "variables": variables})
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]


def _wait_until_up(server: Server) -> None:
    """Wait for /server_info, then for the code location to finish loading."""
    deadline = time.monotonic() + START_TIMEOUT
    status = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"dagster-webserver exited ({server.process.returncode}):\n{server.output()}"
            )
        try:
            if server.http.get("/server_info", timeout=2).status_code == 200:
                data = server.query(
                    "{ locationStatusesOrError { __typename"
                    " ... on WorkspaceLocationStatusEntries { entries { name loadStatus } } } }"
                )
                entries = data["locationStatusesOrError"].get("entries", [])
                status = {e["name"]: e["loadStatus"] for e in entries}.get(LOCATION)
                if status == "LOADED":
                    _fail_on_load_error(server)
                    return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(
        f"webserver not ready after {START_TIMEOUT:.0f} s (location {status}):\n{server.output()}"
    )


def _fail_on_load_error(server: Server) -> None:
    entry = server.query(
        "query($name: String!) { workspaceLocationEntryOrError(name: $name) {"
        " ... on WorkspaceLocationEntry { locationOrLoadError {"
        " __typename ... on PythonError { message causes { message } } } } } }",
        name=LOCATION,
    )["workspaceLocationEntryOrError"]
    loaded = entry["locationOrLoadError"]
    if loaded["__typename"] == "PythonError":
        pytest.fail(f"{LOCATION} failed to load: {_root_cause(loaded)}\n{server.output()}")


@pytest.fixture(scope="module")
def sftp_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The file sinks of the refresh run send to a local SFTP server."""
    with run_sandbox_sftp(tmp_path_factory.mktemp("sftp")) as sftp:
        yield sftp.env()


@pytest.fixture(scope="module")
def listrak_env() -> Iterator[dict[str, str]]:
    """The email sink of the refresh run sends to the Listrak emulator."""
    with run_emulator() as listrak:
        yield listrak.env()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    sftp_env: dict[str, str],
    listrak_env: dict[str, str],
) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("webserver")
    home, inbox = root / "dagster_home", root / "inbox"
    home.mkdir()
    inbox.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    settings = yaml.safe_load((REPO / "listrak.yaml").read_text())
    settings.update(inbox="inbox", warehouse="warehouse")
    (root / "listrak.yaml").write_text(yaml.safe_dump(settings))
    (inbox / "customers.csv").write_text(
        "Email,FirstName\nada@example.com,Ada\ngrace@example.com,Grace\n", encoding="utf-8"
    )
    # The audiences' files too: a missing one is not an empty audience, and fails the run.
    (inbox / "email_audience.csv").write_text(
        "email\nada@example.com\ngrace@example.com\n", encoding="utf-8"
    )
    (inbox / "sms_audience.csv").write_text("phone\n+12125550001\n", encoding="utf-8")
    # And the other commerce files, header-only: a missing export fails its file sink.
    for table in FILE_ASSETS:
        if table != "customers":
            header = ",".join(TABLES[table].column_names)
            (inbox / f"{table}.csv").write_text(header + "\n", encoding="utf-8")

    port = _free_port()
    env = {**os.environ, **sftp_env, **listrak_env, "DAGSTER_HOME": str(home)}
    env["LISTRAK_CONFIG"] = str(root / "listrak.yaml")
    executable = shutil.which("dagster-webserver", path=str(Path(sys.executable).parent))
    command = [executable or "dagster-webserver", "-w", "workspace.yaml", "-h", "127.0.0.1"]
    log = root / "webserver.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "-p", str(port)], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_up(server)
        yield server
    finally:
        server.http.close()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


ASSET_NODES = """
query {
  assetNodes {
    assetKey { path }
    groupName
    description
    dependencyKeys { path }
    assetChecksOrError {
      __typename
      ... on AssetChecks { checks { name blocking } }
    }
    metadataEntries {
      label
      ... on TableSchemaMetadataEntry { schema { columns { name type } } }
    }
  }
}
"""


@pytest.fixture(scope="module")
def nodes(server: Server) -> dict[str, dict[str, Any]]:
    data = server.query(ASSET_NODES)
    return {"/".join(n["assetKey"]["path"]): n for n in data["assetNodes"]}


def _keys(node: dict[str, Any], field: str) -> set[str]:
    return {"/".join(k["path"]) for k in node[field]}


def _checks(node: dict[str, Any]) -> dict[str, bool]:
    checks = node["assetChecksOrError"]
    assert checks["__typename"] == "AssetChecks", checks
    return {c["name"]: c["blocking"] for c in checks["checks"]}


def _columns(node: dict[str, Any]) -> list[str]:
    schema = {e["label"]: e for e in node["metadataEntries"]}.get("dagster/column_schema")
    assert schema is not None, f"no dagster/column_schema on {node['assetKey']['path']}"
    return [c["name"] for c in schema["schema"]["columns"]]


def test_every_table_has_raw_clean_and_rejects(nodes: dict[str, dict[str, Any]]) -> None:
    tables = ["customers", "products", "orders", "order_items", "email_audience", "sms_audience"]
    assert sorted(TABLES) == sorted(tables)
    expected = {k for t in tables for k in (f"raw/{t}", f"clean/{t}", f"clean/{t}_rejects")}
    assert {k for k in nodes if not k.startswith("listrak/")} == expected | ERASURE_ASSETS
    assert {f"listrak/{name}" for name in FILE_ASSETS.values()} <= set(nodes)
    for key, node in nodes.items():
        assert node["groupName"] == key.split("/")[0]
        assert node["description"], f"{key} has no description"


def test_lineage_runs_raw_to_clean(nodes: dict[str, dict[str, Any]]) -> None:
    for table in TABLES:
        # Cleaning waits for the suppression list: a forgotten person is never cleaned in.
        upstream = {f"raw/{table}", "erasure/suppression"}
        assert _keys(nodes[f"clean/{table}"], "dependencyKeys") == upstream
        assert _keys(nodes[f"clean/{table}_rejects"], "dependencyKeys") == upstream
        assert _keys(nodes[f"raw/{table}"], "dependencyKeys") == set()


def test_checks_show_on_their_assets(nodes: dict[str, dict[str, Any]]) -> None:
    customers = _checks(nodes["clean/customers"])
    assert customers == {"schema_valid": True, "conservation": True, "key_unique": False}
    order_items = _checks(nodes["clean/order_items"])
    assert {"items_have_orders", "items_have_products"} <= set(order_items)
    assert "orders_have_customers" in _checks(nodes["clean/orders"])
    assert _checks(nodes["raw/customers"]) == {}


def test_column_schema_is_shown_before_any_run(nodes: dict[str, dict[str, Any]]) -> None:
    columns = _columns(nodes["clean/customers"])
    assert columns[0] == "email"
    assert {"firstname", "mobilephone", "zipcode"} <= set(columns)
    assert "reason" in _columns(nodes["clean/customers_rejects"])


LAUNCH = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""

RUN = """
query($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      status
      assetMaterializations {
        assetKey { path }
        metadataEntries {
          label
          ... on IntMetadataEntry { intValue }
        }
      }
    }
  }
}
"""

CHECK_EXECUTIONS = """
query($assetKey: AssetKeyInput!, $checkName: String!) {
  assetCheckExecutions(assetKey: $assetKey, checkName: $checkName, limit: 1) {
    runId
    status
  }
}
"""

FAILURE_EVENTS = """
query($runId: ID!) {
  logsForRun(runId: $runId) {
    ... on EventConnection {
      events {
        __typename
        ... on ExecutionStepFailureEvent { stepKey error { message causes { message } } }
        ... on RunFailureEvent { message }
      }
    }
  }
}
"""


def _root_cause(error: dict[str, Any] | None) -> str:
    if not error:
        return "(no error)"
    return ([error, *error["causes"]][-1]["message"]).strip()


def test_refresh_run_materializes_customers(server: Server) -> None:
    params = {
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "jobName": "refresh",
        },
    }
    launched = server.query(LAUNCH, params=params)["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        run = server.query(RUN, runId=run_id)["runOrError"]
        if run["status"] in {"SUCCESS", "FAILURE", "CANCELED"}:
            break
        assert time.monotonic() < deadline, (
            f"run {run_id} still {run['status']} after {RUN_TIMEOUT:.0f} s"
        )
        time.sleep(0.5)
    if run["status"] != "SUCCESS":
        events = server.query(FAILURE_EVENTS, runId=run_id)["logsForRun"].get("events", [])
        failures = [
            f"{e['stepKey']}: {_root_cause(e['error'])}"
            if e["__typename"] == "ExecutionStepFailureEvent"
            else e["message"]
            for e in events
            if "Failure" in e["__typename"]
        ]
        pytest.fail(f"run {run_id} ended {run['status']}: {failures}\n{server.output()}")

    rows = {
        "/".join(m["assetKey"]["path"]): {
            e["label"]: e.get("intValue") for e in m["metadataEntries"]
        }
        for m in run["assetMaterializations"]
    }
    assert len([k for k in rows if not k.startswith("listrak/")]) == 3 * len(TABLES) + len(
        ERASURE_ASSETS
    )
    assert {f"listrak/{name}" for name in FILE_ASSETS.values()} <= set(rows)
    assert {"listrak/email_audience", "listrak/email_audience_rejects"} <= set(rows)
    assert rows["raw/customers"]["dagster/row_count"] == 2
    assert rows["clean/customers"]["dagster/row_count"] == 2
    assert rows["clean/customers"]["rejected_rows"] == 0
    assert rows["clean/customers_rejects"]["dagster/row_count"] == 0

    key = {"path": ["clean", "customers"]}
    for check in ("schema_valid", "conservation", "key_unique"):
        [execution] = server.query(CHECK_EXECUTIONS, assetKey=key, checkName=check)[
            "assetCheckExecutions"
        ]
        assert execution == {"runId": run_id, "status": "SUCCEEDED"}, check
