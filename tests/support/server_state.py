"""e2e helpers of the apply tests: write flow files, run the CLI, and read what the emulator
holds (sources, revisions, how many writes it took)."""

from __future__ import annotations

import re
from pathlib import Path

from kestra_sync.client import KestraClient
from tests.support.cli import run_cli

LOG = "io.kestra.plugin.core.log.Log"


WRITES = ("POST", "PUT", "DELETE")


def flow(namespace: str, flow_id: str, message: str = "hello", extra: str = "") -> str:
    return (
        f"id: {flow_id}\nnamespace: {namespace}\n{extra}tasks:\n"
        f"  - id: log\n    type: {LOG}\n    message: {message}\n"
    )


def caller(namespace: str, flow_id: str, target: str) -> str:
    return (
        f"id: {flow_id}\nnamespace: {namespace}\ntasks:\n"
        f"  - id: call\n    type: io.kestra.plugin.core.flow.Subflow\n"
        f"    namespace: {namespace}\n    flowId: {target}\n"
    )


def write_flows(root: Path, sources: list[str]) -> Path:
    """Write sources into root/flows in the nested layout; return the flow directory."""
    directory = root / "flows"
    for source in sources:
        ns = re.search(r"^namespace: (\S+)", source, re.M).group(1)
        fid = re.search(r"^id: (\S+)", source, re.M).group(1)
        path = directory.joinpath(*ns.split(".")) / f"{fid}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(source.encode("utf-8"))
    return directory


def kestra(emu, *args: str, cwd: Path, stdin: str | None = None):
    return run_cli(*args, cwd=cwd, env={"KESTRA_URL": emu.url}, stdin=stdin)


def on_server(emu, tenant: str = "main") -> dict[tuple[str, str], str]:
    """What the server holds: (namespace, id) -> source of the live (not deleted) flows."""
    return {(r.namespace, r.id): r.source for r in emu.store.live(tenant)}


def revision(emu, namespace: str, flow_id: str) -> int:
    return emu.store.last("main", namespace, flow_id).revision


def writes(emu) -> int:
    return sum(emu.stats.count(method) for method in WRITES)


def seed(emu, *sources: str) -> None:
    with KestraClient(emu.url) as client:
        for source in sources:
            client.create_flow(source)
