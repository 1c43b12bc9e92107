"""The inbox sensor, evaluated through Dagster's sensor context over a real folder and a real
instance. The clock is the real one; files are aged or made fresh with `os.utime`."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg

from listrak_assets.definitions import defs
from listrak_assets.defs.channels import Channels, build_definitions
from listrak_assets.defs.jobs import chains
from listrak_assets.defs.keys import clean_key, raw_key, rejects_key
from listrak_assets.defs.resources import ListrakSettings
from listrak_assets.defs.sensors import TABLES_TAG, fingerprint, inbox_files, inbox_sensor
from listrak_assets.defs.sftp_sinks import file_key
from listrak_assets_tests.conftest import Workspace, failure_messages

Tick = dg.SensorResult | dg.SkipReason

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "inbox"


def _head(name: str) -> str:
    """The header and first record of a sample file: enough for its tables to build."""
    return "".join(SAMPLE.joinpath(name).read_text(encoding="utf-8").splitlines(True)[:2])


# One small file per table (products as CSV; the sample's is Parquet).
FILES = {
    name: _head(name)
    for name in ("customers.csv", "orders.csv", "order_items.csv", "email_audience.csv")
} | {
    "products.csv": "sku,title\ns1,Shirt\n",
    "sms_audience.csv": "phone\n+12025550143\n",
}


def _tick(workspace: Workspace, cursor: str | None, definitions: dg.Definitions = defs) -> Tick:
    context = dg.build_sensor_context(
        instance=workspace.instance,
        cursor=cursor,
        resources={"settings": ListrakSettings(path=str(workspace.config))},
        definitions=definitions,
    )
    return inbox_sensor(context)


def _land(workspace: Workspace, files: dict[str, str], age: float = 60) -> None:
    """Write the files, last modified `age` seconds ago (settled at 10 s)."""
    for name, text in files.items():
        _age(workspace.write(name, text), age)


def _age(path: Path, seconds: float) -> None:
    """Make the file last modified `seconds` ago."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def _requests(tick: Tick) -> list[dg.RunRequest]:
    return list(tick.run_requests or []) if isinstance(tick, dg.SensorResult) else []


def _skip(tick: Tick) -> str:
    if isinstance(tick, dg.SkipReason):
        return tick.skip_message or ""
    assert not tick.run_requests
    return tick.skip_reason.skip_message if tick.skip_reason else ""


def _cursor(tick: Tick, before: str | None) -> str | None:
    return tick.cursor if isinstance(tick, dg.SensorResult) else before


def test_sensor_runs_once_per_new_or_changed_file(workspace: Workspace) -> None:
    assert "no input files" in _skip(_tick(workspace, None))

    path = workspace.write("customers.csv", "email\na@example.com\n")
    _age(path, 60)  # older than the 10 s settle time: ready at first sight
    started = _tick(workspace, None)
    [request] = _requests(started)
    assert request.run_key == f"inbox-{fingerprint(inbox_files(workspace.inbox))}"

    again = _tick(workspace, _cursor(started, None))
    assert "no new or changed file" in _skip(again)

    path.write_text("email\na@example.com\nb@example.com\n")
    _age(path, 45)
    changed = _tick(workspace, _cursor(again, None))
    [second] = _requests(changed)
    assert second.run_key != request.run_key


def test_a_file_triggers_nothing_until_it_has_settled(workspace: Workspace) -> None:
    workspace.settings(inbox_settle_seconds=30)
    ready = workspace.write("customers.csv", "email\na@example.com\n")
    _age(ready, 120)
    first = _tick(workspace, None)
    assert _requests(first)
    cursor = _cursor(first, None)

    # An export landing file by file: the orders file is still being written.
    landing = workspace.write("orders.csv", "ordernumber,email\n1,a@example.com\n")
    _age(landing, 2)
    waiting = _tick(workspace, cursor)
    assert "waiting for orders.csv to stop changing" in _skip(waiting)
    assert _cursor(waiting, cursor) == cursor  # still new at the next tick

    landing.write_text("ordernumber,email\n1,a@example.com\n2,a@example.com\n")
    _age(landing, 10)  # it changed again: still settling
    assert "waiting for orders.csv" in _skip(_tick(workspace, cursor))

    _age(landing, 31)  # quiet for longer than the settle time
    settled = _tick(workspace, cursor)
    assert len(_requests(settled)) == 1


