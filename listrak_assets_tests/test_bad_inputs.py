"""The bad-input corpus (`bad_inputs/`): real-world nasty files, each with the outcome its
manifest (`bad_inputs/expected.toml`) gives. A file that can't be read fails with a message
naming the file, the line and the problem, and quoting no customer; a file that can is read
through the raw and clean assets, and every row is accounted for."""

from __future__ import annotations

import shutil
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from listrak_assets.defs.keys import clean_key, raw_key
from listrak_assets.inbox import InputFileError, read_table
from listrak_assets.schemas import TABLES
from listrak_assets_tests.conftest import (
    Workspace,
    check_results,
    failure_messages,
    materialization,
)

CORPUS = Path(__file__).parent / "bad_inputs"
MANIFEST: dict[str, dict[str, Any]] = tomllib.loads((CORPUS / "expected.toml").read_text())
ERRORS = {name: case for name, case in MANIFEST.items() if case["outcome"] == "error"}
ACCEPTED = {name: case for name, case in MANIFEST.items() if case["outcome"] == "accepted"}

# Written at run time rather than committed: one customer whose quoted address is 10 MB, with
# the delimiter, quotes and line breaks inside it.
BIG_FIELD = "customers-10mb-field.csv"
_BIG_ADDRESS = ('12 Long Road, "Unit" 4\n' * 460_000)[: 10 * 1024 * 1024]


def _big_field_file(folder: Path) -> Path:
    quoted = '"' + _BIG_ADDRESS.replace('"', '""') + '"'
    path = folder / BIG_FIELD
    path.write_text(f"email,address1,firstname\nbig1@example.com,{quoted},Ann\n", encoding="utf-8")
    return path


# Every customer in the corpus has an address at example.com; these are its phone numbers.
_PHONES = ("4155550123", "4155550124", "2079460958", "4155552671", "12345678")


def _no_personal_data(text: str) -> None:
    """No email address or phone number of the corpus in `text` (a masked address keeps only
    its first character)."""
    assert "@example.com" not in text, text
    digits = "".join(c for c in text if c.isdigit())
    assert not any(phone in digits for phone in _PHONES), text


def test_the_corpus_covers_at_least_30_files_and_each_is_in_the_manifest() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.name not in ("expected.toml", ".gitattributes")}
    assert files == set(MANIFEST)
    assert len(files) >= 30
    for name, case in MANIFEST.items():
        assert name.startswith(case["table"]), name  # the inbox finds it for that table
        assert case["outcome"] in ("error", "accepted"), name
        assert name in ERRORS or {"rows", "clean", "rejects"} <= set(case), name


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_an_unreadable_file_fails_naming_file_line_and_problem(name: str) -> None:
    case = ERRORS[name]
    with pytest.raises(InputFileError) as caught:
        read_table(TABLES[case["table"]], [CORPUS / name], restrict_pii=True)
    message = str(caught.value)
    assert message.startswith(case["error"])
    _no_personal_data(message)


def test_unreadable_files_fail_their_raw_asset_through_dagster(workspace: Workspace) -> None:
    """One file per table in one run: each table's raw asset fails with its file's message."""
    chosen: dict[str, str] = {}
    for name, case in sorted(ERRORS.items()):
        chosen.setdefault(case["table"], name)
    assert len(chosen) >= 4
    for name in chosen.values():
        shutil.copy(CORPUS / name, workspace.inbox / name)
    result = workspace.materialize(*chosen)
    assert not result.success
    messages = sorted(failure_messages(result))
    assert len(messages) == len(chosen)
    for name in chosen.values():
        [message] = [m for m in messages if m.startswith(name)]
        assert message.startswith(ERRORS[name]["error"])
        _no_personal_data(message)


def _rejects_by_file(rejects: pl.DataFrame) -> dict[str, list[str]]:
    lines: dict[str, list[str]] = defaultdict(list)
    for file, row, column, reason, action in rejects.select(
        "source_file", "source_row", "column", "reason", "action"
    ).iter_rows():
        lines[file].append(f"{row} {column} {reason} {action}")
    return {file: sorted(found) for file, found in lines.items()}


def test_readable_files_are_cleaned_and_every_row_is_accounted_for(
    workspace: Workspace,
) -> None:
    """All readable files in one run, each table's files together (their keys differ, so no
    row of one file merges with another's)."""
    for name in ACCEPTED:
        shutil.copy(CORPUS / name, workspace.inbox / name)
    _big_field_file(workspace.inbox)
    expected = {
        **ACCEPTED,
        # The address is cut to Listrak's 255 characters: free text, no rejects line.
        BIG_FIELD: {"table": "customers", "rows": 1, "clean": 1, "rejects": []},
    }
    tables = sorted({case["table"] for case in expected.values()})
    result = workspace.materialize(*tables)
    assert result.success, failure_messages(result)
    checks = check_results(result)
    for table in tables:
        files = {name: case for name, case in expected.items() if case["table"] == table}
        raw = workspace.raw(table)
        rows = dict(raw.group_by("_source_file").len().iter_rows())
        assert {f: rows.get(f, 0) for f in files} == {f: c["rows"] for f, c in files.items()}
        rejects = _rejects_by_file(workspace.rejects(table))
        assert {f: rejects.get(f, []) for f in files} == {f: c["rejects"] for f, c in files.items()}
        assert set(rejects) <= set(files)
        # Conservation: raw rows = clean + rejected + merged, by the metadata and the check.
        meta = materialization(result, clean_key(table))
        clean = workspace.clean(table)
        assert clean.height == meta["dagster/row_count"] == sum(c["clean"] for c in files.values())
        assert meta["merged_duplicates"] == 0
        assert raw.height == clean.height + meta["rejected_rows"] + meta["merged_duplicates"]
        assert checks[("clean/" + table, "conservation")].passed
        # Nothing personal in what the UI shows of the raw table (PII is restricted).
        for value in materialization(result, raw_key(table)).values():
            _no_personal_data(str(value))
    customers = workspace.clean("customers").filter(pl.col("email") == "big1@example.com")
    # Line breaks become spaces (Listrak's files can't carry them), then the cut.
    assert customers["address1"].to_list() == [_BIG_ADDRESS.replace("\n", " ")[:255].strip()]
