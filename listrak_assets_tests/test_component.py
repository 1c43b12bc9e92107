"""A Listrak destination inside another Dagster project: a small project in a temporary folder
whose own assets (a polars, a pandas and an Arrow table) feed the `ListrakComponent` through
its `defs.yaml`; the host's materialization makes Dagster's automation request the
destination's chain, which then runs against the emulator and the sandbox SFTP server;
settings inline in the YAML; the entry point `dg` lists components by; `dagster definitions
validate` on the host; and two destinations side by side in one Definitions."""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pytest
import yaml
from dagster.components.core.package_entry import (
    discover_entry_point_package_objects,
    is_scaffoldable_object_key,
)
from dagster.components.core.snapshot import get_package_entry_snap

from listrak_assets.defs.component import ListrakComponent
from listrak_assets.defs.destination import listrak_definitions
from listrak_assets.defs.keys import ResourceKeys
from listrak_assets.defs.local_copies import ledger_path
from listrak_assets.listrak.auth import API_URL_ENV, AUTH_URL_ENV, Integration
from listrak_assets.sandbox.emulator import Emulator
from listrak_assets.schemas import TABLES
from listrak_assets.settings import INBOX_ONLY, SettingsError, load_settings
from listrak_assets.suppression import SALT_ENV
from listrak_assets_tests.conftest import INSTANCE_CONFIG, REPO, failure_messages, materialization
from listrak_assets_tests.sftp_servers import SftpServer
from listrak_assets_tests.test_email_sink import membership
from listrak_assets_tests.test_erasure import EMAIL, SALT, _forget_posts, _mentions, _sent, traces
from listrak_assets_tests.test_files import read_listrak_csv

ASSETS = """
import dagster as dg
import pandas as pd
import polars as pl
import pyarrow as pa


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
def subscribers() -> pd.DataFrame:
    return pd.DataFrame({"Email": ["ann@example.com", "dee@example.com"]})


@dg.asset(key=["shop", "products"])
def products() -> pa.Table:
    return pa.table({"sku": ["SKU-1", "SKU-2"], "title": ["Mug", "Cap"], "price": [4.5, 12.0]})
"""

DEFINITIONS = """
from pathlib import Path
from typing import Any

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

COMPONENT: dict[str, Any] = {
    "type": "listrak_assets.defs.component.ListrakComponent",
    "attributes": {
        "inputs": {
            "customers": "shop/customers",
            "email_audience": "shop/subscribers",
            "products": "shop/products",
        },
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


def make_project(
    root: Path,
    remote_folder: str = "/",
    fingerprint: str | None = None,
    assets: str = ASSETS,
    component: dict[str, Any] | None = None,
    *,
    inline: dict[str, Any] | None = None,
) -> Path:
    """The host project: package `shop` with its assets, a definitions module that loads its
    defs folder, and the component's defs.yaml with its listrak.yaml beside it, or with
    `inline` settings (the repository's, updated with these) written in the defs.yaml."""
    package = root / "shop"
    folder = package / "defs" / "listrak"
    folder.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.dg.project]\nroot_module = "shop"\n')
    (package / "__init__.py").write_text("")
    (package / "defs" / "__init__.py").write_text("")
    (package / "assets.py").write_text(textwrap.dedent(assets))
    (package / "definitions.py").write_text(textwrap.dedent(DEFINITIONS))
    settings = yaml.safe_load((REPO / "listrak.yaml").read_text())
    settings.update(inbox=str(root / "inbox"), warehouse=str(root / "warehouse"))
    settings["erasure"] = {"ledger": str(root / "erasure" / "ledger.json")}
    settings["email"].update(poll_interval_seconds=0.01, poll_timeout_seconds=30)
    settings["sftp"].update(remote_folder=remote_folder, host_key_fingerprint=fingerprint)
    component = copy.deepcopy(component or COMPONENT)
    if inline is None:
        (folder / "listrak.yaml").write_text(yaml.safe_dump(settings))
    else:
        # Inline settings serve this destination alone: the inbox mode's keys are refused.
        own = {k: v for k, v in settings.items() if k not in INBOX_ONLY}
        component["attributes"]["settings"] = {**own, **inline}
    (folder / "defs.yaml").write_text(yaml.safe_dump(component))
    return root


