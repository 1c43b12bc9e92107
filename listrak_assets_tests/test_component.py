"""A Listrak destination inside another Dagster project: a small project in a temporary folder
whose own assets (polars frames) feed the `ListrakComponent` through its `defs.yaml`, run
through Dagster against the emulator and the sandbox SFTP server; `dagster definitions
validate` on it; and two destinations side by side in one Definitions."""

from __future__ import annotations

import datetime as dt
import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from listrak_assets.defs.destination import listrak_definitions
from listrak_assets.defs.keys import ResourceKeys
from listrak_assets.listrak.auth import API_URL_ENV, AUTH_URL_ENV, Integration
from listrak_assets.sandbox.emulator import Emulator
from listrak_assets.schemas import TABLES
from listrak_assets_tests.conftest import INSTANCE_CONFIG, REPO, failure_messages
from listrak_assets_tests.sftp_servers import SftpServer
from listrak_assets_tests.test_email_sink import membership
from listrak_assets_tests.test_files import read_listrak_csv

ASSETS = """
import dagster as dg
import polars as pl


@dg.asset(key=["shop", "customers"])
def customers() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "email": ["ann@example.com", "bob@example.com", "not-an-email"],
            "cust_no": [101, 102, 103],
            "FirstName": ["Ann", "Bob", "Cy"],
            "loyalty_points": [5, 7, 9],
        }
    )


@dg.asset(key=["shop", "subscribers"])
def subscribers() -> pl.DataFrame:
    return pl.DataFrame({"Email": ["ann@example.com", "dee@example.com"]})
"""

DEFINITIONS = """
from pathlib import Path

import dagster as dg

from shop import assets

ROOT = Path(__file__).resolve().parents[1]

defs = dg.Definitions.merge(
    dg.Definitions(
        assets=dg.load_assets_from_modules([assets]),
        resources={"io_manager": dg.FilesystemIOManager(base_dir=str(ROOT / "storage"))},
    ),
    dg.load_from_defs_folder(path_within_project=ROOT),
)
"""

COMPONENT = {
    "type": "listrak_assets.defs.component.ListrakComponent",
    "attributes": {
        "inputs": {"customers": "shop/customers", "email_audience": "shop/subscribers"},
        "settings": "listrak.yaml",
        "key_prefix": ["crm"],
        "resource_keys": {
            "settings": "crm_listrak_settings",
            "io_manager": "crm_listrak_io_manager",
            "listrak_email": "crm_listrak_email",
            "listrak_sms": "crm_listrak_sms",
            "sftp": "crm_listrak_sftp",
        },
        "columns": {"customers": {"cust_no": "customernumber", "FirstName": "firstname"}},
    },
}


def make_project(root: Path, remote_folder: str = "/", fingerprint: str | None = None) -> Path:
    """The host project: package `shop` with its assets, a definitions module that loads its
    defs folder, and the component's defs.yaml and listrak.yaml."""
    package = root / "shop"
    folder = package / "defs" / "listrak"
    folder.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.dg.project]\nroot_module = "shop"\n')
    (package / "__init__.py").write_text("")
    (package / "defs" / "__init__.py").write_text("")
    (package / "assets.py").write_text(textwrap.dedent(ASSETS))
    (package / "definitions.py").write_text(textwrap.dedent(DEFINITIONS))
    (folder / "defs.yaml").write_text(yaml.safe_dump(COMPONENT))
    settings = yaml.safe_load((REPO / "listrak.yaml").read_text())
    settings.update(inbox=str(root / "inbox"), warehouse=str(root / "warehouse"))
    settings["email"].update(poll_interval_seconds=0.01, poll_timeout_seconds=30)
    settings["sftp"].update(remote_folder=remote_folder, host_key_fingerprint=fingerprint)
    (folder / "listrak.yaml").write_text(yaml.safe_dump(settings))
    return root


