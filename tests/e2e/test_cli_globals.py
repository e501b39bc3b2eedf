"""--debug after the command, -v/--verbose request logs, and an environment variable for every
option (issue 11 item 11), with the real CLI."""

from __future__ import annotations

import re

import click
import pytest

from kestra_sync.cli import cli, hoist_global_flags
from tests.support.project import Project, flow, seed


def test_global_flags_may_follow_the_command():
    assert hoist_global_flags(["plan", "--debug", "-v", "flows"]) == [
        "--debug",
        "-v",
        "plan",
        "flows",
    ]
    assert hoist_global_flags(["validate", "--", "--debug"]) == ["validate", "--", "--debug"]


def test_debug_after_the_command_is_accepted(tmp_path, emulator):
    """`kestra-sync plan --debug` used to be "No such option: --debug" (exit 2)."""
    project = Project(tmp_path, emulator)
    project.write(flow("a"))
    done = project.plan("--no-diff", "--debug")
    assert done.returncode == 0, done.stderr
    assert "+ a" in done.stdout


def test_verbose_logs_each_request_without_headers_or_secrets(tmp_path, make_emulator):
    emu = make_emulator(users={"admin@kestra.io": "Secret12345"})
    seed_env = {"KESTRA_USERNAME": "admin@kestra.io", "KESTRA_PASSWORD": "Secret12345"}
    project = Project(tmp_path, emu, env=seed_env)
    project.write(flow("a"))
    done = project.plan("-v")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("http: ")]
    assert lines and all(
        re.fullmatch(r"http: GET /api/v1/\S+ -> 200 \(\d+ ms\)", line) for line in lines
    ), lines
    assert "Secret12345" not in done.stderr and "Authorization" not in done.stderr
    assert "?" not in "".join(lines)  # no query string either
    quiet = project.plan()
    assert "http: " not in quiet.stderr


def test_every_option_has_an_environment_variable_in_its_help():
    missing = []
    for name, command in cli.commands.items():
        ctx = click.Context(command, info_name=name)
        for param in command.params:
            if not isinstance(param, click.Option) or param.name == "help":
                continue
            record = param.get_help_record(ctx)
            text = record[1] if record else ""
            if "env var: KESTRA_SYNC_" not in text and "[env KESTRA_" not in text:
                missing.append(f"{name} {param.opts[0]}")
    assert not missing, missing


@pytest.mark.parametrize("value", ["1", "true"])
def test_an_option_from_the_environment(tmp_path, emulator, value):
    seed(emulator, flow("ui-made"))
    project = Project(tmp_path, emulator)
    project.write(flow("a"))
    done = project.plan(env={"KESTRA_SYNC_DELETE": value, "KESTRA_SYNC_PLAN_FORMAT": "json"})
    assert done.returncode == 0, done.stderr
    assert '"action": "delete"' in done.stdout
