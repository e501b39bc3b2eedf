"""The tree shows the pipeline (README "Layout"): each stage of kestra_sync imports only the
stages before it, the shared foundation, and itself. An import that runs back up the pipeline
makes a stage depend on one that depends on it; the few there are are listed below, each with
its reason, so that a new one is a decision and not an accident. Imports for annotations only
(under ``if TYPE_CHECKING:``, such as a kind's ``write(change: Change)``) never run and are not
counted."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kestra_sync"

# In the order a run goes through them; a stage may import those before it.
STAGES = [
    "settings",
    "source",
    "client",
    "rules",
    "kinds",
    "planning",
    "applying",
    "pull",
    "report",
    "action",
    "commands",
    "cli",
]
# What every stage may import: plain data, errors, the rule table's facts, and escaping.
FOUNDATION = {
    "__version__",
    "models",
    "errors",
    "atomic",
    "rules.ruletable",
    "rules.knowledge",
    "report.escape",
}
# Imports that run back up the pipeline, and why each is there.
ALLOWED_BACK = {
    ("models", "source.yamlindex"): "a flow kept from the cache is parsed when first used",
    ("rules.validate", "kinds"): "the project check validates every kind's scan",
    ("rules.validate", "kinds.nsfiles"): "the project check validates every kind's scan",
    ("settings.config", "planning.ownership"): "the ownership_label setting is checked as read",
    ("settings.config", "rules.kestraversion"): "the kestra_version setting is checked as read",
    ("source.resultcache", "planning.ownership"): "the cache keeps each flow's labels",
    # An environment's overlays (kv.<env>.yml, _files.<env>/) are read by the kinds' own
    # readers, for validate (rules) as for plan.
    ("source.environments", "kinds.base"): "overlays are read by the kinds' own readers",
    ("source.environments", "kinds.kv"): "overlays are read by the kinds' own readers",
    ("source.environments", "kinds.nsfiles"): "overlays are read by the kinds' own readers",
}


def _module(path: Path) -> str:
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


def _imports(path: Path) -> set[str]:
    """The kestra_sync modules ``path`` imports when it runs (relative imports resolved, also
    those inside functions), as dotted names under kestra_sync."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = _annotation_only(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not node.level or node in typing_only:
            continue
        base = package.split(".") if package else []
        base = base[: len(base) - (node.level - 1)]
        target = ".".join([*base, node.module] if node.module else base)
        if node.module and not (PACKAGE / target.replace(".", "/")).is_dir():
            found.add(target)
        else:  # from a package: each name is a module of it, or a name it exports
            for alias in node.names:
                name = f"{target}.{alias.name}".strip(".")
                where = PACKAGE / name.replace(".", "/")
                is_module = where.is_dir() or where.with_suffix(".py").is_file()
                found.add(name if is_module or not target else target)
    return found


def _stage(module: str) -> int | None:
    """The stage's index; -1 for the foundation; None for the emulator (checked apart)."""
    if module in FOUNDATION or any(module.startswith(f + ".") for f in FOUNDATION if f):
        return -1
    top = module.split(".")[0]
    if top == "emulator":
        return None
    return STAGES.index("cli" if top == "__main__" else top)


def _edges() -> list[tuple[str, str]]:
    return sorted(
        (_module(path), target)
        for path in PACKAGE.rglob("*.py")
        for target in _imports(path)
        if target.split(".")[0] != _module(path).split(".")[0]
    )


def test_every_module_belongs_to_a_stage():
    tops = {_module(p).split(".")[0] for p in PACKAGE.rglob("*.py")} - {""}
    assert tops <= set(STAGES) | {"__main__", "emulator", "models", "errors", "atomic"}


def test_each_stage_imports_only_the_stages_before_it():
    back = {
        (importer, target)
        for importer, target in _edges()
        if None not in (_stage(importer), _stage(target)) and _stage(target) > _stage(importer)  # type: ignore[operator]
    }
    assert back - set(ALLOWED_BACK) == set(), "a new import back up the pipeline"
    assert set(ALLOWED_BACK) - back == set(), "an allowed exception that no longer exists"


def test_the_emulator_imports_only_the_foundation():
    # It stands in for a real Kestra: sharing the validator's code would make both wrong together.
    outside = {
        (importer, target)
        for importer, target in _edges()
        if importer.split(".")[0] == "emulator" and _stage(target) != -1
    }
    assert outside == set()
