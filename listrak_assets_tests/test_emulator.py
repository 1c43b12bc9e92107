"""The emulator answers like Listrak: envelopes, status and error codes, the contact
subscription rules, asynchronous list imports that really parse their file, and the faults it
can be told to inject. Raw HTTP here, so bad requests can be sent on purpose."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from listrak_assets.listrak.auth import Integration
from listrak_assets.sandbox.emulator import Emulator, Faults

Json = dict[str, Any]


class Raw:
    """A bare HTTP client with a token of one integration."""

    def __init__(self, emulator: Emulator, integration: Integration = Integration.EMAIL) -> None:
        self.emulator = emulator
        self.http = httpx.Client(base_url=emulator.api_url, timeout=10)
        creds = emulator.credentials[integration]
        token = self.http.post(
            "/OAuth2/Token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
            },
        )
        assert token.status_code == 200, token.text
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        self.list_id = emulator.email.list_named("Newsletter").list_id

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.headers)

    def post(self, path: str, body: object, **params: str) -> httpx.Response:
        return self.http.post(path, json=body, params=params, headers=self.headers)

    def email(self, path: str) -> str:
        return f"/email/v1/List/{self.list_id}{path}"


@pytest.fixture
def raw(emulator: Emulator) -> Iterator[Raw]:
    client = Raw(emulator)
    yield client
    client.http.close()


def _error(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert body["status"] == response.status_code  # the envelope mirrors the HTTP status
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return response.status_code, body["error"]


# Tokens and integrations -----------------------------------------------------------------------


def test_token_endpoint_speaks_like_listraks(emulator: Emulator) -> None:
    creds = emulator.credentials[Integration.EMAIL]
    with httpx.Client(base_url=emulator.api_url) as http:
        good = http.post(
            "/OAuth2/Token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
            },
        )
        wrong = http.post(
            "/OAuth2/Token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds.client_id,
                "client_secret": "x",
            },
        )
        as_json = http.post("/OAuth2/Token", json={"grant_type": "client_credentials"})
    assert good.status_code == 200
    assert good.json()["token_type"] == "bearer" and good.json()["expires_in"] == 3599
    assert len(good.json()["access_token"]) > 400
    assert (wrong.status_code, wrong.json()) == (400, {"error": "Invalid Credentials"})
    assert as_json.status_code == 400  # only the form encoding is accepted


def test_each_integration_has_its_own_credentials_and_tokens(emulator: Emulator) -> None:
    email, sms = Raw(emulator, Integration.EMAIL), Raw(emulator, Integration.SMS)
    assert email.get("/email/v1/List").status_code == 200
    assert sms.get("/sms/v1/ShortCode").status_code == 200
    assert _error(email.get("/sms/v1/ShortCode")) == (401, "ERROR_UNAUTHORIZED")
    assert _error(sms.get("/email/v1/List")) == (401, "ERROR_UNAUTHORIZED")
    assert _error(email.http.get("/email/v1/List")) == (401, "ERROR_UNAUTHORIZED")


def test_env_points_a_client_at_the_emulator(emulator: Emulator) -> None:
    env = emulator.env()
    assert env["LISTRAK_API_URL"] == emulator.api_url
    assert env["LISTRAK_AUTH_URL"] == emulator.api_url + "/OAuth2/Token"
    for integration in Integration:
        assert env[integration.client_id_env] == emulator.credentials[integration].client_id


# Envelopes and errors --------------------------------------------------------------------------


def test_general_errors(raw: Raw) -> None:
    assert _error(raw.get("/email/v1/List/999")) == (404, "ERROR_UNABLE_TO_LOCATE_RESOURCE")
    assert _error(raw.get("/email/v1/Nowhere")) == (404, "ERROR_UNKNOWN_ROUTE")
    assert _error(raw.http.delete("/email/v1/List", headers=raw.headers)) == (
        405,
        "ERROR_UNSUPPORTED_METHOD",
    )
    as_text = raw.http.post(
        raw.email("/SegmentationFieldGroup"),
        content=b"segmentationFieldGroupName=G",
        headers={**raw.headers, "Content-Type": "text/plain"},
    )
    assert _error(as_text) == (415, "ERROR_UNSUPPORTED_CONTENT_TYPE")
    broken = raw.http.post(
        raw.email("/SegmentationFieldGroup"),
        content=b"{not json",
        headers={**raw.headers, "Content-Type": "application/json"},
    )
    assert _error(broken) == (400, "ERROR_MALFORMED_REQUEST_BODY")
    missing = raw.post(raw.email("/SegmentationFieldGroup"), {"position": 1})
    assert _error(missing) == (400, "ERROR_INVALID_PARAMETER")
    assert "segmentationFieldGroupName" in missing.json()["message"]


def test_groups_and_fields_are_created_and_listed(raw: Raw) -> None:
    created = raw.post(
        raw.email("/SegmentationFieldGroup"), {"segmentationFieldGroupName": "G", "position": 1}
    )
    assert created.status_code == 201 and created.json()["status"] == 201
    group = created.json()["resourceId"]
    assert isinstance(group, str)  # ids are strings in ResourceCreated
    field = {"segmentationFieldName": "F", "dataType": "CheckBox", "maxLength": 3, "position": 1}
    path = raw.email(f"/SegmentationFieldGroup/{group}/SegmentationField")
    assert raw.post(path, field).status_code == 201
    assert _error(raw.post(path, {**field, "dataType": "Boolean"})) == (
        400,
        "ERROR_INVALID_PARAMETER",
    )
    [listed] = raw.get(path).json()["data"]
    assert listed["segmentationFieldName"] == "F" and listed["dataType"] == "CheckBox"


# Contacts: the subscription rules observed on Listrak ------------------------------------------


def test_contact_upsert_follows_listraks_subscription_rules(raw: Raw) -> None:
    contacts = raw.email("/Contact")
    new = raw.post(contacts, {"emailAddress": "A@Example.com", "subscriptionState": "Subscribed"})
    assert (new.status_code, new.json()) == (201, {"status": 201, "resourceId": "a@example.com"})
    again = raw.post(contacts, {"emailAddress": "a@example.com", "subscriptionState": "Subscribed"})
    assert again.status_code == 200
    leave = raw.post(
        contacts, {"emailAddress": "a@example.com", "subscriptionState": "Unsubscribed"}
    )
    assert leave.status_code == 200
    back = raw.post(contacts, {"emailAddress": "a@example.com", "subscriptionState": "Subscribed"})
    assert _error(back) == (400, "ERROR_UNSUBSCRIBED_EMAIL_ADDRESS")
    one = raw.get(raw.email("/Contact/a@example.com")).json()["data"]
    assert (
        one["subscriptionState"] == "Unsubscribed" and one["unsubscribeMethod"] == "Administrator"
    )
    forced = raw.post(
        contacts,
        {"emailAddress": "a@example.com", "subscriptionState": "Subscribed"},
        overrideUnsubscribe="true",
    )
    assert forced.status_code == 200
    assert raw.get(raw.email("/Contact/a@example.com")).json()["data"]["subscriptionState"] == (
        "Subscribed"
    )
    with_values = raw.post(
        contacts,
        {
            "emailAddress": "a@example.com",
            "subscriptionState": "Unsubscribed",
            "segmentationFieldValues": [{"segmentationFieldId": 1, "value": "x"}],
        },
    )
    assert _error(with_values)[0] == 400
    assert _error(raw.get(raw.email("/Contact/nobody@example.com"))) == (
        404,
        "ERROR_UNABLE_TO_LOCATE_RESOURCE",
    )


def test_contact_collection_pages_and_limits(raw: Raw, emulator: Emulator) -> None:
    for i in range(7):
        emulator.email.seed_contact("Newsletter", f"p{i}@example.com")
    emulator.email.seed_contact("Newsletter", "u@example.com", subscribed=False)
    first = raw.get(raw.email("/Contact"), count="3").json()
    assert [c["emailAddress"] for c in first["data"]] == [f"p{i}@example.com" for i in range(3)]
    second = raw.get(raw.email("/Contact"), count="3", cursor=first["nextPageCursor"]).json()
    third = raw.get(raw.email("/Contact"), count="3", cursor=second["nextPageCursor"]).json()
    assert len(third["data"]) == 1 and third["nextPageCursor"] is None
    unsubscribed = raw.get(raw.email("/Contact"), subscriptionState="Unsubscribed").json()
    assert [c["emailAddress"] for c in unsubscribed["data"]] == ["u@example.com"]
    assert len(raw.get(raw.email("/Contact"), count="999999").json()["data"]) == 7  # clamped
    too_many = raw.get(raw.email("/Contact"), segmentationFieldIds=",".join(["1"] * 31))
    assert _error(too_many) == (400, "ERROR_TOO_MANY_SEGMENTATION_FIELDS")
    assert _error(raw.get(raw.email("/Contact"), cursor="garbage"))[0] == 400


# List imports ----------------------------------------------------------------------------------


def _field(raw: Raw, name: str, data_type: str = "Text", max_length: int = 20) -> int:
    groups = raw.get(raw.email("/SegmentationFieldGroup")).json()["data"]
    if groups:
        group = str(groups[0]["segmentationFieldGroupId"])
    else:
        body = {"segmentationFieldGroupName": "G", "position": 1}
        group = raw.post(raw.email("/SegmentationFieldGroup"), body).json()["resourceId"]
    body = {
        "segmentationFieldName": name,
        "dataType": data_type,
        "maxLength": max_length,
        "position": 1,
    }
    path = raw.email(f"/SegmentationFieldGroup/{group}/SegmentationField")
    return int(raw.post(path, body).json()["resourceId"])


def _import(raw: Raw, content: bytes, mappings: list[Json], **extra: object) -> httpx.Response:
    body = {
        "fileName": "t.csv",
        "fileStream": base64.b64encode(content).decode(),
        "fileDelimiter": ",",
        "textQualifier": '"',
        "hasColumnNames": True,
        "fileMappings": mappings,
        "importType": "AddSubscribersAndSegmentationData",
        "segmentationImportType": "Update",
        **extra,
    }
    return raw.post(raw.email("/ListImport"), body)


def test_an_import_parses_its_file_and_applies_it(raw: Raw, emulator: Emulator) -> None:
    tier, flag = _field(raw, "Tier"), _field(raw, "Member", "CheckBox", 3)
    emulator.email.seed_contact("Newsletter", "old@example.com", subscribed=False)
    emulator.email.banned.add("banned@example.com")
    # Columns in another order than the mappings' defaults, a quoted comma, a bad row.
    content = (
        b"member,tier,address\n"
        b'on,"Gold, plus",new@example.com\n'
        b"on,Silver,OLD@example.com\n"
        b"on,,banned@example.com\n"
        b"maybe,Bronze,odd@example.com\n"
        b"on,Bronze,not-an-email\n"
    )
    mappings = [
        {"fileColumn": 2, "fileColumnType": "Email"},
        {"fileColumn": 1, "fileColumnType": "SegmentationField", "segmentationFieldId": tier},
        {"fileColumn": 0, "fileColumnType": "SegmentationField", "segmentationFieldId": flag},
    ]
    started = _import(raw, content, mappings)
    assert started.status_code == 201
    import_id = started.json()["resourceId"]
    assert emulator.email.wait_idle()
    status = raw.get(raw.email(f"/ListImport/{import_id}/Status")).json()["data"]
    assert status["status"] == "Completed" and status["endDate"]
    summary = raw.get(raw.email(f"/ListImport/{import_id}/Summary")).json()["data"]
    assert {k: v for k, v in summary.items() if v} == {
        "processedCount": 5,
        "subscribedCount": 1,
        "previouslyUnsubscribedCount": 1,
        "bannedCount": 1,
        "skippedCount": 1,
        "invalidEmailCount": 1,
    }
    results = raw.get(raw.email(f"/ListImport/{import_id}/Contact"), count="2")
    first_page = results.json()
    rest = raw.get(
        raw.email(f"/ListImport/{import_id}/Contact"), cursor=first_page["nextPageCursor"]
    ).json()
    assert [r["importResult"] for r in first_page["data"] + rest["data"]] == [
        "Subscribed",
        "PreviouslyUnsubscribed",
        "Banned",
        "InvalidValue",
        "InvalidEmail",
    ]
    contact = raw.get(raw.email("/Contact/new@example.com"), segmentationFieldIds=f"{tier},{flag}")
    values = [v["value"] for v in contact.json()["data"]["segmentationFieldValues"]]
    assert values == ["Gold, plus", "on"]
    # Imports never resubscribe, and leave the unsubscribed contact's profile alone.
    old = raw.get(raw.email("/Contact/old@example.com"), segmentationFieldIds=str(flag)).json()
    assert old["data"]["subscriptionState"] == "Unsubscribed"
    assert old["data"]["segmentationFieldValues"][0]["value"] == ""


def test_update_subscribers_touches_only_contacts_on_the_list(raw: Raw, emulator: Emulator) -> None:
    flag = _field(raw, "Member", "CheckBox", 3)
    emulator.email.seed_contact("Newsletter", "here@example.com", values={flag: "on"})
    mappings = [
        {"fileColumn": 0, "fileColumnType": "Email"},
        {"fileColumn": 1, "fileColumnType": "SegmentationField", "segmentationFieldId": flag},
    ]
    content = b"email,member\nhere@example.com,off\nstranger@example.com,off\n"
    assert _import(raw, content, mappings, importType="UpdateSubscribers").status_code == 201
    assert emulator.email.wait_idle()
    assert emulator.email.field_values("Newsletter", "G", "Member") == {"here@example.com": "off"}


def test_bad_imports_are_refused_up_front(raw: Raw) -> None:
    flag = _field(raw, "Member", "CheckBox", 3)
    email = {"fileColumn": 0, "fileColumnType": "Email"}
    good = [
        email,
        {"fileColumn": 1, "fileColumnType": "SegmentationField", "segmentationFieldId": flag},
    ]
    unknown = [
        email,
        {"fileColumn": 1, "fileColumnType": "SegmentationField", "segmentationFieldId": 1},
    ]
    assert _error(_import(raw, b"e\n", unknown)) == (400, "ERROR_INVALID_PARAMETER")
    assert _error(_import(raw, b"e\n", [good[1]]))[0] == 400  # no Email column
    assert _error(_import(raw, b"e\n", good, importType="Everything"))[0] == 400
    bad_base64 = raw.post(
        raw.email("/ListImport"),
        {
            "fileName": "t.csv",
            "fileDelimiter": ",",
            "fileMappings": good,
            "importType": "AddSubscribers",
            "segmentationImportType": "Update",
            "fileStream": "%%%",
        },
    )
    assert _error(bad_base64) == (400, "ERROR_INVALID_PARAMETER")
    assert "fileStream" in bad_base64.json()["message"]


def test_an_import_can_be_told_to_fail(raw: Raw, emulator: Emulator) -> None:
    flag = _field(raw, "Member", "CheckBox", 3)
    mappings = [
        {"fileColumn": 0, "fileColumnType": "Email"},
        {"fileColumn": 1, "fileColumnType": "SegmentationField", "segmentationFieldId": flag},
    ]
    emulator.email.fail_import(after=1)
    ids = [
        _import(raw, f"e,m\n{i}@example.com,on\n".encode(), mappings).json()["resourceId"]
        for i in range(3)
    ]
    assert emulator.email.wait_idle()
    statuses = [raw.get(raw.email(f"/ListImport/{i}/Status")).json()["data"]["status"] for i in ids]
    assert statuses == ["Completed", "Failed", "Completed"]
    assert set(emulator.email.field_values("Newsletter", "G", "Member")) == {
        "0@example.com",
        "2@example.com",
    }


# Faults and the record -------------------------------------------------------------------------


def test_injected_faults(raw: Raw, emulator: Emulator) -> None:
    emulator.set_faults(throttle=1.0, retry_after=3, include_token=False)
    throttled = raw.get("/email/v1/List")
    assert _error(throttled) == (429, "ERROR_TOO_MANY_REQUESTS")
    assert throttled.headers["retry-after"] == "3"
    emulator.set_faults(Faults(errors=1.0))
    assert _error(raw.get("/email/v1/List")) == (500, "ERROR_UNHANDLED_EXCEPTION")
    emulator.set_faults(Faults(drops=1.0))
    with pytest.raises(httpx.RemoteProtocolError):
        raw.get("/email/v1/List")
    emulator.set_faults(Faults(drops_after=1.0))
    with pytest.raises(httpx.RemoteProtocolError):
        raw.post(
            raw.email("/SegmentationFieldGroup"), {"segmentationFieldGroupName": "G", "position": 1}
        )
    emulator.set_faults(Faults())
    # The dropped answer's write was applied.
    assert len(raw.get(raw.email("/SegmentationFieldGroup")).json()["data"]) == 1
    assert [r.fault for r in emulator.requests if r.fault] == ["429", "500", "drop", "drop_after"]
    assert emulator.writes == 1


def test_a_write_can_be_applied_then_answered_with_a_500(raw: Raw, emulator: Emulator) -> None:
    emulator.set_faults(Faults.of("500_after", 1.0, include_token=False))
    body = {"segmentationFieldGroupName": "G", "position": 1}
    assert _error(raw.post(raw.email("/SegmentationFieldGroup"), body)) == (
        500,
        "ERROR_UNHANDLED_EXCEPTION",
    )
    emulator.set_faults(Faults())
    assert [
        g["segmentationFieldGroupName"]
        for g in raw.get(raw.email("/SegmentationFieldGroup")).json()["data"]
    ] == ["G"]


def test_a_slow_answer_comes_after_the_write_was_applied(raw: Raw, emulator: Emulator) -> None:
    emulator.set_faults(Faults.of("slow", 1.0, slow_seconds=0.5, include_token=False))
    body = {"segmentationFieldGroupName": "G", "position": 1}
    with pytest.raises(httpx.ReadTimeout):
        raw.http.post(
            raw.email("/SegmentationFieldGroup"), json=body, headers=raw.headers, timeout=0.1
        )
    emulator.set_faults(Faults())
    assert len(raw.get(raw.email("/SegmentationFieldGroup")).json()["data"]) == 1


def test_an_expiring_token_is_refused_once_and_a_fresh_one_serves(
    raw: Raw, emulator: Emulator
) -> None:
    assert raw.get("/email/v1/List").status_code == 200  # the token has served
    emulator.set_faults(Faults.of("expire", 1.0))
    assert _error(raw.get("/email/v1/List")) == (401, "ERROR_UNAUTHORIZED")
    fresh = Raw(emulator)  # a new token: expiry at 100% spares its first request only
    assert fresh.get("/email/v1/List").status_code == 200
    assert _error(fresh.get("/email/v1/List")) == (401, "ERROR_UNAUTHORIZED")
    fresh.http.close()
    assert [r.fault for r in emulator.requests if r.fault] == ["expire", "expire"]


def test_fault_kinds_are_named_and_unknown_ones_refused() -> None:
    assert Faults.of("500_after", 0.3, seed=4) == Faults(errors_after=0.3, seed=4)
    assert Faults.of("429", 0.3).throttle == 0.3
    with pytest.raises(ValueError, match="unknown fault kind 'teapot'"):
        Faults.of("teapot", 0.3)


def test_the_same_seed_gives_the_same_faults_in_any_order() -> None:
    faults = Faults(throttle=0.2, errors=0.2, drops_after=0.2, seed=7)
    lines = [f"POST /sms/v1/ShortCode/1/Contact/1212555{n:04d}/PhoneList/1" for n in range(50)]
    forward = {line: faults.pick(line, 1) for line in lines}
    backward = {line: faults.pick(line, 1) for line in reversed(lines)}
    assert forward == backward
    assert set(forward.values()) == {None, "429", "500", "drop_after"}
    # Another seed, other fates; a repeat of a request draws afresh.
    assert forward != {
        line: Faults(throttle=0.2, errors=0.2, drops_after=0.2, seed=8).pick(line, 1)
        for line in lines
    }
    assert [faults.pick(lines[0], n) for n in range(1, 30)] != [forward[lines[0]]] * 29


def test_tokens_can_be_revoked_after_some_requests(raw: Raw, emulator: Emulator) -> None:
    emulator.revoke_tokens_after(2)
    assert raw.get("/email/v1/List").status_code == 200
    assert raw.get("/email/v1/List").status_code == 200
    assert _error(raw.get("/email/v1/List")) == (401, "ERROR_UNAUTHORIZED")


# Standalone ------------------------------------------------------------------------------------


def test_runs_a_command_against_itself_and_reports(tmp_path) -> None:  # noqa: ANN001
    script = (
        "import os, httpx;"
        "print(os.environ['LISTRAK_API_URL'].startswith('http://127.0.0.1:'));"
        "r = httpx.post(os.environ['LISTRAK_AUTH_URL'], data={'grant_type': 'client_credentials',"
        " 'client_id': os.environ['LISTRAK_EMAIL_CLIENT_ID'],"
        " 'client_secret': os.environ['LISTRAK_EMAIL_CLIENT_SECRET']});"
        "print(r.status_code); raise SystemExit(3)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTRAK_")}
    command = [sys.executable, "-m", "listrak_assets.sandbox.emulator", "--list", "VIP"]
    done = subprocess.run(
        [*command, "--", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 3
    assert done.stdout.splitlines()[:2] == ["True", "200"]
    assert "list 'VIP'" in done.stdout and "1 token" in done.stdout


def test_faults_are_chosen_from_the_command_line(tmp_path) -> None:  # noqa: ANN001
    script = (
        "import os, httpx;"
        "r = httpx.post(os.environ['LISTRAK_AUTH_URL'], data={'grant_type': 'client_credentials',"
        " 'client_id': os.environ['LISTRAK_EMAIL_CLIENT_ID'],"
        " 'client_secret': os.environ['LISTRAK_EMAIL_CLIENT_SECRET']});"
        "h = {'Authorization': 'Bearer ' + r.json()['access_token']};"
        "print([httpx.get(os.environ['LISTRAK_API_URL'] + '/email/v1/List', headers=h).status_code"
        " for _ in range(20)])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTRAK_")}
    command = [sys.executable, "-m", "listrak_assets.sandbox.emulator"]
    flags = ["--errors-after", "0.5", "--match", "GET /email", "--seed", "11"]
    runs = [
        subprocess.run(
            [*command, *flags, "--", sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        for _ in range(2)
    ]
    statuses = [run.stdout.splitlines()[0] for run in runs]
    assert statuses[0] == statuses[1]  # seeded: the same faults each time
    assert "500" in statuses[0] and "200" in statuses[0]
    assert "with injected faults" in runs[0].stdout


def test_leaves_a_configured_environment_alone() -> None:
    env = {**os.environ, "LISTRAK_API_URL": "https://api.listrak.com"}
    script = "import os; print(os.environ['LISTRAK_API_URL'])"
    command = [sys.executable, "-m", "listrak_assets.sandbox.emulator", "--unless-configured"]
    done = subprocess.run(
        [*command, "--", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == "https://api.listrak.com"