def test_a_host_project_feeds_listrak_through_the_component(
    tmp_path: Path,
    emulator: Emulator,
    sandbox_server: SftpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remote, local = sandbox_server.folder("component")
    root = make_project(tmp_path / "host", remote, sandbox_server.host_key_fingerprint)
    host_env(emulator, sandbox_server, monkeypatch)
    defs = load_host(root, monkeypatch)

    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    destination = {
        "crm/raw/customers",
        "crm/clean/customers",
        "crm/clean/customers_rejects",
        "crm/raw/email_audience",
        "crm/clean/email_audience",
        "crm/clean/email_audience_rejects",
        "crm/raw/products",
        "crm/clean/products",
        "crm/clean/products_rejects",
        "crm/listrak/email_audience",
        "crm/listrak/email_audience_rejects",
        "crm/listrak/customer_file",
        "crm/listrak/product_file",
    }
    assert keys == {"shop/customers", "shop/subscribers", "shop/products"} | destination
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.instance_for_test(overrides=INSTANCE_CONFIG) as instance:
        # Nothing is requested before the host has built its tables.
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert requested(tick) == set()
        # The host materializes its own assets; the next automation tick requests the whole
        # destination, which the daemon would launch as a run of exactly those assets.
        shop = [dg.AssetKey(["shop", n]) for n in ("customers", "subscribers", "products")]
        host = job.execute_in_process(instance=instance, asset_selection=shop)
        assert host.success
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert requested(tick) == destination
        result = job.execute_in_process(
            instance=instance,
            asset_selection=[dg.AssetKey.from_user_string(k) for k in requested(tick)],
            raise_on_error=False,
        )
        assert result.success, failure_messages(result)
        # The checks on those assets ran with them (the removal guard among them).
        checked = {e.asset_check_key.name for e in result.get_asset_check_evaluations()}
        assert {"removal_guard", "schema_valid", "conservation"} <= checked
        # Sent once: the next tick requests nothing.
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert requested(tick) == set()
        started = instance.get_run_record_by_id(result.run_id)
        assert started is not None
        day = started.create_timestamp.astimezone(dt.UTC).strftime("%Y%m%d")

    # The audience (a pandas table upstream) arrived in Listrak's list; the host's io_manager
    # kept its own assets.
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
    # The product file, from an Arrow table upstream.
    [uploaded] = [p for p in local.iterdir() if p.name == f"Listrak_Product_Feed_{day}.csv"]
    sent = read_listrak_csv(uploaded, TABLES["products"])
    assert sent.select("sku", "title").rows() == [("SKU-1", "Mug"), ("SKU-2", "Cap")]


def load_host(root: Path, monkeypatch: pytest.MonkeyPatch) -> dg.Definitions:
    """The host project's Definitions, imported as `dagster dev` would (fresh each time)."""
    monkeypatch.syspath_prepend(str(root))
    for name in [m for m in sys.modules if m == "shop" or m.startswith("shop.")]:
        monkeypatch.delitem(sys.modules, name)
    defs: dg.Definitions = importlib.import_module("shop.definitions").defs
    return defs


def host_env(
    emulator: Emulator, sandbox_server: SftpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The environment pointing every resource at the emulator and the sandbox SFTP server."""
    creds = emulator.credentials[Integration.EMAIL]
    privacy = emulator.credentials[Integration.PRIVACY]
    env = {
        Integration.EMAIL.client_id_env: creds.client_id,
        Integration.EMAIL.client_secret_env: creds.client_secret,
        Integration.PRIVACY.client_id_env: privacy.client_id,
        Integration.PRIVACY.client_secret_env: privacy.client_secret,
        API_URL_ENV: emulator.api_url,
        AUTH_URL_ENV: emulator.auth_url,
        SALT_ENV: SALT,
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


def requested(tick: dg.EvaluateAutomationConditionsResult) -> set[str]:
    """The assets an automation tick requested, as the UI writes their keys."""
    return {
        r.key.to_user_string()
        for r in tick.results
        if isinstance(r.key, dg.AssetKey) and r.true_subset.size
    }


# With a settings file. Inline settings load through the same code
# (test_settings_inline_in_the_yaml_act_as_a_file_does loads such a project).
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


def test_settings_inline_in_the_yaml_act_as_a_file_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(
        tmp_path / "host",
        # A relative folder is relative to the defs.yaml, as in a listrak.yaml beside it.
        inline={"name": "CRM Listrak", "sftp": {"enabled": False}, "warehouse": "tables"},
    )
    defs = load_host(root, monkeypatch)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    # Read when the definitions load: the SFTP switch leaves the file sinks out ...
    assert "crm/listrak/email_audience" in keys
    assert not {k for k in keys if k.endswith("_file")}
    # ... and the name shows with the sinks.
    sink = graph.get(dg.AssetKey(["crm", "listrak", "email_audience"]))
    assert sink.metadata["destination"] == "CRM Listrak"
    assert sink.description is not None and "CRM Listrak" in sink.description
    # Read in the run, from the same inline settings: the warehouse folder.
    selection = [
        dg.AssetKey(["shop", "customers"]),
        dg.AssetKey(["crm", "raw", "customers"]),
        dg.AssetKey(["crm", "clean", "customers"]),
        dg.AssetKey(["crm", "clean", "customers_rejects"]),
    ]
    with dg.instance_for_test(overrides=INSTANCE_CONFIG) as instance:
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=selection, raise_on_error=False
        )
        assert result.success, failure_messages(result)
    tables = root / "shop" / "defs" / "listrak" / "tables"
    clean = pl.read_parquet(tables / "crm" / "clean" / "customers.parquet")
    assert clean["email"].to_list() == ["ann@example.com", "bob@example.com"]
    assert not (root / "warehouse").exists()


@pytest.mark.parametrize(
    ("inline", "message"),
    [
        ({"warehous": "tables"}, "bad setting 'warehous': Extra inputs are not permitted"),
        ({"sms": {"concurrency": 0}}, "bad setting 'sms.concurrency'"),
        ({"audience_primary_key": "email"}, "'audience_primary_key' does nothing"),
        ({"inbox": "exports"}, "'inbox' does nothing for a destination fed by upstream assets"),
    ],
    ids=["unknown", "out-of-range", "retired", "inbox-only"],
)
def test_a_bad_inline_setting_is_refused_when_the_project_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inline: dict[str, Any], message: str
) -> None:
    root = make_project(tmp_path / "host", inline=inline)
    with pytest.raises(Exception) as err:  # noqa: B017 - Dagster wraps the component's error
        load_host(root, monkeypatch)
    messages = []
    cause: BaseException | None = err.value
    while cause is not None:
        messages.append(str(cause))
        cause = cause.__cause__ or cause.__context__
    shown = "\n".join(messages)
    assert message in shown
    assert f"{root / 'shop' / 'defs' / 'listrak' / 'defs.yaml'}: settings" in shown


def test_the_factory_takes_settings_as_a_mapping() -> None:
    inputs = {"customers": "shop/customers"}
    defs = dg.Definitions.merge(
        dg.Definitions(assets=[customers]),
        listrak_definitions(inputs, settings={"sftp": {"enabled": False}}),
    )
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {"shop/customers", "raw/customers", "clean/customers", "clean/customers_rejects"}
    with pytest.raises(SettingsError, match="inline settings: bad setting 'sftpp'"):
        listrak_definitions(inputs, settings={"sftpp": {"enabled": False}})
    with pytest.raises(ValueError, match="settings given inline need `inputs`"):
        listrak_definitions(settings={"name": "CRM"})
    for key in ("schedule", "retention", "archive", "execution"):
        with pytest.raises(SettingsError, match=f"inline settings: '{key}' does nothing"):
            listrak_definitions(inputs, settings={key: {}})


def test_without_automation_no_asset_carries_a_condition() -> None:
    host = dg.Definitions(assets=[customers])
    inputs = {"customers": "shop/customers"}
    automated = dg.Definitions.merge(host, listrak_definitions(inputs)).resolve_asset_graph()
    manual = dg.Definitions.merge(
        host, listrak_definitions(inputs, automation_condition=None)
    ).resolve_asset_graph()
    made = {k for k in automated.get_all_asset_keys() if k.path[0] != "shop"}
    assert made == {k for k in manual.get_all_asset_keys() if k.path[0] != "shop"}
    assert len(made) == 4  # raw, clean, rejects, the customer file
    for key in made:
        assert automated.get(key).automation_condition == dg.AutomationCondition.eager()
        assert manual.get(key).automation_condition is None


def test_a_destination_added_beside_built_tables_waits_for_their_next_update() -> None:
    defs = dg.Definitions.merge(
        dg.Definitions(assets=[customers]), listrak_definitions({"customers": "shop/customers"})
    )
    with dg.instance_for_test() as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization(["shop", "customers"]))
        # Starting the automation sensor sends nothing by itself, on any tick ...
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert requested(tick) == set()
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert requested(tick) == set()
        # ... until the host updates the table.
        instance.report_runless_asset_event(dg.AssetMaterialization(["shop", "customers"]))
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert requested(tick) == {
            "raw/customers",
            "clean/customers",
            "clean/customers_rejects",
            "listrak/customer_file",
        }


def test_dg_finds_the_component_through_its_entry_point() -> None:
    [entry] = [
        e
        for e in importlib.metadata.entry_points(group="dagster_dg_cli.registry_modules")
        if e.name == "listrak_assets"
    ]
    assert entry.load().ListrakComponent is ListrakComponent
    # What `dg list components` lists and `dg scaffold defs` offers: Dagster's own discovery
    # of the registered modules, run in the project's environment.
    found = {key.to_typename(): key for key in discover_entry_point_package_objects()}
    key = found["listrak_assets.defs.component.ListrakComponent"]
    snap = get_package_entry_snap(key, ListrakComponent)
    assert snap.summary == "A Listrak destination fed by the project's own assets."
    assert is_scaffoldable_object_key(key)


def test_dg_list_components_shows_it(tmp_path: Path) -> None:
    dg_cli = Path(sys.executable).with_name("dg")
    done = subprocess.run(
        [str(dg_cli), "list", "components", "--json"],
        cwd=tmp_path, env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    listed = {item["key"]: item["summary"] for item in json.loads(done.stdout)["items"]}
    assert listed["listrak_assets.defs.component.ListrakComponent"] == (
        "A Listrak destination fed by the project's own assets."
    )


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


# A host project whose exports (CSV files the test rewrites between runs) feed the component,
# erasure requests included.
ERASURE_ASSETS = """
from pathlib import Path

import dagster as dg
import polars as pl

EXPORTS = Path(__file__).resolve().parents[1] / "exports"


def export(name: str) -> pl.DataFrame:
    return pl.read_csv(EXPORTS / f"{name}.csv", infer_schema=False)


@dg.asset(key=["shop", "customers"])
def customers() -> pl.DataFrame:
    return export("customers")


@dg.asset(key=["shop", "subscribers"])
def subscribers() -> pl.DataFrame:
    return export("subscribers")


@dg.asset(key=["shop", "forget_requests"])
def forget_requests() -> pl.DataFrame:
    return export("forget_requests")
"""

ERASURE_COMPONENT = {
    "type": "listrak_assets.defs.component.ListrakComponent",
    "attributes": {
        "inputs": {
            "customers": "shop/customers",
            "email_audience": "shop/subscribers",
            "forget": "shop/forget_requests",
        },
        "settings": "listrak.yaml",
        "key_prefix": ["crm"],
        "resource_keys": {
            "settings": "crm_settings",
            "io_manager": "crm_io_manager",
            "listrak_email": "crm_email",
            "listrak_privacy": "crm_privacy",
            "erasure": "crm_erasure",
            "sftp": "crm_sftp",
        },
        "columns": {"customers": {"cust_no": "customernumber"}},
    },
}

# Enough subscribers that one leaving stays within the removal guard's limits.
SUBSCRIBERS = ["ann", "bob", "cy", "dee", "eve", "fay"]


def test_a_host_projects_erasure_requests_reach_listrak_and_the_components_copies(
    tmp_path: Path,
    emulator: Emulator,
    sandbox_server: SftpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remote, local = sandbox_server.folder("component_erasure")
    root = make_project(
        tmp_path / "host",
        remote,
        sandbox_server.host_key_fingerprint,
        assets=ERASURE_ASSETS,
        component=ERASURE_COMPONENT,
    )
    exports = root / "exports"
    exports.mkdir()
    (exports / "customers.csv").write_text(
        f"email,cust_no\nann@example.com,101\n{EMAIL.upper()},102\n"
    )
    subscribers = [f"{name}@example.com" for name in SUBSCRIBERS]
    (exports / "subscribers.csv").write_text("\n".join(["email", *subscribers, EMAIL]) + "\n")
    (exports / "forget_requests.csv").write_text("email,phone\n")
    host_env(emulator, sandbox_server, monkeypatch)
    defs = load_host(root, monkeypatch)
    warehouse = root / "warehouse"
    sink = dg.AssetKey(["crm", "listrak", "forget_requests"])

    with dg.instance_for_test(overrides=INSTANCE_CONFIG) as instance:
        job = defs.resolve_implicit_global_asset_job_def()

        def run(*leave_out: str) -> dg.ExecuteInProcessResult:
            keys = defs.resolve_asset_graph().get_all_asset_keys()
            selection = [k for k in keys if k.to_user_string() not in leave_out]
            result = job.execute_in_process(
                instance=instance, asset_selection=selection, raise_on_error=False
            )
            assert result.success, failure_messages(result)
            return result

        # Before any request: the person reaches Listrak and the destination's copies.
        run()
        assert membership(emulator)[EMAIL] == "on"
        before = traces(warehouse)
        for place in ("crm/raw/customers", "crm/clean/email_audience", "state/"):
            assert any(t.startswith(place) for t in before), (place, before)

        # The host's erasure asset names them (in another spelling): one Forget request, and
        # no copy of them left in the destination's warehouse and mirror state. (The sinks
        # sit this run out, so that the mirror state still holds them when erasure starts; so do
        # the host's tables, so that the stored raw tables are as the first run left them.)
        (exports / "forget_requests.csv").write_text(f"email,phone\n {EMAIL.title()} ,\n")
        erased = run(
            "crm/listrak/email_audience",
            "crm/listrak/email_audience_rejects",
            "crm/listrak/customer_file",
            "shop/customers",
            "shop/subscribers",
            "crm/raw/customers",
            "crm/raw/email_audience",
        )
        assert _forget_posts(emulator) == 1
        # Its clean tables were cleaned again against its own ledger, not kept as unchanged.
        clean = materialization(erased, dg.AssetKey(["crm", "clean", "customers"]))
        assert clean["rejects_by_reason"] == {"forgotten": 1}, clean
        [record] = emulator.privacy.forgets.values()
        assert record.email == EMAIL
        assert traces(warehouse) == []
        meta = materialization(erased, sink)
        assert meta["forget_requests_sent"] == 1 and meta["complete"] == 1
        removed = meta["rows_removed_by_file"]
        assert isinstance(removed, dict)
        assert removed["crm/raw/customers.parquet"] == 1, removed
        assert any(k.startswith("state/") for k in removed), removed
        assert all(k.startswith(("crm/", "state/")) for k in removed), removed
        assert not any(_mentions(k) for k in removed)
        # The destination does not own the host's data: it says so, and leaves it alone.
        assert "not touched" in str(meta["local_erasure"])
        assert (
            EMAIL.upper()
            in defs.load_asset_value(["shop", "customers"], instance=instance)["email"].to_list()
        )
        # Its own ledger, beside the settings' one, holds no readable value.
        conf = load_settings(root / "shop" / "defs" / "listrak" / "listrak.yaml")
        ledger = ledger_path(conf, ("crm",))
        assert ledger == root / "erasure" / "crm" / "ledger.json"
        assert ledger.is_file() and not (root / "erasure" / "ledger.json").exists()
        assert not _mentions(ledger.read_text())

        # A later export still holding them: rejected as `forgotten`, nothing sent for them,
        # no second request.
        emulator.clear_requests()
        later = run()
        assert _forget_posts(emulator) == 0
        assert not [s for s in _sent(emulator) if _mentions(s)]
        for table in ("customers", "email_audience"):
            clean = materialization(later, dg.AssetKey(["crm", "clean", table]))
            assert clean["rejects_by_reason"] == {"forgotten": 1}, table
        uploaded = [p for p in local.rglob("*") if p.is_file()]
        assert uploaded and not [p for p in uploaded if traces(p.parent)]
        assert traces(warehouse) == []
    assert membership(emulator)[subscribers[0]] == "on"


@dg.asset(key=["shop", "forget_requests"])
def forget_requests() -> pl.DataFrame:
    return pl.DataFrame({"email": ["ann@example.com"]})


def test_two_destinations_with_erasure_inputs_load_each_with_its_own_ledger() -> None:
    inputs = {"customers": "shop/customers", "forget": "shop/forget_requests"}
    host = dg.Definitions(
        assets=[customers, forget_requests],
        resources={
            "io_manager": dg.FilesystemIOManager(),
            "erasure": dg.ResourceDefinition.none_resource(),
        },
    )
    first = listrak_definitions(
        inputs, key_prefix=["listrak_us"], resource_keys=ResourceKeys.prefixed("listrak_us_")
    )
    second = listrak_definitions(
        inputs, key_prefix=["listrak_eu"], resource_keys=ResourceKeys.prefixed("listrak_eu_")
    )
    defs = dg.Definitions.merge(host, first, second)
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    for prefix in ("listrak_us", "listrak_eu"):
        ledger = dg.AssetKey([prefix, "erasure", "suppression"])
        sink = dg.AssetKey([prefix, "listrak", "forget_requests"])
        assert graph.get(dg.AssetKey([prefix, "raw", "forget"])).parent_keys == {
            dg.AssetKey(["shop", "forget_requests"])
        }
        assert graph.get(ledger).parent_keys == {dg.AssetKey([prefix, "clean", "forget"])}
        # The destination's clean tables wait for its own suppression list, not the other's.
        clean = graph.get(dg.AssetKey([prefix, "clean", "customers"]))
        assert clean.parent_keys == {dg.AssetKey([prefix, "raw", "customers"]), ledger}
        assert dg.AssetKey([prefix, "clean", "customers"]) in graph.get(sink).parent_keys
    # Privacy and erasure resources under each destination's names, the host's `erasure`
    # untouched.
    assert {
        "listrak_us_privacy",
        "listrak_us_erasure",
        "listrak_eu_privacy",
        "listrak_eu_erasure",
    } <= set(defs.resources or {})
    assert (defs.resources or {})["erasure"] is host.resources["erasure"]
    # Two ledgers, whichever settings file they share.
    conf = load_settings(REPO / "listrak.yaml")
    assert len({ledger_path(conf, p) for p in [(), ("listrak_us",), ("listrak_eu",)]}) == 3


def test_prefixed_resource_keys_say_listrak_once() -> None:
    keys = ResourceKeys.prefixed("listrak_")
    assert (keys.settings, keys.io_manager, keys.listrak_email, keys.listrak_sms) == (
        "listrak_settings",
        "listrak_io_manager",
        "listrak_email",
        "listrak_sms",
    )
    assert (keys.listrak_privacy, keys.erasure, keys.sftp) == (
        "listrak_privacy",
        "listrak_erasure",
        "listrak_sftp",
    )
    assert ResourceKeys.prefixed("eu_").listrak_email == "eu_email"


def test_a_destination_without_an_erasure_input_needs_no_erasure_resources() -> None:
    destination = listrak_definitions({"customers": "shop/customers"}, key_prefix=["crm"])
    assert set(destination.resources or {}) == {"settings", "io_manager", "sftp"}
    defs = dg.Definitions.merge(dg.Definitions(assets=[customers]), destination)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert not any("forget" in k or "erasure" in k for k in keys)
