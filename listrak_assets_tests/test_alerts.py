"""Run-failure alerts: a failed run leaves a summary (assets, reason, what to do) in its event
log and as one file under alerts/, masked when PII is restricted."""

from __future__ import annotations

import dagster as dg

from listrak_assets.defs.alerts import run_failure_alerts
from listrak_assets.defs.catalog import Catalog
from listrak_assets.defs.channels import Channels, build_definitions
from listrak_assets.defs.settings import ListrakSettings
from listrak_assets_tests.conftest import Workspace


def _alert(
    workspace: Workspace, result: dg.ExecuteInProcessResult, defs: dg.Definitions | None
) -> None:
    """Evaluate the failure sensor on the failed run, as the daemon would."""
    assert not result.success
    context = dg.build_run_status_sensor_context(
        sensor_name=run_failure_alerts.name,
        dagster_instance=workspace.instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
        resources={"settings": ListrakSettings(path=str(workspace.config))},
        repository_def=defs.get_repository_def() if defs else None,
    ).for_run_failure()
    run_failure_alerts(context)


def _engine_messages(workspace: Workspace, run_id: str) -> list[str]:
    return [
        entry.message
        for entry in workspace.instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
    ]


def test_a_failed_run_leaves_a_summary_in_its_log_and_in_the_alerts_folder(
    workspace: Workspace,
) -> None:
    workspace.write("customers.csv", "firstname\nAnn\n")  # no email column
    defs = build_definitions(Channels(), catalog=Catalog.from_settings(workspace.config))
    result = workspace.materialize("customers")
    _alert(workspace, result, defs)

    alerts = list((workspace.root / "alerts").iterdir())
    assert [a.name for a in alerts] == [f"{result.run_id}.txt"]
    text = alerts[0].read_text()
    assert text.startswith(f"Run {result.run_id} of job ")
    assert "Assets: raw/customers (step raw__customers)" in text
    assert "Error: " in text and "required column 'email' is missing" in text
    assert "What to do: " in text
    assert "Traceback" not in text
    # The same summary is in the run's own event log.
    assert any(text.strip() in message for message in _engine_messages(workspace, result.run_id))
    # Evaluated again (a retried tick), it is still one file per run.
    _alert(workspace, result, defs)
    assert len(list((workspace.root / "alerts").iterdir())) == 1


@dg.asset(key=["listrak", "contacts"])
def _refused() -> None:
    raise dg.Failure(description="Listrak refused the contact ann.lee@example.com (+15550100200)")


def test_the_summary_masks_personal_data_when_pii_is_restricted(workspace: Workspace) -> None:
    result = dg.materialize([_refused], instance=workspace.instance, raise_on_error=False)
    _alert(workspace, result, None)
    text = next((workspace.root / "alerts").iterdir()).read_text()
    assert "Assets: listrak__contacts" in text  # no definitions at hand: the step's name
    assert "ann.lee@example.com" not in text and "15550100200" not in text
    assert "a***@***" in text
    assert not any("ann.lee" in m for m in _engine_messages(workspace, result.run_id))


def test_with_limited_pii_allowed_the_reason_is_shown_as_is(workspace: Workspace) -> None:
    workspace.settings(business_user_access={"allow_limited_pii": True})
    result = dg.materialize([_refused], instance=workspace.instance, raise_on_error=False)
    _alert(workspace, result, None)
    text = next((workspace.root / "alerts").iterdir()).read_text()
    assert "ann.lee@example.com" in text


def test_the_sensor_is_in_the_definitions_and_runs_by_default() -> None:
    from listrak_assets.definitions import defs

    sensor = defs.resolve_sensor_def("run_failure_alerts")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_alerts_go_beside_the_warehouse(workspace: Workspace) -> None:
    workspace.settings(warehouse="elsewhere/warehouse")
    result = dg.materialize([_refused], instance=workspace.instance, raise_on_error=False)
    _alert(workspace, result, None)
    assert (workspace.root / "elsewhere" / "alerts" / f"{result.run_id}.txt").is_file()
