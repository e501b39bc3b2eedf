"""The emulator's modules import one way (issue: rules.py and server.py were split by job): no
module reaches back to one that imports it, even lazily inside a function, so each can be read
and tested on its own."""

from __future__ import annotations

import ast
from pathlib import Path

import kestra_sync.emulator as package

EMULATOR = Path(package.__file__).parent


def sibling_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
    return found


def test_emulator_modules_import_without_a_cycle():
    graph = {p.stem: sibling_imports(p) for p in EMULATOR.glob("*.py")}
    cycles = []

    def walk(module: str, path: list[str]) -> None:
        for dep in sorted(graph.get(module, ())):
            if dep in path:
                cycles.append(" -> ".join([*path[path.index(dep) :], dep]))
            else:
                walk(dep, [*path, dep])

    for module in graph:
        walk(module, [module])
    assert not cycles, cycles
    # The routes sit below the server, and nothing below imports it back.
    assert "server" not in set().union(*(deps for m, deps in graph.items() if m != "__init__"))
