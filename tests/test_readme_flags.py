"""Every flag the README shows exists (issue 11, README): a `kestra-sync CMD ... --flag` in a
code block or inline code must be in `kestra-sync CMD --help`, and every flag of the
configuration table must be in some command's help. (`--directory` on plan and `apply
--no-diff` were documented before they existed.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kestra_sync.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(cli.commands)
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def help_text(command: str | None) -> str:
    args = [command, "--help"] if command else ["--help"]
    result = CliRunner().invoke(cli, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def shown_usages() -> list[tuple[str, str]]:
    """(command, text) for each README line that runs `kestra-sync COMMAND`, with the usage
    block's continuation lines (indented, starting with `[`)."""
    found = []
    lines = README.splitlines()
    pattern = re.compile(r"kestra-sync (" + "|".join(COMMANDS) + r")\b(.*)")
    for i, line in enumerate(lines):
        for match in pattern.finditer(line):
            text = match.group(2).split("`")[0] if "`" in line else match.group(2)
            j = i + 1
            while j < len(lines) and re.match(r"^\s+\[", lines[j]):
                text += " " + lines[j]
                j += 1
            found.append((match.group(1), text))
    return found


USAGES = shown_usages()


def test_the_readme_shows_usages_of_every_command():
    assert {command for command, _ in USAGES} >= {"validate", "plan", "apply", "pull", "show"}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_flag_shown_for_a_command_is_in_its_help(command):
    helped = help_text(command)
    shown = {flag for cmd, text in USAGES if cmd == command for flag in FLAG.findall(text)}
    missing = sorted(flag for flag in shown if flag not in helped and flag != "--help")
    assert not missing, f"README shows {missing} for `kestra-sync {command}`, not in its --help"


def test_every_flag_of_the_configuration_table_exists():
    table = README.split("| setting | flag |", 1)[1].split("\n\n", 1)[0]
    every_help = help_text(None) + "".join(help_text(c) for c in COMMANDS)
    flags = {f for row in table.splitlines() for f in FLAG.findall(row.split("|")[2])}
    assert flags, "the configuration table lists flags"
    missing = sorted(f for f in flags if f not in every_help)
    assert not missing, f"the configuration table lists {missing}, which no command has"
