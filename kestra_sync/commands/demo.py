"""`kestra-sync demo`: validate, plan and apply against an in-memory emulator."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

DEMO_USER, DEMO_PASSWORD = "demo@kestra.io", "DemoPass1"  # emulator-only demo credentials


@click.command()
@click.argument("directory", default="flows", type=click.Path(path_type=Path))
def demo(directory):
    """Run validate, plan and apply of DIRECTORY against an in-memory Kestra API emulator.

    Each step runs the real CLI in a child process over HTTP on 127.0.0.1, so what you see is
    what you get against a Kestra server. Nothing outside the emulator is touched.
    """
    import subprocess

    from ..emulator import Emulator

    if not directory.is_dir():
        from ..errors import InputError

        raise InputError(
            f"{directory}: flow directory not found", hint="run the demo from the repo root"
        )
    with Emulator(users={DEMO_USER: DEMO_PASSWORD}) as emulator:
        env = {
            **os.environ,
            "KESTRA_URL": emulator.url,
            "KESTRA_USERNAME": DEMO_USER,
            "KESTRA_PASSWORD": DEMO_PASSWORD,
            "NO_COLOR": os.environ.get("NO_COLOR", ""),
        }
        # Basic auth on, as every Kestra OSS from 0.24 on requires; the steps pass the account.
        click.secho(
            f"Kestra API emulator running at {emulator.url} (in memory, basic auth: {DEMO_USER})\n",
            bold=True,
        )

        def step(title: str, *args: str, expect: tuple[int, ...] = (0,)) -> None:
            click.secho(f"== {title}", bold=True)
            click.echo(f"$ kestra-sync {' '.join(args)}")
            done = subprocess.run([sys.executable, "-m", "kestra_sync", *args], env=env)
            if done.returncode not in expect:
                from ..errors import KestraSyncError

                raise KestraSyncError(f"demo step failed: kestra-sync {' '.join(args)}")
            click.echo()

        d = str(directory)
        step("1. validate the flows offline", "validate", d)
        step(
            "2. plan against an empty server",
            "plan",
            d,
            "--no-diff",
            "--detailed-exitcode",
            expect=(2,),
        )
        step("3. apply", "apply", d, "--auto-approve")
        step("4. plan again: the server matches git", "plan", d, "--detailed-exitcode")
        flow = _edit_like_a_user(emulator.url)
        click.secho(f"(someone edits {flow} in the Kestra UI ...)\n", italic=True)
        step("5. plan shows the drift", "plan", d, "--detailed-exitcode", expect=(2,))
        step("6. apply puts git back in charge", "apply", d, "--auto-approve")
        script = _edit_a_script(directory, step)
        if script is None:
            click.secho("(no namespace file in this directory: step 7 skipped)\n", italic=True)
    click.secho("Demo done: try `kestra-sync emulator` and point plan/apply at it.", bold=True)


def _edit_a_script(directory: Path, step) -> Path | None:
    """Edit a namespace file in a copy of the directory (the user's files stay untouched) and
    plan the copy: the script's diff shows."""
    import shutil
    import tempfile

    scripts = sorted(p for p in directory.rglob("_files/**/*.py") if p.is_file())
    if not scripts:
        return None
    with tempfile.TemporaryDirectory(prefix="kestra-sync-demo-") as tmp:
        copy = Path(tmp) / directory.name
        shutil.copytree(directory, copy)
        script = copy / scripts[0].relative_to(directory)
        with script.open("a", encoding="utf-8") as handle:
            handle.write('print("done")\n')
        click.secho(
            f"(someone edits {scripts[0]} in a branch; here in a copy, {copy} ...)\n",
            italic=True,
        )
        step(
            "7. plan shows the script's diff", "plan", str(copy), "--detailed-exitcode", expect=(2,)
        )
    return script


def _edit_like_a_user(url: str) -> str:
    """Change one flow on the server through the API, as a UI edit would."""
    import re

    from ..client import KestraClient

    with KestraClient(url, username=DEMO_USER, password=DEMO_PASSWORD) as client:
        for listed in client.search_flows():
            source = client.get_flow(listed.namespace, listed.id).source or ""
            line = re.search(r"(?m)^description: [^|>\n].*$", source)
            if line:
                edited = source.replace(line.group(0), "description: Quick fix made in the UI", 1)
                client.update_flow(listed.namespace, listed.id, edited)
                return f"{listed.namespace}/{listed.id}"
    raise RuntimeError("no flow with a one-line description to edit")
