"""The channel switches (`email.enabled`, `sms.enabled`, `sftp.enabled`), read when the
definitions load: a channel that is off is not in the definitions at all, so a destination
without SMS never fails on a missing SMS file."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from listrak_assets.defs import email_sink, sms_sink
from listrak_assets.defs.channels import Channels, build_definitions
from listrak_assets.defs.keys import clean_key, raw_key
from listrak_assets.defs.resources import ListrakEmailApi
from listrak_assets.sandbox.emulator import Emulator
from listrak_assets_tests.conftest import Workspace, failure_messages
from listrak_assets_tests.sftp_servers import SftpServer
from listrak_assets_tests.sink_fixtures import api_resource

REPO = Path(__file__).resolve().parents[1]


def _keys(defs: dg.Definitions) -> set[str]:
    return {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}


def _checks(defs: dg.Definitions) -> set[tuple[str, str]]:
    graph = defs.resolve_asset_graph()
    return {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}


def test_switches_are_read_from_the_settings_file(workspace: Workspace) -> None:
    assert Channels.from_settings(workspace.config) == Channels()
    workspace.settings(sms={"enabled": False}, sftp={"enabled": False})
    assert Channels.from_settings(workspace.config) == Channels(sms=False, sftp=False)
    # A file that can't be read switches nothing off: the steps report the problem.
    workspace.config.write_text("email: [")
    assert Channels.from_settings(workspace.config) == Channels()


def test_the_removal_guards_are_blocking_checks_on_the_clean_audiences() -> None:
    for guard, table in (
        (email_sink.removal_guard, "email_audience"),
        (sms_sink.removal_guard, "sms_audience"),
    ):
        [spec] = guard.check_specs
        assert (spec.asset_key, spec.name, spec.blocking) == (
            clean_key(table),
            "removal_guard",
            True,
        )


def test_a_channel_that_is_off_is_left_out_entirely() -> None:
    everything = build_definitions(Channels())
    assert {"listrak/sms_audience", "raw/sms_audience", "clean/sms_audience"} <= _keys(everything)
    assert ("clean/sms_audience", "removal_guard") in _checks(everything)

    no_sms = build_definitions(Channels(sms=False))
    keys = _keys(no_sms)
    assert not {k for k in keys if "sms_audience" in k}
    assert {"listrak/email_audience", "listrak/customer_file"} <= keys
    assert ("clean/email_audience", "removal_guard") in _checks(no_sms)
    assert not {c for c in _checks(no_sms) if "sms" in c[0]}

    no_files = build_definitions(Channels(email=False, sftp=False))
    keys = _keys(no_files)
    assert not {k for k in keys if k.endswith("_file") or "email_audience" in k}
    assert {"raw/customers", "clean/customers", "listrak/sms_audience"} <= keys


def test_without_sms_a_full_run_succeeds_with_no_sms_file(
    workspace: Workspace, emulator: Emulator, sandbox_server: SftpServer
) -> None:
    for path in (REPO / "data" / "inbox").iterdir():
        if not path.name.startswith("sms_audience"):
            shutil.copy(path, workspace.inbox)
    remote, _ = sandbox_server.folder("no_sms")
    workspace.settings(sms={"enabled": False}, sftp={"remote_folder": remote})
    defs = build_definitions(Channels.from_settings(workspace.config))

    result = dg.materialize(
        [*(defs.assets or []), *(defs.asset_checks or [])],
        resources={
            **workspace.resources(),
            "listrak_email": api_resource(ListrakEmailApi, emulator),
            "sftp": sandbox_server.resource(),
        },
        instance=workspace.instance,
        raise_on_error=False,
    )
    assert result.success, failure_messages(result)
    done = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["listrak", "email_audience"]) in done
    assert dg.AssetKey(["listrak", "customer_file"]) in done
    assert not {k for k in done if "sms_audience" in k.to_user_string()}
    assert raw_key("sms_audience") not in done and clean_key("sms_audience") not in done
