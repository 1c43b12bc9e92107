"""Listrak's Swagger documents as the contract: the patch of their two known defects, a
validator that catches what it should, and every operation the client uses, sent for real to
the emulator and found conforming. (The `emulator` fixture applies the same check to every
test's requests.)"""

from __future__ import annotations

import base64
import json

import pytest

from listrak_assets.listrak.email import FileMapping, ImportFile
from listrak_assets.sandbox.emulator import Emulator, Request
from listrak_assets_tests import contract
from listrak_assets_tests.listrak_fixtures import OpenApi

_missing = contract.spec_missing_reason()
pytestmark = pytest.mark.skipif(
    _missing is not None and not contract.required_in_ci(), reason=_missing or ""
)

# Every Email API operation the client (and so the sink) calls.
CLIENT_OPERATIONS = {
    "List_GetListCollection",
    "SegmentationFieldGroup_GetSegmentationFieldGroupCollection",
    "SegmentationFieldGroup_PostSegmentationFieldGroupResource",
    "SegmentationField_GetSegmentationFieldCollection",
    "SegmentationField_PostSegmentationFieldResource",
    "Contact_GetContactCollection",
    "Contact_GetContactResourceByIdentifier",
    "Contact_PostContactResource",
    "ListImport_PostImportFileResource",
    "ListImportStatus_GetListImportStatusResource",
    "ListImportSummary_GetListImportSummaryResource",
    "ListImportContact_GetListImportContactCollection",
}


def test_the_documents_are_there_in_ci() -> None:
    assert _missing is None, _missing


@pytest.mark.parametrize("api", ["email", "sms"])
def test_the_patch_fixes_exactly_the_known_defects(api: str) -> None:
    from openapi_spec_validator import OpenAPIV2SpecValidator

    original = json.loads((contract.SPEC_DIR / contract.DOCUMENTS[api]).read_text("utf-8"))
    [error] = list(OpenAPIV2SpecValidator(original).iter_errors())
    assert list(error.absolute_path) == ["securityDefinitions", "OAuth2"]
    assert "'flow': 'Application'" in str(error)
    patched = contract.load(api)
    assert list(OpenAPIV2SpecValidator(patched).iter_errors()) == []
    schemes = {
        name
        for item in patched["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for requirement in op.get("security", [])
        for name in requirement
    }
    assert schemes <= set(patched["securityDefinitions"])
    # The original is left as it was.
    assert original["securityDefinitions"]["OAuth2"]["flow"] == "Application"


def _request(
    method: str, path: str, query: str = "", body: object = None, **headers: str
) -> Request:
    content = None if body is None else json.dumps(body).encode()
    base = {"authorization": "Bearer t", "user-agent": "listrak-assets/test"}
    if content is not None:
        base["content-type"] = "application/json"
    return Request(method, path, query, {**base, **headers}, content or b"", 200, None, None)


def _import_body(**changes: object) -> dict[str, object]:
    body = {
        "fileName": "f.csv",
        "fileStream": base64.b64encode(b"email\na@x.com\n").decode(),
        "fileDelimiter": ",",
        "fileMappings": [{"fileColumn": 0, "fileColumnType": "Email"}],
        "importType": "AddSubscribers",
        "segmentationImportType": "Update",
    }
    return {**body, **changes}


@pytest.mark.parametrize(
    ("request_", "problem"),
    [
        (_request("GET", "/email/v1/List"), None),
        (_request("GET", "/email/v1/Lists"), "not a documented operation"),
        (_request("DELETE", "/email/v1/List/1/Contact/a@x.com"), "not a documented operation"),
        (_request("GET", "/email/v1/List/abc/Contact"), "path parameter listId"),
        (_request("GET", "/email/v1/List/1/Contact", "page=2"), "undocumented query parameter"),
        (
            _request("GET", "/email/v1/List/1/Contact", "useOriginalSubscribeDate=yes"),
            "is not a boolean",
        ),
        (_request("GET", "/email/v1/List", authorization=""), "no bearer token"),
        (_request("POST", "/email/v1/List/1/ListImport", body=_import_body()), None),
        (
            _request("POST", "/email/v1/List/1/ListImport", body=_import_body(fileName=None)),
            "None is not of type 'string'",
        ),
        (
            _request("POST", "/email/v1/List/1/ListImport", body={"fileName": "f.csv"}),
            "'fileStream' is a required property",
        ),
        (
            _request("POST", "/email/v1/List/1/ListImport", body=_import_body(fileStream="%%")),
            "is not a 'byte'",
        ),
        (
            _request(
                "POST",
                "/email/v1/List/1/SegmentationFieldGroup",
                body={
                    "segmentationFieldGroupId": 3,
                    "segmentationFieldGroupName": "G",
                    "position": 1,
                },
            ),
            "should not be valid",  # a read-only field sent
        ),
        (
            _request(
                "POST",
                "/email/v1/List/1/SegmentationFieldGroup",
                body={"segmentationFieldGroupName": "G", "position": 2**40},
            ),
            "is not a 'int32'",
        ),
        (
            _request(
                "POST",
                "/email/v1/List/1/ListImport",
                body=_import_body(),
                **{"content-type": "text/plain"},
            ),
            "content type 'text/plain'",
        ),
        (_request("POST", "/email/v1/List/1/Contact"), "required body missing"),
        (_request("GET", "/email/v1/List", body={"x": 1}), "takes none"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_the_validator_catches_what_it_should(request_: Request, problem: str | None) -> None:
    problems = contract.validate_request(request_)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_token_requests_are_checked_too() -> None:
    form = Request(
        "POST",
        "/OAuth2/Token",
        "",
        {"content-type": "application/x-www-form-urlencoded"},
        b"grant_type=client_credentials&client_id=a&client_secret=b",
        200,
        None,
        None,
    )
    assert contract.validate_token_request(form) == []
    as_json = Request(
        "POST", "/OAuth2/Token", "", {"content-type": "application/json"}, b"{}", 200, None, None
    )
    assert len(contract.validate_token_request(as_json)) == 4


def test_every_operation_the_client_uses_conforms(emulator: Emulator, email_api: OpenApi) -> None:
    emulator.email.seed_contact("Newsletter", "old@example.com", subscribed=False)
    with email_api() as api:
        target = api.find_list("Newsletter")
        group, _ = api.find_or_create_group(target.list_id, "Group")
        flag, _ = api.membership_field(target.list_id, group, "Member")
        assert flag is not None
        api.upsert_contact(target.list_id, "a+tag@example.com", {flag.field_id: "on"})
        api.contact(target.list_id, "a+tag@example.com", (flag.field_id,))
        list(api.contacts(target.list_id, (flag.field_id,), count=1))
        file = ImportFile(
            "f.csv",
            b"email,member\nb@example.com,on\nold@example.com,on\n",
            (FileMapping(0, "Email"), FileMapping(1, "SegmentationField", flag.field_id)),
        )
        import_id = api.start_import(target.list_id, file)
        api.wait_for_import(target.list_id, import_id, "f.csv", interval=0.01, timeout=10)
        api.import_summary(target.list_id, import_id)
        list(api.import_contacts(target.list_id, import_id))

    seen = set()
    for request in contract.client_requests(emulator.requests):
        assert contract.validate_request(request) == []
        assert contract.validate_response(request) == []
        if request.api == "email":
            document = contract.load("email")
            path = request.path[len(document["basePath"]) :]
            operation = contract.find_operation("email", request.method, path)
            assert operation is not None
            seen.add(operation.spec["operationId"])
    assert seen == CLIENT_OPERATIONS
