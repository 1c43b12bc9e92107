"""The layering, checked on the import graph: a core without Dagster, no circles between the
package's parts, imports that only point down (Dagster layer -> tooling -> channels -> shared
core), and a production import of the definitions that loads no demo or test tooling.

Each rule is also run on a small package built in a temporary folder with one violation, so a
rule that could never fail would show here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from listrak_assets_tests.import_graph import (
    Import,
    dagster_imports,
    import_graph,
    modules_loaded_by,
    unit,
    unit_cycles,
    unit_edges,
    upward_imports,
)

PACKAGE = "listrak_assets"
PACKAGE_DIR = Path(__file__).resolve().parents[1] / PACKAGE

# Where the core is wired into Dagster: the only parts that may import it.
DAGSTER_LAYER = {"defs", "definitions", "refresh"}
# Demo and test tooling: the Listrak emulator, the SFTP sandbox, the sample-data generator.
TOOLING = {"sandbox", "generate", "generator"}
# Where data leaves for Listrak: the REST client, the SFTP uploader, the flat-file writer.
CHANNELS = {"listrak", "sftp", "files"}
# Everything else is the shared core (rank 0): schemas, cleaning, inbox, settings and the
# neutral modules under them.
RANK = {
    **dict.fromkeys(CHANNELS, 1),
    **dict.fromkeys(TOOLING, 2),
    **dict.fromkeys(DAGSTER_LAYER, 3),
}


def _why(problems: list[str]) -> str:
    return "\n  " + "\n  ".join(problems)


@pytest.fixture(scope="module")
def graph() -> list[Import]:
    return import_graph(PACKAGE_DIR)


# --- the package ----------------------------------------------------------------------------


def test_the_graph_sees_the_package(graph: list[Import]) -> None:
    """An empty or misread graph would pass every rule below."""
    pairs = unit_edges(graph, PACKAGE)
    for pair in [("cleaning", "schemas"), ("defs", "cleaning"), ("sandbox", "listrak")]:
        assert pair in pairs
    assert any(e.importer == f"{PACKAGE}.defs.clean" and e.imported == "dagster" for e in graph)


def test_no_core_module_imports_dagster(graph: list[Import]) -> None:
    found = dagster_imports(graph, PACKAGE, DAGSTER_LAYER)
    assert not found, "Dagster belongs in the Dagster layer only:" + _why(found)


def test_no_circle_between_the_parts_of_the_package(graph: list[Import]) -> None:
    found = unit_cycles(graph, PACKAGE)
    assert not found, "move what both sides need into a neutral module:" + _why(found)


def test_imports_point_down_the_layers(graph: list[Import]) -> None:
    found = upward_imports(graph, PACKAGE, RANK, default_rank=0)
    assert not found, "a layer imports one above it:" + _why(found)


@pytest.fixture(name="loaded", scope="module")
def _loaded() -> set[str]:
    """What loading the definitions imports, in a fresh interpreter."""
    loaded = modules_loaded_by(f"{PACKAGE}.definitions")
    assert f"{PACKAGE}.defs.clean" in loaded  # the import really ran
    return loaded


def test_the_definitions_load_no_demo_or_test_tooling(loaded: set[str]) -> None:
    tooling = sorted(m for m in loaded if unit(m, PACKAGE) in TOOLING)
    assert not tooling, "a production import loads demo or test tooling:" + _why(tooling)


def test_the_definitions_load_no_ssh_stack(loaded: set[str]) -> None:
    # Every process of a run loads the definitions; paramiko is wanted only when a file is sent.
    ssh = sorted(m for m in loaded if m.split(".")[0] == "paramiko" or m.endswith("sftp.uploader"))
    assert not ssh, "loading the definitions imports the SSH stack:" + _why(ssh)


# --- each rule fails on a package that breaks it --------------------------------------------

# A well-layered package: the Dagster layer imports a channel, the channel the shared core
# (one import relative), and the tooling uses the channel.
SHOP = {
    "__init__.py": "",
    "definitions.py": "import dagster as dg\nfrom shop.defs import assets\n",
    "defs/__init__.py": "",
    "defs/assets.py": "import dagster\nfrom shop.sftp.upload import send\n",
    "sftp/__init__.py": "",
    "sftp/upload.py": "from ..schemas import spec\n\ndef send():\n    return spec.NAME\n",
    "schemas/__init__.py": "from .spec import NAME\n",
    "schemas/spec.py": "NAME = 'shop'\n",
    "sandbox/__init__.py": "",
    "sandbox/server.py": "from shop.sftp import upload\n",
    "generator/__init__.py": "",
    "generate.py": "",
}


def _shop(root: Path, changes: dict[str, str] | None = None) -> Path:
    """The SHOP package under `root`, with files added or replaced."""
    for name, text in {**SHOP, **(changes or {})}.items():
        path = root / "shop" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "shop"


def test_a_well_layered_package_passes_every_rule(tmp_path: Path) -> None:
    graph = import_graph(_shop(tmp_path))
    assert ("sftp", "schemas") in unit_edges(graph, "shop")  # the relative import resolved
    assert dagster_imports(graph, "shop", DAGSTER_LAYER) == []
    assert unit_cycles(graph, "shop") == []
    assert upward_imports(graph, "shop", RANK, default_rank=0) == []


def test_dagster_in_the_core_is_found_even_inside_a_function(tmp_path: Path) -> None:
    lazy = "def report():\n    from dagster import AssetKey\n    return AssetKey\n"
    graph = import_graph(_shop(tmp_path, {"schemas/report.py": lazy}))
    [found] = dagster_imports(graph, "shop", DAGSTER_LAYER)
    assert found.startswith("shop.schemas.report imports dagster ")


def test_a_circle_between_two_parts_is_found(tmp_path: Path) -> None:
    graph = import_graph(
        _shop(tmp_path, {"schemas/names.py": "from shop.sftp.upload import send\n"})
    )
    [found] = unit_cycles(graph, "shop")
    assert found.startswith("schemas -> sftp (shop.schemas.names at ")
    assert " -> schemas (shop.sftp.upload at " in found


def test_a_circle_through_three_parts_is_found_once(tmp_path: Path) -> None:
    changes = {
        "schemas/names.py": "import shop.inbox.read\n",
        "inbox/__init__.py": "",
        "inbox/read.py": "from shop import sftp\n",
    }
    [found] = unit_cycles(import_graph(_shop(tmp_path, changes)), "shop")
    assert found.startswith("inbox -> sftp ") and found.count(" -> ") == 3


def test_an_import_up_the_layers_is_found(tmp_path: Path) -> None:
    graph = import_graph(_shop(tmp_path, {"schemas/upload.py": "from shop.sftp import upload\n"}))
    [found] = upward_imports(graph, "shop", RANK, default_rank=0)
    assert found.startswith("schemas imports sftp: shop.schemas.upload at ")


@pytest.mark.parametrize("tool", ["sandbox.server", "generator", "generate"])
def test_tooling_loaded_by_the_definitions_is_found(tmp_path: Path, tool: str) -> None:
    # No Dagster here: the rule is about what gets imported, and a fresh interpreter is slow
    # enough without it.
    changes = {
        "definitions.py": "from shop.defs import assets\n",
        "defs/assets.py": f"import shop.{tool}\n",
    }
    loaded = modules_loaded_by("shop.definitions", path=[_shop(tmp_path, changes).parent])
    assert "shop.defs.assets" in loaded
    tooling = {m for m in loaded if unit(m, "shop") in TOOLING}
    assert tooling == {f"shop.{tool}", f"shop.{tool.split('.')[0]}"}
