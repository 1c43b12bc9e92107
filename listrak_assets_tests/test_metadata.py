"""What the UI shows about each asset: row counts, column schemas from Pandera, column
lineage, previews, reject counts, and no personal data when PII is restricted."""

from __future__ import annotations

import dagster as dg

from listrak_assets.definitions import defs
from listrak_assets.defs.keys import clean_key, raw_key, rejects_key
from listrak_assets.schemas import TABLES
from listrak_assets.schemas.validation import build_schema
from listrak_assets_tests.conftest import Workspace, materialization

PERSON = ("Zelda.Fitzgerald@Example.com", "Zelda", "Fitzgerald", "(717) 555-9636", "1 Elm St")
CUSTOMERS = (
    "email,firstname,lastname,mobile phone,address1,gender\n"
    + ",".join(PERSON)
    + ",F\n"
    + "bad-address,Scott,Fitzgerald,,2 Elm St,M\n"
)


def _all_metadata_text(result: dg.ExecuteInProcessResult) -> str:
    """Every piece of metadata and every log message of the run, as one string."""
    parts = []
    for event in result.all_events:
        parts.append(event.message or "")
        if event.is_step_materialization:
            for value in event.event_specific_data.materialization.metadata.values():
                parts.append(str(value.value))
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            for value in event.event_specific_data.metadata.values():
                parts.append(str(value.value))
    return "\n".join(parts)


def test_clean_asset_metadata(workspace: Workspace) -> None:
    workspace.settings(business_user_access={"allow_limited_pii": True})
    workspace.write("customers.csv", CUSTOMERS)
    result = workspace.materialize("customers")
    meta = materialization(result, clean_key("customers"))

    assert meta["dagster/row_count"] == 1
    schema = meta["dagster/column_schema"]
    pandera = build_schema(TABLES["customers"]).schema
    assert [c.name for c in schema.columns] == list(pandera.columns)
    email = next(c for c in schema.columns if c.name == "email")
    assert email.type == "String"
    assert not email.constraints.nullable and email.constraints.unique
    assert "at most 100" in email.constraints.other
    birthday = next(c for c in schema.columns if c.name == "birthday")
    assert birthday.type == "Date" and birthday.constraints.nullable

    lineage = meta["dagster/column_lineage"]
    deps = lineage.deps_by_column["firstname"]
    assert [(d.asset_key, d.column_name) for d in deps] == [(raw_key("customers"), "firstname")]

    assert meta["rejects_by_reason"] == {"invalid_email": 1}
    assert meta["rejected_rows"] == 1 and meta["merged_duplicates"] == 0
    assert "zelda.fitzgerald@example.com" in meta["preview"]  # PII allowed here

    raw_meta = materialization(result, raw_key("customers"))
    assert raw_meta["dagster/row_count"] == 2
    assert raw_meta["files"] == [{"name": "customers.csv", "rows": 2, "bytes": len(CUSTOMERS)}]

    rejects_meta = materialization(result, rejects_key("customers"))
    assert rejects_meta["dagster/row_count"] == 1
    assert "bad-address" in rejects_meta["preview"]


def test_no_personal_data_in_metadata_or_logs_when_pii_is_restricted(workspace: Workspace) -> None:
    workspace.settings(business_user_access={"allow_limited_pii": False})
    workspace.write("customers.csv", CUSTOMERS)
    result = workspace.materialize("customers")
    assert result.success
    text = _all_metadata_text(result).lower()
    for value in (*PERSON, "bad-address", "17175559636", "scott", "2 elm st"):
        assert value.lower() not in text, value
    assert "z***" in materialization(result, clean_key("customers"))["preview"]


def test_column_schema_is_on_the_definitions_before_any_run() -> None:
    graph = defs.resolve_asset_graph()
    for name, spec in TABLES.items():
        node = graph.get(clean_key(name))
        schema = node.metadata["dagster/column_schema"]
        assert [c.name for c in schema.columns] == spec.column_names
        assert node.description
