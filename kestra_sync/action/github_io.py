"""The GitHub Action's plumbing: its inputs (``INPUT_*`` variables), and what it writes for
GitHub (workflow commands in the log, ``$GITHUB_OUTPUT``, ``$GITHUB_STEP_SUMMARY``), with every
secret masked first and redacted from anything written."""

from __future__ import annotations

import os
import re
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..report import escape
from ..report.escape import command_data as escape_data
from ..report.escape import command_property as escape_property

# Inputs this entry point reads (see action.yml; a test checks the two lists match).
INPUTS = (
    "command",
    "directory",
    "env",
    "server",
    "tenant",
    "username",
    "password",
    "api-token",
    "delete",
    "max-deletes",
    "plan-file",
    "run-tests",
    "test-timeout",
    "fail-on-changes",
    "args",
    "summary",
    "comment",
    "comment-key",
    "github-token",
    "show-server",
    "drift-report",
    "drift-branch",
)
SERVER_PLACEHOLDER = "[server]"
# Inputs only action.yml itself uses (Python set-up, working directory).
SETUP_INPUTS = ("python-version", "working-directory")
SECRET_INPUTS = ("password", "api-token", "github-token")
# Connection inputs, handed to the CLI as the environment variables it reads (config.ENV).
CONNECTION_ENV = (
    ("server", "KESTRA_URL"),
    ("tenant", "KESTRA_TENANT"),
    ("username", "KESTRA_USERNAME"),
    ("password", "KESTRA_PASSWORD"),
    ("api-token", "KESTRA_API_TOKEN"),
)
MAX_ANNOTATIONS = 10  # per kind and step (GitHub keeps 10 errors + 10 warnings per step)

# A workflow command for an annotation, as printed by `validate --format github`.
_ANNOTATION = re.compile(r"^::(?P<kind>error|warning|notice)(?: (?P<props>[^:]*))?::(?P<msg>.*)$")


class InputProblem(Exception):
    """An action input that cannot be used."""


# --- workflow-command plumbing -------------------------------------------------------------------


def unescape(text: str) -> str:
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


@dataclass
class Annotation:
    kind: str  # error | warning | notice
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    title: str | None = None

    def command(self) -> str:
        props = []
        for key, value in (
            ("file", self.file),
            ("line", self.line),
            ("col", self.col),
            ("title", self.title),
        ):
            if value not in (None, ""):
                props.append(f"{key}={escape_property(str(value))}")
        head = f"::{self.kind}" + (" " + ",".join(props) if props else "")
        return f"{head}::{escape_data(self.message)}"


def parse_annotation(line: str) -> Annotation | None:
    match = _ANNOTATION.match(line.rstrip("\r\n"))
    if not match:
        return None
    props: dict[str, str] = {}
    for part in (match.group("props") or "").split(","):
        key, sep, value = part.partition("=")
        if sep:
            props[key.strip()] = unescape(value)

    def number(key: str) -> int | None:
        value = props.get(key, "")
        return int(value) if value.isdigit() else None

    return Annotation(
        match.group("kind"),
        unescape(match.group("msg")),
        file=props.get("file"),
        line=number("line"),
        col=number("col"),
        title=props.get("title"),
    )


