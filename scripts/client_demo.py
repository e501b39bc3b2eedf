#!/usr/bin/env python3
"""Walk through the kestra-sync client against a Kestra server (or the kestra-sync emulator).

    python scripts/client_demo.py [URL]        # default: $KESTRA_URL

Credentials come from KESTRA_USERNAME/KESTRA_PASSWORD or KESTRA_API_TOKEN, the tenant from
KESTRA_TENANT (default main). It creates one flow in the namespace `kestra_sync.demo`, upserts a
changed version (create -> 422 already exists -> update), upserts it again (unchanged), lists
the namespace and deletes the flow, printing each step. Exit 1 with one line on any error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kestra_sync.client import KestraClient  # noqa: E402
from kestra_sync.errors import KestraSyncError  # noqa: E402

NAMESPACE = "kestra_sync.demo"
FLOW_ID = "hello"
V1 = f"""id: {FLOW_ID}
namespace: {NAMESPACE}
# created by scripts/client_demo.py
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hello from revision 1
"""
V2 = V1.replace("revision 1", "revision 2")


def run(url: str | None, out=print) -> None:
    client = KestraClient(
        url or "",
        tenant=os.environ.get("KESTRA_TENANT") or "main",
        username=os.environ.get("KESTRA_USERNAME") or None,
        password=os.environ.get("KESTRA_PASSWORD") or None,
        token=os.environ.get("KESTRA_API_TOKEN") or None,
    )
    out(f"server: {client.base_url} (tenant {client.tenant})")
    client.delete_flow(NAMESPACE, FLOW_ID, missing_ok=True)  # leftovers of an earlier run

    flow = client.create_flow(V1)
    out(f"create   {flow.namespace}/{flow.id}: revision {flow.revision}")

    result = client.upsert(V2)
    out(
        f"upsert   {result.flow.namespace}/{result.flow.id}: {result.action} "
        f"(revision {result.previous_revision} -> {result.flow.revision})"
    )

    result = client.upsert(V2)
    out(
        f"upsert   {result.flow.namespace}/{result.flow.id}: {result.action} "
        f"(revision {result.flow.revision})"
    )

    for f in client.namespace_flows(NAMESPACE):
        lines = len((f.source or "").splitlines())
        out(f"list     {f.namespace}/{f.id}: revision {f.revision}, {lines} source lines")

    client.delete_flow(NAMESPACE, FLOW_ID)
    out(f"delete   {NAMESPACE}/{FLOW_ID}: done")
    remaining = [f.id for f in client.list_namespace(NAMESPACE)]
    out(f"list     {NAMESPACE}: {remaining or 'empty'}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    url = argv[0] if argv else os.environ.get("KESTRA_URL")
    try:
        run(url)
    except KestraSyncError as err:
        print(f"error: {err}", file=sys.stderr)
        if err.hint:
            print(f"hint: {err.hint}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