def test_a_file_that_disappears_requests_no_run(workspace: Workspace) -> None:
    keep = workspace.write("customers.csv", "email\na@example.com\n")
    gone = workspace.write("email_audience.csv", "email\na@example.com\n")
    _age(keep, 60)
    _age(gone, 60)
    started = _tick(workspace, None)
    assert _requests(started)
    cursor = _cursor(started, None)

    gone.unlink()
    vanished = _tick(workspace, cursor)
    assert "email_audience.csv left it; a file that disappears starts no run" in _skip(vanished)
    assert isinstance(vanished, dg.SensorResult)  # the cursor forgets the file ...
    assert "email_audience.csv" not in (vanished.cursor or "")

    back = workspace.write("email_audience.csv", "email\na@example.com\n")
    _age(back, 60)
    assert _requests(_tick(workspace, vanished.cursor))  # ... so its return is news

    for path in (keep, back):
        path.unlink()
    empty = _tick(workspace, vanished.cursor)
    assert "no input files" in _skip(empty) and not _requests(empty)


def test_a_cursor_from_before_is_read_as_the_inbox_it_saw(workspace: Workspace) -> None:
    path = workspace.write("customers.csv", "email\na@example.com\n")
    _age(path, 60)
    old_cursor = fingerprint(inbox_files(workspace.inbox))  # what the sensor stored before
    assert "no new or changed file" in _skip(_tick(workspace, old_cursor))


def _keys(request: dg.RunRequest) -> set[str]:
    return {k.to_user_string() for k in request.asset_selection or []}


# Retention and the erasure of forgotten people found again run after every table's rejects.
AFTER_EVERY_TABLE = {"erasure/retention", "erasure/reappearances"}
# What only an erasure file starts.
ERASURE_INPUT = {
    "raw/forget",
    "clean/forget",
    "clean/forget_rejects",
    "erasure/suppression",
    "listrak/forget_requests",
}


def _chain(table: str, sink: str) -> set[str]:
    own = {k.to_user_string() for k in (raw_key(table), clean_key(table), rejects_key(table))}
    return own | {sink} | AFTER_EVERY_TABLE