def test_a_host_project_feeds_listrak_through_the_component(
    tmp_path: Path,
    emulator: Emulator,
    sandbox_server: SftpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remote, local = sandbox_server.folder("component")
    root = make_project(tmp_path / "host", remote, sandbox_server.host_key_fingerprint)
    creds = emulator.credentials[Integration.EMAIL]
    env = {
        Integration.EMAIL.client_id_env: creds.client_id,
        Integration.EMAIL.client_secret_env: creds.client_secret,
        API_URL_ENV: emulator.api_url,
        AUTH_URL_ENV: emulator.auth_url,
        "LISTRAK_SFTP_HOST": sandbox_server.host,
        "LISTRAK_SFTP_PORT": str(sandbox_server.port),
        "LISTRAK_SFTP_USERNAME": sandbox_server.username,
        "LISTRAK_SFTP_KNOWN_HOSTS": str(sandbox_server.known_hosts),
        **(
            {"LISTRAK_SFTP_PASSWORD": sandbox_server.password}
            if sandbox_server.password
            else {"LISTRAK_SFTP_PRIVATE_KEY": str(sandbox_server.keys.plain)}
        ),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.syspath_prepend(str(root))
    for name in [m for m in sys.modules if m == "shop" or m.startswith("shop.")]:
        monkeypatch.delitem(sys.modules, name)
    defs: dg.Definitions = importlib.import_module("shop.definitions").defs

    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {
        "shop/customers",
        "shop/subscribers",
        "crm/raw/customers",
        "crm/clean/customers",
        "crm/clean/customers_rejects",
        "crm/raw/email_audience",
        "crm/clean/email_audience",
        "crm/clean/email_audience_rejects",
        "crm/listrak/email_audience",
        "crm/listrak/email_audience_rejects",
        "crm/listrak/customer_file",
    }
    with dg.instance_for_test(overrides=INSTANCE_CONFIG) as instance:
        job = defs.resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        assert result.success, failure_messages(result)
        started = instance.get_run_record_by_id(result.run_id)
        assert started is not None
        day = started.create_timestamp.astimezone(dt.UTC).strftime("%Y%m%d")

    # The audience arrived in Listrak's list; the host's io_manager kept its own assets.
    assert membership(emulator) == {"ann@example.com": "on", "dee@example.com": "on"}
    assert (root / "storage" / "shop" / "customers").exists()
    assert not (root / "storage" / "crm").exists()
    raw = pl.read_parquet(root / "warehouse" / "crm" / "raw" / "customers.parquet")
    assert raw["_source_file"].to_list() == ["shop/customers"] * 3
    assert raw["_source_row"].to_list() == [1, 2, 3]
    rejects = pl.read_parquet(root / "warehouse" / "crm" / "clean" / "customers_rejects.parquet")
    assert rejects.height == 1

    # The customer file on the server: the mapped columns, the invalid row left out.
    [uploaded] = [p for p in local.iterdir() if p.name == f"Listrak_Customer_{day}.csv"]
    sent = read_listrak_csv(uploaded, TABLES["customers"])
    assert sent.select("email", "customernumber", "firstname").rows() == [
        ("ann@example.com", "101", "Ann"),
        ("bob@example.com", "102", "Bob"),
    ]


def test_dagster_validates_the_host_project(tmp_path: Path) -> None:
    root = make_project(tmp_path / "host")
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-m", "shop.definitions"],
        cwd=root,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path), "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "All code locations passed validation" in done.stderr + done.stdout


@dg.asset(key=["shop", "customers"])
def customers() -> pl.DataFrame:
    return pl.DataFrame({"email": ["ann@example.com"]})


@dg.asset(key=["shop", "subscribers"])
def subscribers() -> pl.DataFrame:
    return pl.DataFrame({"email": ["ann@example.com"]})


def test_two_destinations_load_beside_the_host_without_collisions() -> None:
    inputs = {"customers": "shop/customers", "email_audience": "shop/subscribers"}
    host = dg.Definitions(
        assets=[customers, subscribers],
        resources={
            "io_manager": dg.FilesystemIOManager(),
            "settings": dg.ResourceDefinition.none_resource(),
        },
    )
    first = listrak_definitions(
        {"customers": ["shop", "customers"]},
        key_prefix=["listrak_us"],
        resource_keys=ResourceKeys.prefixed("us_"),
    )
    second = listrak_definitions(
        inputs, key_prefix=["listrak_eu"], resource_keys=ResourceKeys.prefixed("eu_")
    )
    defs = dg.Definitions.merge(host, first, second)
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    us = {k for k in keys if k.startswith("listrak_us/")}
    eu = {k for k in keys if k.startswith("listrak_eu/")}
    # Only the mapped tables' channels: the first has no audience, so no email sink.
    assert "listrak_us/listrak/customer_file" in us
    assert not any("email" in k for k in us)
    assert {"listrak_eu/listrak/email_audience", "listrak_eu/listrak/customer_file"} <= eu
    assert keys == {"shop/customers", "shop/subscribers"} | us | eu
    assert {"io_manager", "settings", "us_io_manager", "eu_io_manager", "us_settings"} <= set(
        defs.resources or {}
    )
    # Both read the host's asset, each through its own raw step.
    for prefix in ("listrak_us", "listrak_eu"):
        node = graph.get(dg.AssetKey([prefix, "raw", "customers"]))
        assert node.parent_keys == {dg.AssetKey(["shop", "customers"])}


def test_a_prefix_or_resource_keys_without_inputs_is_refused() -> None:
    with pytest.raises(ValueError, match="need `inputs`"):
        listrak_definitions(key_prefix=["other"])


def test_an_unknown_table_is_refused() -> None:
    with pytest.raises(ValueError, match="no Listrak table called audience"):
        listrak_definitions({"audience": "shop/subscribers"})
