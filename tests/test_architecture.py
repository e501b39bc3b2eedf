"""The tree shows the pipeline (README "Layout"): each stage of kestra_sync imports only the
stages before it, the shared foundation, and itself. An import that runs back up the pipeline
makes a stage depend on one that depends on it; the few there are are listed below, each with
its reason, so that a new one is a decision and not an accident. Imports for annotations only
(under ``if TYPE_CHECKING:``, such as a kind's ``write(change: Change)``) never run and are not
counted."""

from __future__ import annotations

from tests.support.imports import PACKAGE, kestra_imports, module_name

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
    ("settings.values", "planning.ownership"): "the ownership_label setting is checked as read",
    ("settings.values", "rules.kestraversion"): "the kestra_version setting is checked as read",
    ("source.resultcache", "planning.ownership"): "the cache keeps each flow's labels",
}


def _stage(module: str) -> int | None:
    """The stage's index; -1 for the foundation; None for the emulator, which may import only
    the rule table's facts (tests/test_versions.py holds that)."""
    if module in FOUNDATION or any(module.startswith(f + ".") for f in FOUNDATION if f):
        return -1
    top = module.split(".")[0]
    if top == "emulator":
        return None
    return STAGES.index("cli" if top == "__main__" else top)


def _edges() -> list[tuple[str, str]]:
    return sorted(
        (module_name(path), target)
        for path in PACKAGE.rglob("*.py")
        for target in kestra_imports(path)
        if target.split(".")[0] != module_name(path).split(".")[0]
    )


def test_every_module_belongs_to_a_stage():
    tops = {module_name(p).split(".")[0] for p in PACKAGE.rglob("*.py")} - {""}
    assert tops <= set(STAGES) | {"__main__", "emulator", "models", "errors", "atomic"}


def test_each_stage_imports_only_the_stages_before_it():
    back = {
        (importer, target)
        for importer, target in _edges()
        if None not in (_stage(importer), _stage(target)) and _stage(target) > _stage(importer)  # type: ignore[operator]
    }
    assert back - set(ALLOWED_BACK) == set(), "a new import back up the pipeline"
    assert set(ALLOWED_BACK) - back == set(), "an allowed exception that no longer exists"
