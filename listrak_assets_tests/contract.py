"""Listrak's own Swagger 2.0 documents as a contract for every request our client sends.

The documents live beside the repository (`../shared/listrak-openapi/`) and are never copied
into it. Their two known defects are patched in memory: the OAuth2 flow is spelled
`Application` (Swagger says `application`), and operations name a security scheme `OAuth 2`
that is defined as `OAuth2`.

A request is checked for: a documented method and path template (path parameters typed), only
documented query parameters with the documented types and every required one, a JSON body
exactly when the operation takes one, with a documented content type, valid against the body
schema (required fields, types, int32 ranges, base64, no read-only fields), and a bearer token
where the operation has a security requirement. Token requests are checked against the token
endpoint the documents describe in prose (form-encoded client credentials). Answers are
checked against the documented response schema of their status, where there is one.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jsonschema

from listrak_assets.sandbox.emulator import TOKEN_PATH, Request

SPEC_DIR = Path(__file__).resolve().parents[2] / "shared" / "listrak-openapi"
DOCUMENTS = {
    "email": "listrak-email-openapi.json",
    "sms": "listrak-sms-openapi.json",
    "privacy": "listrak-privacy-openapi.json",
}
_INT32 = (-(2**31), 2**31 - 1)


def spec_missing_reason() -> str | None:
    """Why the contract can't be checked here, or None when it can."""
    missing = [name for name in DOCUMENTS.values() if not (SPEC_DIR / name).is_file()]
    if not missing:
        return None
    return (
        f"Listrak's Swagger documents are not beside the repository ({SPEC_DIR} lacks "
        f"{', '.join(missing)}); request validation needs them (CI has them)"
    )


def required_in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def patch(document: dict[str, Any]) -> dict[str, Any]:
    """The document with its two known defects fixed (a copy; the original is untouched)."""
    fixed = copy.deepcopy(document)
    for scheme in fixed.get("securityDefinitions", {}).values():
        if scheme.get("flow") == "Application":
            scheme["flow"] = "application"
    for item in fixed.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "security" in operation:
                operation["security"] = [
                    {
                        ("OAuth2" if name == "OAuth 2" else name): scopes
                        for name, scopes in r.items()
                    }
                    for r in operation["security"]
                ]
    return fixed


@cache
def load(api: str) -> dict[str, Any]:
    document = json.loads((SPEC_DIR / DOCUMENTS[api]).read_text(encoding="utf-8"))
    return patch(document)


@dataclass(frozen=True)
class Operation:
    api: str
    method: str
    template: str
    spec: dict[str, Any]
    path_params: dict[str, str]


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$")


def find_operation(api: str, method: str, path: str) -> Operation | None:
    """The documented operation for `method path` (path without the API's base path).
    Literal segments win over parameters, as in any router."""
    document = load(api)
    candidates = []
    for template, item in document["paths"].items():
        match = _template_regex(template).match(path)
        if match and method.lower() in item:
            literal = len(re.sub(r"\{[^}]+\}", "", template))
            candidates.append((literal, template, match.groupdict()))
    if not candidates:
        return None
    _, template, params = max(candidates)
    return Operation(api, method, template, document["paths"][template][method.lower()], params)


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker()

    @checker.checks("int32")
    def _int32(value: object) -> bool:
        return not isinstance(value, int) or _INT32[0] <= value <= _INT32[1]

    # Listrak's dates carry no zone (`2018-12-14T14:31:55`, observed), which RFC 3339 would
    # refuse: any ISO 8601 date-time is accepted.
    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if isinstance(value, str):
            datetime.fromisoformat(value)
        return True

    @checker.checks("byte", raises=(binascii.Error, ValueError))
    def _byte(value: object) -> bool:
        if isinstance(value, str):
            base64.b64decode(value, validate=True)
        return True

    return checker


