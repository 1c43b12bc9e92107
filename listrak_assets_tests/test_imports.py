"""The import-polling loop both channels share, against the emulator's Email API: it returns
once an import is done, says so when one failed or outlasted the timeout, and waits quick
first, then at the configured interval. Waits are recorded, never slept. Through the sinks
(`dg.materialize`), a status word nobody knows is a warning in the run's own log."""

from __future__ import annotations

import logging

import dagster as dg
import pytest

from listrak_assets.defs.sms_sink import SINK as SMS_SINK
from listrak_assets.listrak.email import EmailApi, FileMapping, ImportFile
from listrak_assets.listrak.errors import ImportFailed, ImportTimedOut
from listrak_assets.sandbox.emulator import Emulator
from listrak_assets_tests.conftest import Workspace, failure_messages, materialization
from listrak_assets_tests.listrak_fixtures import OpenApi
from listrak_assets_tests.test_email_sink import addresses, on, send
from listrak_assets_tests.test_sms_sink import numbers, sync


def _start(api: EmailApi) -> tuple[int, str]:
    list_id = api.find_list("Newsletter").list_id
    file = ImportFile("f.csv", b"email\na@example.com\n", (FileMapping(0, "Email"),))
    return list_id, api.start_import(list_id, file)


def test_a_finished_import_is_returned(email_api: OpenApi) -> None:
    with email_api() as api:
        list_id, import_id = _start(api)
        status = api.wait_for_import(list_id, import_id, "f.csv", interval=0.01, timeout=30)
    assert status.done and status.status == "Completed"


def test_a_failed_import_says_where_to_look(emulator: Emulator, email_api: OpenApi) -> None:
    emulator.email.fail_import()
    with email_api() as api:
        list_id, import_id = _start(api)
        with pytest.raises(ImportFailed) as caught:
            api.wait_for_import(list_id, import_id, "f.csv", interval=0.01, timeout=30)
    assert caught.value.import_id == import_id and "'Failed'" in str(caught.value)


def test_waits_start_quick_then_double_up_to_the_interval_until_the_timeout(
    emulator: Emulator, email_api: OpenApi
) -> None:
    emulator.email.stop()  # imports stay queued
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    with email_api() as api:
        list_id, import_id = _start(api)
        with pytest.raises(ImportTimedOut) as caught:
            api.wait_for_import(
                list_id,
                import_id,
                "f.csv",
                interval=1.0,
                timeout=3.0,
                sleep=sleep,
                clock=lambda: now[0],
            )
    assert waits == [0.25, 0.5, 1.0, 1.0, 1.0]
    assert "'Queued'" in str(caught.value) and "poll_timeout_seconds" in str(caught.value)


def test_an_end_date_means_done_whatever_the_status_word(
    emulator: Emulator, email_api: OpenApi
) -> None:
    emulator.email.status_words = {"Processing": "Busy", "Completed": "Imported"}
    warnings: list[str] = []
    with email_api() as api:
        list_id, import_id = _start(api)
        status = api.wait_for_import(
            list_id, import_id, "f.csv", interval=0.01, timeout=30, warn=warnings.append
        )
    assert status.status == "Imported" and status.end_date
    assert status.done
    # Each unknown word is reported once, however often it is polled.
    assert len(warnings) == len(set(warnings)) >= 1
    assert any("'Imported'" in w and "end date" in w for w in warnings)


def test_an_unknown_word_without_an_end_date_is_reported_once_then_times_out(
    emulator: Emulator, email_api: OpenApi
) -> None:
    emulator.email.stop()  # imports stay queued, with no end date
    emulator.email.status_words = {"Queued": "Enqueued"}
    now = [0.0]
    warnings: list[str] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with email_api() as api:
        list_id, import_id = _start(api)
        with pytest.raises(ImportTimedOut) as caught:
            api.wait_for_import(
                list_id,
                import_id,
                "f.csv",
                interval=1.0,
                timeout=3.0,
                sleep=sleep,
                clock=lambda: now[0],
                warn=warnings.append,
            )
    [warning] = warnings
    assert "'Enqueued'" in warning
    message = str(caught.value)
    assert "'Enqueued'" in message and "unknown" in message and "end date" in message
    assert now[0] <= 3.0 + 1.0  # gave up at the timeout, not after an hour


def test_a_failure_word_fails_even_with_an_end_date(emulator: Emulator, email_api: OpenApi) -> None:
    emulator.email.fail_import()
    emulator.email.status_words = {"Failed": "ImportError"}
    with email_api() as api:
        list_id, import_id = _start(api)
        with pytest.raises(ImportFailed) as caught:
            api.wait_for_import(list_id, import_id, "f.csv", interval=0.01, timeout=30)
    assert "'ImportError'" in str(caught.value)


# Through the sinks: an unknown word reaches the run's log --------------------------------------


def run_warnings(workspace: Workspace, result: dg.ExecuteInProcessResult) -> list[str]:
    """The warnings a run logged (`context.log.warning`), as the UI's run log shows them."""
    return [
        entry.user_message
        for entry in workspace.instance.all_logs(result.run_id)
        if entry.dagster_event is None and entry.level == logging.WARNING
    ]


def test_the_email_sink_logs_an_unknown_status_word_once_in_the_run(
    workspace: Workspace, emulator: Emulator
) -> None:
    emulator.email.status_words = {"Completed": "Imported"}
    audience = addresses("a", "b", "c")
    result = send(workspace, emulator, audience, chunk_rows=2)  # two imports, two files
    assert result.success, failure_messages(result)
    assert on(emulator) == set(audience)
    unknown = [w for w in run_warnings(workspace, result) if "'Imported'" in w]
    # One warning per import that reported the word, each naming its import file.
    assert len(unknown) == 2 and len(set(unknown)) == 2
    assert all("doesn't know" in w and "end date" in w for w in unknown)


def test_the_sms_sink_logs_an_unknown_status_word_once_in_the_run(
    workspace: Workspace, emulator: Emulator
) -> None:
    emulator.sms.create_field("Tier")
    assert sync(workspace, emulator, {"phone": numbers(1, 2), "tier": ["a", "b"]}).success
    emulator.sms.status_words = {"Completed": "Imported"}
    result = sync(workspace, emulator, {"phone": numbers(1, 2), "tier": ["a", "B"]})
    assert result.success, failure_messages(result)
    [imported] = materialization(result, SMS_SINK)["imports"]
    assert imported["status"] == "Imported"
    [warning] = [w for w in run_warnings(workspace, result) if "'Imported'" in w]
    assert imported["file"] in warning and "end date" in warning
