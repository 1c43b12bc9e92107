"""The static import graph of a package, read with `ast`, and the rules the architecture test
checks on it. Generic over the package so that each rule can be shown to fail on a small
package built for the purpose.

A package's *units* are its direct children: `pkg.cleaning.table` belongs to `cleaning`,
`pkg.settings` to `settings`. Rules about layers and cycles speak of units, because a unit
is what one developer owns and what the layering is drawn between.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Import:
    """One import statement: who imports what, and where it is written."""

    importer: str
    imported: str
    file: Path
    line: int

    def where(self) -> str:
        return f"{self.file}:{self.line}"


def _module_names(package_dir: Path) -> dict[Path, str]:
    root = package_dir.parent
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[path] = ".".join(parts)
    return names


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The module a `from ... import` names, with relative levels resolved."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    # In a package's __init__, level 1 is the package itself; in a module, its parent.
    drop = node.level - 1 if is_package else node.level
    base = base[: len(base) - drop]
    return ".".join([*base, *([node.module] if node.module else [])])


def import_graph(package_dir: Path) -> list[Import]:
    """Every import in the package, at any depth (inside functions too): a lazy import is
    still a dependency. `from a import b` points at the module `a.b` when there is one."""
    names = _module_names(package_dir)
    modules = set(names.values())
    edges: list[Import] = []
    for path, module in names.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(node, module, is_package)
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                    for alias in node.names
                ]
            else:
                continue
            edges += [
                Import(module, target, path, node.lineno) for target in dict.fromkeys(targets)
            ]
    return edges


def unit(module: str, package: str) -> str | None:
    """The child of `package` that `module` belongs to; None outside it or for the package's
    own __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == package else None


def dagster_imports(edges: Iterable[Import], package: str, dagster_layer: set[str]) -> list[str]:
    """Imports of Dagster (or a dagster-* library) from outside the Dagster layer."""
    found = []
    for edge in edges:
        top = edge.imported.split(".")[0]
        owner = unit(edge.importer, package)
        if (top == "dagster" or top.startswith("dagster_")) and owner not in dagster_layer:
            found.append(f"{edge.importer} imports {edge.imported} ({edge.where()})")
    return found


def unit_edges(edges: Iterable[Import], package: str) -> dict[tuple[str, str], Import]:
    """One example import per (importing unit, imported unit) inside the package."""
    out: dict[tuple[str, str], Import] = {}
    for edge in edges:
        a, b = unit(edge.importer, package), unit(edge.imported, package)
        if a and b and a != b:
            out.setdefault((a, b), edge)
    return out


def unit_cycles(edges: Iterable[Import], package: str) -> list[str]:
    """Each group of units that import each other in a circle, shown as one circle with the
    import that makes each step."""
    by_pair = unit_edges(edges, package)
    successors: dict[str, set[str]] = {}
    for a, b in by_pair:
        successors.setdefault(a, set()).add(b)

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in successors.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reach = {u: reachable(u) for u in successors}
    found, reported = [], set()
    for start in sorted(successors):
        if start in reported or start not in reach[start]:
            continue
        group = {u for u in reach[start] if start in reach.get(u, set())}
        reported |= group
        found.append(_describe_circle(_circle(start, successors, group), by_pair))
    return found


def _circle(start: str, successors: Mapping[str, set[str]], group: set[str]) -> list[str]:
    """A shortest circle from `start` back to itself within `group` (breadth first)."""
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(successors.get(node, set()) & group):
            if nxt == start:
                chain = [node]
                while chain[-1] != start:
                    chain.append(parent[chain[-1]])
                return [*reversed(chain), start]
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    raise ValueError(f"{start} is on no circle")


def _describe_circle(circle: list[str], by_pair: Mapping[tuple[str, str], Import]) -> str:
    steps = [
        f"{b} ({by_pair[a, b].importer} at {by_pair[a, b].where()})"
        for a, b in zip(circle, circle[1:], strict=False)
    ]
    return f"{circle[0]} -> " + " -> ".join(steps)


def upward_imports(
    edges: Iterable[Import], package: str, rank: Mapping[str, int], default_rank: int
) -> list[str]:
    """Imports from a unit to a unit of a higher layer (a higher rank)."""
    found = []
    for (a, b), edge in sorted(unit_edges(edges, package).items()):
        if rank.get(b, default_rank) > rank.get(a, default_rank):
            found.append(f"{a} imports {b}: {edge.importer} at {edge.where()}")
    return found


_LIST_MODULES = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


def modules_loaded_by(module: str, path: Iterable[Path] = ()) -> set[str]:
    """Every module in `sys.modules` after importing `module` in a fresh interpreter (with
    `path` in front of the search path)."""
    env = dict(os.environ)
    search = [*map(str, path), *filter(None, [env.get("PYTHONPATH")])]
    env["PYTHONPATH"] = os.pathsep.join(search)
    done = subprocess.run(
        [sys.executable, "-c", _LIST_MODULES, module],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"importing {module} failed:\n{done.stderr}")
    return set(json.loads(done.stdout.splitlines()[-1]))
