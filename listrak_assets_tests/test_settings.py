"""Every setting acts: each key of the shipped listrak.yaml is one the settings model takes and
the package reads; an unknown key, or one that no longer does anything, is refused with a
message saying so."""

from __future__ import annotations

import ast
import types
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from listrak_assets.settings import (
    INBOX_ONLY,
    Settings,
    SettingsError,
    inline_settings,
    load_settings,
)
from listrak_assets_tests.conftest import REPO

PACKAGE_DIR = REPO / "listrak_assets"


def _model_of(annotation: object) -> type[BaseModel] | None:
    """The settings model a field holds (also inside `X | None`), or None for a plain value."""
    candidates = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else ()
    for candidate in (annotation, *candidates):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _field_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, info in model.model_fields.items():
        yield (*prefix, name)
        inner = _model_of(info.annotation)
        if inner is not None:
            yield from _field_paths(inner, (*prefix, name))


def _key_paths(
    data: dict[str, object], model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """The keys of a settings file, down to where a value is no settings model (the `columns`
    mapping is the user's own)."""
    for key, value in data.items():
        yield (*prefix, key)
        info = model.model_fields.get(key)
        inner = _model_of(info.annotation) if info else None
        if inner is not None and isinstance(value, dict):
            yield from _key_paths(value, inner, (*prefix, key))


def _names_read() -> set[str]:
    """Attribute names the package reads (`conf.sms.dry_run`), and strings it reads fields by
    (`getattr(dates, span.value)`) outside the settings module's own definitions."""
    names: set[str] = set()
    for path in PACKAGE_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and path.name != "settings.py"
            ):
                names.add(node.value)
    return names


def test_every_key_of_the_shipped_file_is_a_setting() -> None:
    data = yaml.safe_load((REPO / "listrak.yaml").read_text())
    fields = set(_field_paths(Settings))
    keys = set(_key_paths(data, Settings))
    assert keys - fields == set()
    # The load-time settings of the catalog are in the file a user edits.
    assert {("name",), ("description",), ("owners",), ("freshness",)} <= keys
    load_settings(REPO / "listrak.yaml")  # and the file as a whole is valid


def test_every_setting_is_read_by_the_package() -> None:
    read = _names_read()
    # The scan would see a setting that nothing reads (as these two were).
    assert {"audience_primary_key", "admin_only"} - read == {"audience_primary_key", "admin_only"}
    unread = [".".join(p) for p in _field_paths(Settings) if p[-1] not in read]
    assert unread == [], f"settings nothing reads: {unread}"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "listrak.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_unknown_key_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"'list_nmae': Extra inputs are not permitted"):
        load_settings(_write(tmp_path, "list_nmae: Newsletter\n"))


@pytest.mark.parametrize(
    ("text", "key", "why"),
    [
        ("audience_primary_key: email\n", "audience_primary_key", "each has its own key"),
        (
            "business_user_access:\n  admin_only: true\n  allow_limited_pii: false\n",
            "admin_only",
            "open-source Dagster has no user roles",
        ),
    ],
)
def test_a_retired_key_is_refused_saying_it_does_nothing_and_why(
    tmp_path: Path, text: str, key: str, why: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(_write(tmp_path, text))
    message = str(refused.value)
    assert f"'{key}' does nothing" in message
    assert why in message
    assert "Remove it" in message


def test_full_send_days_is_a_whole_number_of_days_from_zero(tmp_path: Path) -> None:
    assert load_settings(_write(tmp_path, "list_name: N\n")).email.full_send_days == 7
    text = "email:\n  full_send_days: 0\n"
    assert load_settings(_write(tmp_path, text)).email.full_send_days == 0
    for wrong in ("-1", "1.5", "weekly"):
        with pytest.raises(SettingsError, match="full_send_days"):
            load_settings(_write(tmp_path, f"email:\n  full_send_days: {wrong}\n"))


def test_inline_settings_name_every_inbox_only_key_at_once(tmp_path: Path) -> None:
    keys = sorted(INBOX_ONLY)[:3]
    with pytest.raises(SettingsError) as err:
        inline_settings({key: "x" for key in keys} | {"list_name": "L"}, tmp_path, "defs.yaml")
    message = str(err.value)
    assert message.startswith("defs.yaml: ")
    for key in keys:
        assert f"'{key}' sets {INBOX_ONLY[key]}" in message
    assert "do nothing for a destination fed by upstream assets" in message
