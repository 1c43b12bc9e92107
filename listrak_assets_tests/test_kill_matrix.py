"""The kill matrix: a real process materializing a sink is killed (SIGKILL) in the middle of
its writes, then a plain re-run leaves Listrak holding exactly the audience.

The emulator runs in its own process, as Listrak would, so the kill can't take its state with
it; its slow answers and import delay hold the writes open long enough for the kill to land
where the case says (during an email list import, during SMS subscribes, during SMS
unsubscribes), found by watching the writes the emulator received."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dagster as dg
import httpx
import polars as pl

from listrak_assets.defs import sms_sink
from listrak_assets.defs.resources import ListrakEmailApi, ListrakSmsApi
from listrak_assets.listrak.auth import Credentials, Integration
from listrak_assets.listrak.client import ClientOptions, connect
from listrak_assets.listrak.email import EmailApi
from listrak_assets.listrak.sms import SmsApi
from listrak_assets.sandbox.emulator import RECORD_PATH
from listrak_assets_tests.conftest import Workspace, failure_messages
from listrak_assets_tests.sink_fixtures import materialize
from listrak_assets_tests.test_email_sink import GROUP, SEGMENT, addresses
from listrak_assets_tests.test_email_sink import KEYS as EMAIL_KEYS
from listrak_assets_tests.test_sms_sink import KEYS as SMS_KEYS
from listrak_assets_tests.test_sms_sink import numbers

SMS_KEYS_ALL = [*SMS_KEYS, sms_sink.SINK, sms_sink.REJECTS]
DEADLINE = 90.0  # seconds any one step may take before the test gives up

# Materializes the given asset keys of the real definitions, as `dagster asset materialize`
# would, in a process of its own that the test can kill. The cases shrink small audiences on
# purpose (the removal guard would refuse them), so the runs carry the guard's override tag.
DRIVER = """
import sys
import dagster as dg
from listrak_assets.definitions import defs
keys = [dg.AssetKey.from_user_string(k) for k in sys.argv[1:]]
result = dg.materialize(
    list(defs.assets), selection=dg.AssetSelection.assets(*keys), resources=defs.resources,
    raise_on_error=False, tags={"listrak/allow_removals": "true"},
)
sys.exit(0 if result.success else 1)
"""


class Remote:
    """An emulator in its own process: its environment, and its record of writes."""

    def __init__(self, process: subprocess.Popen[str], env: dict[str, str]) -> None:
        self.process = process
        self.env = env
        self.url = env["LISTRAK_API_URL"]

    def writes(self) -> list[str]:
        return httpx.get(self.url + RECORD_PATH, timeout=10).json()["writes"]

    def credentials(self, integration: Integration) -> Credentials:
        return Credentials(
            integration,
            self.env[integration.client_id_env],
            self.env[integration.client_secret_env],
        )

    def options(self) -> ClientOptions:
        return ClientOptions(api_url=self.url, auth_url=self.env["LISTRAK_AUTH_URL"])


@contextmanager
def remote_emulator(*flags: str) -> Iterator[Remote]:
    command = [sys.executable, "-m", "listrak_assets.sandbox.emulator", *flags]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTRAK_")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        exports: dict[str, str] = {}
        for line in process.stdout:
            found = re.match(r"export (\w+)='(.*)'$", line.strip())
            if found:
                exports[found[1]] = found[2]
            if line.startswith("Ctrl-C"):
                break
        yield Remote(process, exports)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _driver(workspace: Workspace, remote: Remote, keys: list[dg.AssetKey]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, *(k.to_user_string() for k in keys)],
        cwd=workspace.root,
        env={**remote.env, **{k: v for k, v in os.environ.items() if not k.startswith("LISTRAK_")}},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _first_run(workspace: Workspace, remote: Remote, keys: list[dg.AssetKey]) -> None:
    """The run before the one that is killed, in this process (the kill is what needs its own),
    with the same resources the driver builds from the environment."""
    fields = {
        "api_url": remote.url,
        "auth_url": remote.env["LISTRAK_AUTH_URL"],
        "backoff_seconds": 0.01,
    }
    apis = {
        name: cls(
            client_id=remote.env[cls.INTEGRATION.client_id_env],
            client_secret=remote.env[cls.INTEGRATION.client_secret_env],
            **fields,
        )
        for name, cls in (("listrak_email", ListrakEmailApi), ("listrak_sms", ListrakSmsApi))
    }
    result = materialize(workspace, keys, **apis)
    assert result.success, failure_messages(result)


def _run(workspace: Workspace, remote: Remote, keys: list[dg.AssetKey]) -> None:
    """A plain run to its end in a process of its own, which must succeed."""
    process = _driver(workspace, remote, keys)
    _, stderr = process.communicate(timeout=DEADLINE)
    assert process.returncode == 0, stderr[-3000:]


def _kill_when(
    workspace: Workspace,
    remote: Remote,
    keys: list[dg.AssetKey],
    ready: Callable[[list[str]], bool],
) -> list[str]:
    """Start a run and SIGKILL it once the writes it made so far satisfy `ready`; the writes
    seen before the kill."""
    before = len(remote.writes())
    process = _driver(workspace, remote, keys)
    deadline = time.monotonic() + DEADLINE
    while True:
        writes = remote.writes()[before:]
        if ready(writes):
            break
        assert process.poll() is None, "the run ended before the kill could land"
        assert time.monotonic() < deadline, f"no kill window after {DEADLINE} s: {writes}"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    return writes


# Email -----------------------------------------------------------------------------------------


def _email_settings(workspace: Workspace, emails: list[str]) -> None:
    pl.DataFrame({"Email": emails}).write_csv(workspace.inbox / "email_audience.csv")
    workspace.settings(email={"chunk_rows": 4, "poll_interval_seconds": 0.05})


def _email_members(remote: Remote) -> set[str]:
    """The addresses whose membership field is on, read back over the Email API."""
    with connect(remote.credentials(Integration.EMAIL), remote.options()) as http:
        api = EmailApi(http)
        list_id = api.find_list("Newsletter").list_id
        [group] = [g for g in api.field_groups(list_id) if g.name == GROUP]
        [field] = [f for f in api.fields(list_id, group.group_id) if f.name == SEGMENT]
        return {
            str(c["emailAddress"])
            for c in api.contacts(list_id, (field.field_id,))
            for v in c.get("segmentationFieldValues") or []
            if v.get("segmentationFieldId") == field.field_id and v.get("value") == "on"
        }


def test_killed_during_an_email_import_then_rerun(workspace: Workspace) -> None:
    with remote_emulator("--import-delay", "1.5") as remote:
        _email_settings(workspace, addresses(*(f"a{i}" for i in range(8))))
        _first_run(workspace, remote, EMAIL_KEYS)
        audience = addresses(*(f"a{i}" for i in range(4, 14)))  # 4 leave, 6 join
        _email_settings(workspace, audience)
        seen = _kill_when(
            workspace, remote, EMAIL_KEYS, lambda w: any(x.endswith("/ListImport") for x in w)
        )
        assert sum(x.endswith("/ListImport") for x in seen) == 1  # killed inside the first
        _run(workspace, remote, EMAIL_KEYS)
        assert _email_members(remote) == set(audience)


# SMS -------------------------------------------------------------------------------------------


def _sms_settings(workspace: Workspace, phones: list[str]) -> None:
    pl.DataFrame({"phone": phones}).write_csv(workspace.inbox / "sms_audience.csv")
    workspace.settings(
        sms={
            "sender_code": "12345",
            "phone_list": "SMS Audience",
            "concurrency": 2,
            "poll_interval_seconds": 0.05,
        }
    )


def _sms_members(remote: Remote) -> set[str]:
    with connect(remote.credentials(Integration.SMS), remote.options()) as http:
        api = SmsApi(http)
        code = api.find_sender_code("12345").sender_code_id
        phone_list = api.find_phone_list(code, "SMS Audience").phone_list_id
        return {str(c["phoneNumber"]) for c in api.list_contacts(code, phone_list)}


# Each per-number write is applied at once and answered 0.3 s later: a window for the kill.
SLOW_SMS = ("--slow", "1", "--slow-seconds", "0.3", "--match", "^(POST|DELETE) /sms/")


def test_killed_during_sms_subscribes_then_rerun(workspace: Workspace) -> None:
    with remote_emulator(*SLOW_SMS) as remote:
        _sms_settings(workspace, numbers(*range(4)))
        _first_run(workspace, remote, SMS_KEYS_ALL)
        audience = numbers(*range(2, 14))  # 2 leave, 10 join
        _sms_settings(workspace, audience)
        seen = _kill_when(
            workspace, remote, SMS_KEYS_ALL, lambda w: sum(x.startswith("POST") for x in w) >= 3
        )
        assert sum(x.startswith("POST") for x in seen) < 10  # killed before the last joiner
        _run(workspace, remote, SMS_KEYS_ALL)
        assert _sms_members(remote) == set(audience)


def test_killed_during_sms_unsubscribes_then_rerun(workspace: Workspace) -> None:
    with remote_emulator(*SLOW_SMS) as remote:
        _sms_settings(workspace, numbers(*range(12)))
        _first_run(workspace, remote, SMS_KEYS_ALL)
        audience = numbers(*range(10, 13))  # 10 leave, 1 joins
        _sms_settings(workspace, audience)
        seen = _kill_when(
            workspace, remote, SMS_KEYS_ALL, lambda w: sum(x.startswith("DELETE") for x in w) >= 2
        )
        assert sum(x.startswith("DELETE") for x in seen) < 10  # killed before the last leaver
        _run(workspace, remote, SMS_KEYS_ALL)
        assert _sms_members(remote) == set(audience)
