"""The round trip every oracle drives: validate on the server, plan, apply, pull, re-plan, update,
delete. Flows, namespace files (one binary) and KV pairs, in one namespace of the caller's choice,
through the real CLI in a child process. Written once so the OpenAPI oracle (against the
emulator) and the real-server suite (against Kestra itself) run the very same commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.support.cli import run_cli

LOG = "io.kestra.plugin.core.log.Log"
BINARY = bytes(range(256)) + b"\x00\xff"


def flow(fid: str, ns: str, message: str = "hi") -> str:
    return (
        f"id: {fid}\nnamespace: {ns}\nlabels:\n  owner: kestra-sync-oracle\n"
        f"tasks:\n  - id: log\n    type: {LOG}\n    message: {message}\n"
    )


@dataclass
class Repo:
    """A flow repository (nested layout) in a temp dir, aimed at one server."""

    root: Path
    env: dict[str, str]

    def ns_dir(self, ns: str) -> Path:
        return self.root / "flows" / ns.replace(".", "/")

    def write(self, relative: str, ns: str, content: bytes | str) -> None:
        path = self.ns_dir(ns) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        path.write_bytes(data)

    def run(self, *args: str):
        done = run_cli(*args, cwd=self.root, env=self.env)
        return done


def new_repo(root: Path, env: dict[str, str]) -> Repo:
    root.mkdir(parents=True, exist_ok=True)
    (root / "kestra-sync.yml").write_text("directory: flows\nlayout: nested\n", encoding="utf-8")
    (root / "flows").mkdir(exist_ok=True)
    return Repo(root, env)


def must(done, what: str) -> str:
    assert done.returncode == 0, f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def dashboard(did: str, title: str = "Oracle") -> str:
    return (
        f"id: {did}\ntitle: {title}\ncharts:\n  - id: about\n"
        "    type: io.kestra.plugin.core.dashboard.chart.Markdown\n"
        "    source:\n      type: Text\n      content: kestra-sync oracle\n"
    )


def round_trip(repo: Repo, ns: str, pulled: Path, *, dashboards: bool = False) -> None:
    """Every kind kestra-sync manages, created, read back, changed and deleted. ``dashboards``
    (a tenant's, Kestra 1.0 and later): off against a shared server, where --delete would
    remove the tenant's other dashboards."""
    boards = repo.root / "flows" / "_dashboards"
    if dashboards:
        boards.mkdir(parents=True, exist_ok=True)
        (boards / "oracle.yml").write_text(dashboard("oracle"), encoding="utf-8")
        (boards / "oracle-old.yml").write_text(dashboard("oracle-old"), encoding="utf-8")
    repo.write("etl.yml", ns, flow("etl", ns))
    repo.write("report.yml", ns, flow("report", ns))
    repo.write("_files/etl/load.py", ns, "print('v1')\n")
    repo.write("_files/model.bin", ns, BINARY)
    repo.write(
        "kv.yml", ns, "managed: true\nvalues:\n  region: eu\n  retries: 3\n  cfg: {a: [1]}\n"
    )

    must(repo.run("validate", "--server-side"), "validate --server-side")
    must(repo.run("plan"), "plan")
    must(repo.run("apply", "--auto-approve"), "apply")
    plan = must(repo.run("plan", "--detailed-exitcode"), "plan after apply (no changes)")
    assert "No changes" in plan, plan

    pull = new_repo(pulled, repo.env)
    with_boards = ("--dashboards",) if dashboards else ()
    must(pull.run("pull", "--namespace", ns, *with_boards), "pull")
    assert (pull.ns_dir(ns) / "etl.yml").read_text(encoding="utf-8") == flow("etl", ns)
    if dashboards:
        pulled_board = pulled / "flows" / "_dashboards" / "oracle.yml"
        assert pulled_board.read_text(encoding="utf-8") == dashboard("oracle")
        (boards / "oracle.yml").write_text(dashboard("oracle", "Changed"), encoding="utf-8")
        (boards / "oracle-old.yml").unlink()
    assert (pull.ns_dir(ns) / "_files" / "model.bin").read_bytes() == BINARY

    repo.write("etl.yml", ns, flow("etl", ns, message="changed"))
    repo.write("_files/etl/load.py", ns, "print('v2')\n")
    repo.write("kv.yml", ns, "managed: true\nvalues:\n  region: us\n")
    (repo.ns_dir(ns) / "report.yml").unlink()
    (repo.ns_dir(ns) / "_files" / "model.bin").unlink()
    must(repo.run("apply", "--auto-approve", "--delete"), "apply --delete")
    plan = must(repo.run("plan", "--delete", "--detailed-exitcode"), "plan after the changes")
    assert "No changes" in plan, plan


APP = (
    "id: request\ntype: io.kestra.plugin.ee.apps.Execution\ndisplayName: Request a run\n"
    "namespace: {ns}\nflowId: etl\naccess:\n  type: PRIVATE\n"
)
SECRET_ENV = "ORACLE_DB_PASSWORD"  # the round trip's env must set it


def enterprise_round_trip(repo: Repo, ns: str, pulled: Path) -> None:
    """Apps, namespace settings and a secret (Kestra Enterprise): created, read back, pulled,
    changed, and planned again to no changes."""
    repo.write("etl.yml", ns, flow("etl", ns))
    repo.write("_apps/request.yml", ns, APP.format(ns=ns))
    repo.write(
        "namespace.yml",
        ns,
        f"description: oracle\nvariables:\n  region: eu\nallowedNamespaces: [{ns}]\n"
        f"secrets:\n  - key: DB_PASSWORD\n    env: {SECRET_ENV}\n",
    )
    must(repo.run("apply", "--auto-approve"), "apply")
    plan = must(repo.run("plan", "--detailed-exitcode"), "plan after apply (no changes)")
    assert "No changes" in plan, plan

    pull = new_repo(pulled, repo.env)
    must(pull.run("pull", "--namespace", ns), "pull")
    assert (pull.ns_dir(ns) / "_apps" / "request.yml").read_text() == APP.format(ns=ns)

    repo.write("_apps/request.yml", ns, APP.format(ns=ns).replace("Request", "Ask for"))
    repo.write("namespace.yml", ns, "description: changed\n")
    must(repo.run("apply", "--auto-approve"), "apply of the changes")
    plan = must(repo.run("plan", "--detailed-exitcode"), "plan after the changes")
    assert "No changes" in plan, plan


def clean_up(repo: Repo, ns: str) -> None:
    """Delete everything the round trip made: no flow or file left in git and a managed, empty
    kv.yml, applied with --delete and an explicit --namespace (no flow is left in git)."""
    for path in sorted(repo.ns_dir(ns).rglob("*"), reverse=True):
        if path.is_file():
            path.unlink()
    (repo.ns_dir(ns) / "_files").mkdir(parents=True, exist_ok=True)
    repo.write("kv.yml", ns, "managed: true\nvalues: {}\n")
    must(
        repo.run(
            "apply", "--auto-approve", "--delete", "--allow-empty-namespace", "--namespace", ns
        ),
        "clean-up apply",
    )