def test_a_new_orders_file_requests_only_the_orders_chain(workspace: Workspace) -> None:
    _land(workspace, FILES)
    first = _tick(workspace, None)
    [everything] = _requests(first)
    assert (
        _keys(everything)
        == {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
        - ERASURE_INPUT
    )

    _land(workspace, {"orders_2026-12-01.csv": "ordernumber,email\n2,a@example.com\n"})
    [orders] = _requests(_tick(workspace, _cursor(first, None)))
    assert _keys(orders) == _chain("orders", file_key("orders").to_user_string())
    assert orders.tags[TABLES_TAG] == "orders"
    # The checks on the orders table run with it; none on another table (order items, whose
    # check reads orders, were never built: that check could only fail to load them).
    checks = {(k.asset_key, k.name) for k in orders.asset_check_keys or []}
    assert (clean_key("orders"), "schema_valid") in checks
    assert (clean_key("orders"), "orders_have_customers") in checks
    assert {key for key, _ in checks} == {clean_key("orders")}
    # Dagster accepts it as a subset of the job the sensor targets (multi-assets whole).
    job = defs.resolve_job_def("refresh").get_subset(
        asset_selection=set(orders.asset_selection or []),
        asset_check_selection=set(orders.asset_check_keys or []),
    )
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == _keys(orders)


def test_a_new_customers_file_reruns_the_check_of_orders_that_reads_it(
    workspace: Workspace,
) -> None:
    _land(workspace, FILES)
    first = _tick(workspace, None)
    assert workspace.materialize("orders").success
    _land(workspace, {"customers_2.csv": FILES["customers.csv"]})
    [customers] = _requests(_tick(workspace, _cursor(first, None)))
    assert _keys(customers) == _chain("customers", "listrak/customer_file")
    # Orders are not rebuilt, but whether each still has a customer is asked again.
    checks = {(k.asset_key, k.name) for k in customers.asset_check_keys or []}
    assert (clean_key("orders"), "orders_have_customers") in checks
    assert (clean_key("orders"), "schema_valid") not in checks
    assert {key for key, _ in checks} == {clean_key("customers"), clean_key("orders")}

    # Dagster runs it: orders as last built, against the customers just rebuilt.
    tables = [k("customers") for k in (raw_key, clean_key, rejects_key)]
    run = dg.materialize(
        [*(defs.assets or []), *(defs.asset_checks or [])],
        selection=dg.AssetSelection.assets(*tables)
        | dg.AssetSelection.checks(*(customers.asset_check_keys or [])),
        resources=workspace.resources(),
        instance=workspace.instance,
        raise_on_error=False,
    )
    assert run.success, failure_messages(run)
    evaluated = {(e.asset_key, e.check_name) for e in run.get_asset_check_evaluations()}
    assert (clean_key("orders"), "orders_have_customers") in evaluated


def test_an_erasure_file_requests_only_erasure_and_republishes_nothing(
    workspace: Workspace,
) -> None:
    _land(workspace, FILES)
    first = _tick(workspace, None)
    _land(workspace, {"forget_2026-12-01.csv": "email\na@example.com\n"})
    [forget] = _requests(_tick(workspace, _cursor(first, None)))
    # Retention also runs; nobody can be found again in a run that cleans no export.
    assert _keys(forget) == ERASURE_INPUT | {"erasure/retention"}
    assert forget.tags[TABLES_TAG] == "forget"


def test_an_audience_file_requests_only_its_channel(workspace: Workspace) -> None:
    _land(workspace, FILES)
    first = _tick(workspace, None)
    _land(workspace, {"sms_audience.csv": "phone\n+12025550143\n+12025550144\n"})
    [sms] = _requests(_tick(workspace, _cursor(first, None)))
    assert _keys(sms) == _chain("sms_audience", "listrak/sms_audience") | {
        "listrak/sms_audience_rejects"
    }
    assert (clean_key("sms_audience"), "removal_guard") in {
        (k.asset_key, k.name) for k in sms.asset_check_keys or []
    }


def test_two_changed_tables_start_one_run(workspace: Workspace) -> None:
    _land(workspace, FILES)
    first = _tick(workspace, None)
    _land(workspace, {"customers_2.csv": FILES["customers.csv"], "products_2.csv": "sku\ns2\n"})
    [both] = _requests(_tick(workspace, _cursor(first, None)))
    assert _keys(both) == _chain("customers", "listrak/customer_file") | _chain(
        "products", "listrak/product_file"
    )
    assert both.tags[TABLES_TAG] == "customers,products"


def test_the_same_file_set_starts_one_run(workspace: Workspace) -> None:
    _land(workspace, {"orders.csv": FILES["orders.csv"]})
    # Two ticks that both see the file before a cursor is stored ask with the same run key,
    # which Dagster launches once; a tick after the first sees nothing new.
    one, two = _tick(workspace, None), _tick(workspace, None)
    [a], [b] = _requests(one), _requests(two)
    assert a.run_key == b.run_key
    assert "no new or changed file" in _skip(_tick(workspace, _cursor(one, None)))


def test_a_channel_that_is_off_ignores_its_files(workspace: Workspace) -> None:
    no_sms = build_definitions(Channels(sms=False))
    _land(workspace, {"sms_audience.csv": FILES["sms_audience.csv"]})
    skipped = _tick(workspace, None, no_sms)
    assert "sms_audience.csv ignored" in _skip(skipped)
    _land(workspace, {"email_audience.csv": FILES["email_audience.csv"]})
    [email] = _requests(_tick(workspace, _cursor(skipped, None), no_sms))
    assert not {k for k in _keys(email) if "sms" in k}


def test_first_start_after_a_successful_run_requests_nothing(workspace: Workspace) -> None:
    """A new instance or a sensor without a cursor: what the last successful run consumed
    is not news."""
    _land(workspace, {n: FILES[n] for n in ("customers.csv", "orders.csv")})
    done = workspace.materialize("customers", "orders")
    assert done.success, failure_messages(done)

    start = _tick(workspace, None)
    assert "no new or changed file" in _skip(start)

    # A table the run did not build is news; so is a consumed file that changed since.
    _land(workspace, {"products.csv": FILES["products.csv"]})
    _age(workspace.inbox / "orders.csv", 40)
    [request] = _requests(_tick(workspace, None))
    assert set(request.tags[TABLES_TAG].split(",")) == {"orders", "products"}
    assert not {k for k in _keys(request) if "customer" in k}


def test_a_failed_run_does_not_count_as_consumed(workspace: Workspace) -> None:
    """The raw table was built, but the run failed (its file sink has no SFTP server): the
    file is still news to a sensor without a cursor."""
    _land(workspace, {"customers.csv": FILES["customers.csv"]})
    failed = dg.materialize(
        list(defs.assets or []),
        selection=chains(["customers"]),
        resources=workspace.resources(),  # an SFTP resource without a server
        instance=workspace.instance,
        raise_on_error=False,
    )
    assert not failed.success
    built = {e.asset_key for e in failed.get_asset_materialization_events()}
    assert raw_key("customers") in built and file_key("customers") not in built
    [request] = _requests(_tick(workspace, None))
    assert request.tags[TABLES_TAG] == "customers"


def test_sensor_targets_the_refresh_job() -> None:
    assert inbox_sensor.job_name == "refresh"
    assert inbox_sensor.default_status == dg.DefaultSensorStatus.RUNNING