class Runner:
    """Where the action writes: the log (stdout), outputs, summary; with secret redaction."""

    def __init__(self, env: dict[str, str], stdout: TextIO | None = None):
        self.env = env
        self.out = stdout or sys.stdout
        self.secrets: list[str] = []
        # Not secrets, but not for publishing either: the Kestra server's URL (and its host),
        # hidden from the summary and the pull-request comment unless `show-server: true`.
        self.private: list[str] = []
        self.outputs: dict[str, str] = {}
        self.errors_annotated = 0

    # log ---------------------------------------------------------------------------------------
    def echo(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def mask(self, value: str) -> None:
        """``::add-mask::`` each secret (and each of its lines) before anything else runs."""
        if not value:
            return
        for part in {value, *[p for p in value.splitlines() if p.strip()]}:
            # The runner's escapes only: the mask must be the secret itself, byte for byte.
            raw = part.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            self.echo(f"::add-mask::{raw}")
            if len(part) >= 3:
                # Also as the summary and comment write it once escaped (Markdown text, a
                # code span, a log line): redaction must find it there too.
                shown = escape.line(part)
                forms = {part, shown, escape.md_text(part), shown.replace("|", "\\|")}
                self.secrets += sorted(forms - set(self.secrets))
        self.secrets.sort(key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def hide(self, value: str) -> None:
        """Keep ``value`` (a server URL, its origin, its host) out of what is published."""
        if len(value) >= 4 and value not in self.private:
            self.private.append(value)
            self.private.sort(key=len, reverse=True)

    def publish(self, text: str) -> str:
        """Text for the job summary or a comment: secrets redacted, the server hidden. The log
        keeps the server (GitHub masks it there when it comes from a secret)."""
        text = self.redact(text)
        for value in self.private:
            text = text.replace(value, SERVER_PLACEHOLDER)
        return text

    def untrusted(self, text: str) -> None:
        """Echo text from files or servers with workflow commands switched off meanwhile."""
        if not text:
            return
        token = uuid.uuid4().hex
        self.echo(f"::stop-commands::{token}")
        self.out.write(self.redact(text) if text.endswith("\n") else self.redact(text) + "\n")
        self.echo(f"::{token}::")

    def annotate(self, annotations: list[Annotation], *, more_hint: str = "see the job summary"):
        """Emit at most MAX_ANNOTATIONS per kind, then one notice saying how many were left."""
        shown: dict[str, int] = {}
        left: dict[str, int] = {}
        for a in annotations:
            if shown.get(a.kind, 0) >= MAX_ANNOTATIONS:
                left[a.kind] = left.get(a.kind, 0) + 1
                continue
            shown[a.kind] = shown.get(a.kind, 0) + 1
            file = self.repo_path(a.file)
            a = Annotation(a.kind, self.redact(a.message), file, a.line, a.col, a.title)
            self.echo(a.command())
            self.errors_annotated += a.kind == "error"
        if left:
            counts = ", ".join(f"{n} more {kind}(s)" for kind, n in sorted(left.items()))
            self.echo(Annotation("notice", f"{counts} not annotated: {more_hint}").command())

    def repo_path(self, path: str | None) -> str | None:
        """GitHub attaches an annotation to a file by its path from the repository root; the
        CLI prints paths from the working directory (the `working-directory` input)."""
        if not path:
            return path
        workspace = self.env.get("GITHUB_WORKSPACE")
        full = os.path.abspath(path)
        if workspace:
            try:
                relative = os.path.relpath(full, os.path.abspath(workspace))
            except ValueError:  # another drive on Windows
                relative = path
            if not relative.startswith(".."):
                path = relative
        return path.replace("\\", "/")

    # files -------------------------------------------------------------------------------------
    def set_output(self, name: str, value: Any) -> None:
        if isinstance(value, bool):
            value = "true" if value else "false"
        value = self.redact(str(value))
        self.outputs[name] = value
        path = self.env.get("GITHUB_OUTPUT")
        if not path:
            return
        with open(path, "a", encoding="utf-8") as f:
            if "\n" in value or "\r" in value:
                delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
                f.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
            else:
                f.write(f"{name}={value}\n")

    def summary(self, markdown: str) -> None:
        path = self.env.get("GITHUB_STEP_SUMMARY")
        if not path:
            return
        with open(path, "a", encoding="utf-8") as f:
            f.write(self.publish(markdown).rstrip("\n") + "\n\n")


# --- inputs --------------------------------------------------------------------------------------


def input_env_name(name: str) -> str:
    return "INPUT_" + name.upper().replace("-", "_")


@dataclass
class Inputs:
    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Inputs:
        return cls({name: env.get(input_env_name(name), "").strip() for name in INPUTS})

    def get(self, name: str, default: str = "") -> str:
        if name not in INPUTS:  # a typo here would silently read nothing
            raise KeyError(f"undeclared action input {name!r}")
        return self.values.get(name) or default

    def flag(self, name: str, default: bool = False) -> bool:
        """YAML 1.2 core booleans, as GitHub's getBooleanInput."""
        value = self.get(name)
        if not value:
            return default
        if value in ("true", "True", "TRUE"):
            return True
        if value in ("false", "False", "FALSE"):
            return False
        raise InputProblem(f"input `{name}` must be true or false, not {value!r}")

    def optional_flag(self, name: str) -> bool | None:
        return self.flag(name) if self.get(name) else None

    def comment_mode(self) -> str:
        """`comment`: "off" (false), "always" (true) or "on-changes"."""
        if self.get("comment") == "on-changes":
            return "on-changes"
        try:
            return "always" if self.flag("comment") else "off"
        except InputProblem:
            value = self.get("comment")
            raise InputProblem(
                f"input `comment` must be true, false or on-changes, not {value!r}"
            ) from None


@dataclass
class Context:
    env: dict[str, str]
    inputs: Inputs
    runner: Runner
    # Set by the command: why the step fails (shown first in the summary and as an error
    # annotation), the report for the summary and comment, and whether the plan changes anything.
    failure: str = ""
    failure_detail: str = ""  # the CLI's own words, shown verbatim under the failure
    tests_ran: bool = False  # apply --run-tests ran: its results go to a PR comment too
    markdown: str = ""
    changed: bool = False

    @property
    def tenant(self) -> str:
        return self.inputs.get("tenant") or self.env.get("KESTRA_TENANT") or "main"

    @property
    def environment(self) -> str:
        """The `env` input (or KESTRA_SYNC_ENV); empty when none is named."""
        return self.inputs.get("env") or self.env.get("KESTRA_SYNC_ENV") or ""

    def run_link(self) -> str:
        server, repo, run_id = (
            self.env.get("GITHUB_SERVER_URL", "https://github.com"),
            self.env.get("GITHUB_REPOSITORY"),
            self.env.get("GITHUB_RUN_ID"),
        )
        return f"{server}/{repo}/actions/runs/{run_id}" if repo and run_id else ""
