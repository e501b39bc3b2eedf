"""Which kestra_sync modules a module imports, read from its source (nothing is imported):
for the tests that hold the package's layout (tests/test_architecture.py) and the emulator's
independence from the validator (tests/test_versions.py)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "kestra_sync"


def module_name(path: Path) -> str:
    """``kestra_sync/planning/plan.py`` -> ``planning.plan`` (a package is its folder)."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _annotation_only(tree: ast.Module) -> set[ast.AST]:
    """The imports under ``if TYPE_CHECKING:``: for annotations, never run."""
    return {
        child
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for statement in node.body
        for child in ast.walk(statement)
    }


def kestra_imports(path: Path, *, annotations: bool = False) -> set[str]:
    """The kestra_sync modules ``path`` imports (relative imports resolved, absolute ones
    too, also those inside functions), as dotted names under kestra_sync. A name imported
    from a package counts as its module when it is one, else as the package. Imports for
    annotations only count with ``annotations``."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set() if annotations else _annotation_only(tree)
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node in skipped:
            continue
        if node.level:
            base = package.split(".") if package else []
            base = base[: len(base) - (node.level - 1)]
            target = ".".join([*base, node.module] if node.module else base)
        elif (node.module or "").split(".")[0] == "kestra_sync":
            target = (node.module or "").removeprefix("kestra_sync").lstrip(".")
        else:
            continue
        if node.module and target and not (PACKAGE / target.replace(".", "/")).is_dir():
            found.add(target)
            continue
        for alias in node.names:  # from a package: each name is a module of it, or not
            name = f"{target}.{alias.name}".strip(".")
            where = PACKAGE / name.replace(".", "/")
            is_module = where.is_dir() or where.with_suffix(".py").is_file()
            found.add(name if is_module or not target else target)
    return found