def _no_read_only(schema: Any, definitions: dict[str, Any]) -> Any:
    """A copy of a request schema that refuses read-only properties (Swagger: a client
    SHOULD NOT send them)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            name = schema["$ref"].split("/")[-1]
            return _no_read_only(definitions[name], definitions)
        out = {k: _no_read_only(v, definitions) for k, v in schema.items()}
        props = schema.get("properties", {})
        read_only = [name for name, prop in props.items() if prop.get("readOnly")]
        if read_only:
            out["not"] = {"anyOf": [{"required": [name]} for name in read_only]}
        return out
    if isinstance(schema, list):
        return [_no_read_only(v, definitions) for v in schema]
    return schema


def _allow_null(schema: Any) -> Any:
    """Answers may hold null wherever a value is documented (Swagger 2.0 can't say so, and
    Listrak returns e.g. `nextPageCursor: null` on the last page)."""
    if isinstance(schema, dict):
        out = {k: _allow_null(v) for k, v in schema.items()}
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(schema, list):
        return [_allow_null(v) for v in schema]
    return schema


def _scalar_ok(param: dict[str, Any], raw: str) -> bool:
    kind = param.get("type")
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", raw):
            return False
        return param.get("format") != "int32" or _INT32[0] <= int(raw) <= _INT32[1]
    if kind == "boolean":
        return raw in ("true", "false")
    if kind == "number":
        try:
            float(raw)
        except ValueError:
            return False
    return True


def _schema_errors(schema: dict[str, Any], definitions: dict[str, Any], value: Any) -> list[str]:
    validator = jsonschema.Draft4Validator(
        {**schema, "definitions": definitions}, format_checker=_format_checker()
    )
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message[:200]}"
        for e in validator.iter_errors(value)
    ]


def validate_token_request(request: Request) -> list[str]:
    problems = []
    if request.method != "POST":
        problems.append(f"token request is {request.method}, not POST")
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        problems.append("token request is not application/x-www-form-urlencoded")
    form = parse_qs((request.body or b"").decode("utf-8", "replace"))
    if form.get("grant_type") != ["client_credentials"]:
        problems.append("token request lacks grant_type=client_credentials")
    for name in ("client_id", "client_secret"):
        if len(form.get(name, [])) != 1:
            problems.append(f"token request lacks {name}")
    return problems


def validate_request(request: Request) -> list[str]:
    """Every way `request` departs from Listrak's documents; empty when it conforms."""
    if request.path == TOKEN_PATH:
        return validate_token_request(request)
    api = request.api
    if api not in DOCUMENTS:
        return [f"{request.method} {request.path}: no Listrak API has this base path"]
    document = load(api)
    base = document["basePath"]
    path = request.path[len(base) :]
    where = f"{request.method} {request.path}"
    op = find_operation(api, request.method, path)
    if op is None:
        return [f"{where}: not a documented operation of the {api} API"]
    problems: list[str] = []
    params = op.spec.get("parameters", [])
    for param in params:
        if param["in"] == "path" and not _scalar_ok(param, op.path_params[param["name"]]):
            problems.append(f"{where}: path parameter {param['name']} is not a {param['type']}")
    query = parse_qs(request.query, keep_blank_values=True)
    documented = {p["name"]: p for p in params if p["in"] == "query"}
    for name, values in query.items():
        param = documented.get(name)
        if param is None:
            problems.append(f"{where}: undocumented query parameter {name!r}")
        elif len(values) > 1:
            problems.append(f"{where}: query parameter {name!r} given {len(values)} times")
        elif not _scalar_ok(param, values[0]):
            problems.append(f"{where}: query parameter {name!r} is not a {param['type']}")
    for name, param in documented.items():
        if param.get("required") and name not in query:
            problems.append(f"{where}: required query parameter {name!r} missing")
    body_params = [p for p in params if p["in"] == "body"]
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if body_params:
        [body_param] = body_params
        consumes = op.spec.get("consumes") or document.get("consumes") or []
        if content_type not in consumes:
            problems.append(f"{where}: content type {content_type!r} not in {consumes}")
        if request.body is None:
            problems.append(f"{where}: body not recorded")
        elif not request.body:
            if body_param.get("required"):
                problems.append(f"{where}: required body missing")
        else:
            try:
                body = json.loads(request.body)
            except (json.JSONDecodeError, UnicodeDecodeError):
                problems.append(f"{where}: body is not JSON")
            else:
                schema = _no_read_only(body_param["schema"], document["definitions"])
                problems += [
                    f"{where}: {e}" for e in _schema_errors(schema, document["definitions"], body)
                ]
    elif request.body:
        problems.append(f"{where}: sends a body but the operation takes none")
    if op.spec.get("security"):
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        schemes = {name for r in op.spec["security"] for name in r}
        if not schemes <= set(document["securityDefinitions"]):
            problems.append(f"{where}: security scheme {schemes} is not defined")
        if scheme.lower() != "bearer" or not token:
            problems.append(f"{where}: no bearer token")
    return problems


def validate_response(request: Request) -> list[str]:
    """How the emulator's answer departs from the documented schema of its status (answers
    with an undocumented status, e.g. an injected 429, are not checked)."""
    if request.path == TOKEN_PATH or request.status is None or request.response is None:
        return []
    api = request.api
    if api not in DOCUMENTS:
        return []
    document = load(api)
    op = find_operation(api, request.method, request.path[len(document["basePath"]) :])
    if op is None:
        return []
    documented = op.spec.get("responses", {}).get(str(request.status))
    if not documented or "schema" not in documented:
        return []
    body = json.loads(request.response)
    schema = _allow_null(
        {"$ref": documented["schema"]["$ref"]} if "$ref" in documented["schema"] else documented
    )
    definitions = _allow_null(document["definitions"])
    where = f"answer {request.status} to {request.method} {request.path}"
    return [f"{where}: {e}" for e in _schema_errors(schema, definitions, body)]


def client_requests(requests: list[Request]) -> list[Request]:
    """The requests our client sent (tests that send deliberately bad requests use another
    user agent)."""
    return [r for r in requests if r.headers.get("user-agent", "").startswith("listrak-assets/")]


def violations(requests: list[Request]) -> list[str]:
    problems: list[str] = []
    for request in client_requests(requests):
        problems += validate_request(request)
        problems += validate_response(request)
    return problems
