"""An e2e flow repository in a temp dir, planned and applied with the real CLI against one
emulator (``Project``), and helpers to seed and read the emulator's flows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml

from kestra_sync.client import KestraClient
from tests.support.cli import ROOT, run_cli

LOG = "io.kestra.plugin.core.log.Log"
SCHEMA = json.loads((ROOT / "docs" / "plan.schema.json").read_text(encoding="utf-8"))


def flow(fid: str, ns: str = "company.team", message: str = "hi", head: str = "") -> str:
    return f"{head}id: {fid}\nnamespace: {ns}\ntasks:\n  - id: log\n    type: {LOG}\n    message: {message}\n"


class Project:
    """A flow repository in a temp dir, planned against one emulator."""

    def __init__(self, root: Path, emu, env: dict[str, str] | None = None):
        self.root, self.emu = root, emu
        self.env = {"KESTRA_URL": emu.url, **(env or {})}
        (root / "flows").mkdir(exist_ok=True)

    def write(self, source: str, directory: str = "flows") -> Path:
        data = yaml.safe_load(source)
        path = self.root / directory / data["namespace"] / f"{data['id']}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
        return path

    def config(self, text: str) -> None:
        (self.root / "kestra-sync.yml").write_text(text, encoding="utf-8")

    def run(self, *args: str, env: dict[str, str] | None = None):
        return run_cli(*args, cwd=self.root, env={**self.env, **(env or {})})

    def plan(self, *args: str, env: dict[str, str] | None = None):
        return self.run("plan", *args, env=env)

    def plan_json(self, *args: str) -> dict:
        done = self.plan("--format", "json", *args)
        data = json.loads(done.stdout)
        jsonschema.validate(data, SCHEMA)
        return data


def client(emu, tenant: str = "main") -> KestraClient:
    return KestraClient(emu.url, tenant=tenant, retries=0)


def seed(emu, *sources: str, tenant: str = "main") -> None:
    """Put flows on the server through its API, as a UI user would; then zero the counters."""
    with client(emu, tenant) as c:
        for source in sources:
            c.create_flow(source)
    emu.stats.reset()


def edit_on_server(emu, ns: str, fid: str, old: str, new: str, tenant: str = "main") -> int:
    with client(emu, tenant) as c:
        current = c.get_flow(ns, fid).source or ""
        return c.update_flow(ns, fid, current.replace(old, new)).revision


def server_source(emu, ns: str, fid: str, tenant: str = "main") -> str | None:
    last = emu.store.last(tenant, ns, fid)
    return None if last is None else last.source


def line_with(text: str, *words: str) -> str:
    """The one output line holding every word (in order); fails with the whole output."""
    pattern = re.compile(".*".join(re.escape(w) for w in words))
    hits = [line for line in text.splitlines() if pattern.search(line)]
    assert len(hits) == 1, f"expected one line with {words}, got {hits} in:\n{text}"
    return hits[0]
