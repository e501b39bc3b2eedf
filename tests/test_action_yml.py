"""action.yml and the example workflows, checked as data: inputs and outputs match what the entry
point reads and writes, no expression is interpolated into a shell script, third-party actions
are pinned by commit, and the examples carry the permissions and secrets they need."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from kestra_sync.action import run as ghaction

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
EXAMPLES = sorted((ROOT / "examples").glob("*.yml"))
WORKFLOWS = [p for p in EXAMPLES if p.name != "gitlab-ci.yml"]
STEPS = ACTION["runs"]["steps"]
RUN_STEP = next(s for s in STEPS if s.get("id") == "run")
# The action's entry point and the modules it is split into.
ACTION_SOURCE = "\n".join(
    p.read_text(encoding="utf-8") for p in sorted((ROOT / "kestra_sync" / "action").glob("*.py"))
)
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def test_composite_action_with_bash_in_every_run_step():
    assert ACTION["runs"]["using"] == "composite"
    for step in STEPS:
        if "run" in step:
            assert step.get("shell") == "bash", step.get("name")


def test_every_input_the_entry_point_reads_is_declared_and_vice_versa():
    declared = set(ACTION["inputs"])
    assert declared == set(ghaction.INPUTS) | set(ghaction.SETUP_INPUTS)
    # ... and the entry point reads inputs only through Inputs.get/flag with declared names
    read = set(
        re.findall(r"(?:inputs|self)\.(?:get|flag|optional_flag)\(\s*\"([a-z-]+)\"", ACTION_SOURCE)
    )
    read |= {name for name, _ in ghaction.CONNECTION_ENV} | set(ghaction.SECRET_INPUTS)
    assert read == set(ghaction.INPUTS)


def test_connection_inputs_map_to_the_variables_the_cli_reads():
    from kestra_sync.settings.config import ENV

    assert {var for _, var in ghaction.CONNECTION_ENV} == set(ENV.values())


def test_each_entry_point_input_reaches_it_through_env_only():
    env = RUN_STEP["env"]
    for name in ghaction.INPUTS:
        assert env[ghaction.input_env_name(name)] == "${{ inputs." + name + " }}"
    unexpected = {k for k in env if k.startswith("INPUT_")} - {
        ghaction.input_env_name(n) for n in ghaction.INPUTS
    }
    assert not unexpected


@pytest.mark.parametrize("path", [ROOT / "action.yml", *WORKFLOWS], ids=lambda p: p.name)
def test_no_expression_is_interpolated_into_a_run_script(path):
    """`${{ inputs.x }}` (or any expression) inside `run:` is pasted into the script before
    bash sees it: script injection. Values go through `env:` instead."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    steps = data["runs"]["steps"] if "runs" in data else []
    for job in (data.get("jobs") or {}).values():
        steps += job.get("steps", [])
    for step in steps:
        assert "${{" not in step.get("run", ""), step


def test_outputs_are_exactly_what_the_entry_point_writes():
    source = ACTION_SOURCE
    written = set(re.findall(r"set_output\(\s*\"([a-z-]+)\"", source))
    written |= set(
        re.findall(r"\(\"([a-z-]+)\", \"(?:create|update|delete|unchanged|unmanaged)\"\)", source)
    )
    outputs = ACTION["outputs"]
    assert set(outputs) == written
    for name, spec in outputs.items():
        assert spec["value"] == "${{ steps.run.outputs." + name + " }}"


def test_the_issue_s_outputs_exist():
    for name in ("creates", "updates", "deletes", "unchanged", "has-changes", "plan-file"):
        assert name in ACTION["outputs"]
    for name in ("directory", "server", "tenant", "username", "password", "api-token"):
        assert name in ACTION["inputs"]
    for name in ("command", "delete", "max-deletes", "args", "comment", "github-token"):
        assert name in ACTION["inputs"]


def test_secret_inputs_have_no_default_except_the_job_token():
    for name in ghaction.SECRET_INPUTS:
        default = ACTION["inputs"][name].get("default", "")
        assert default in ("", "${{ github.token }}")


def test_delete_defaults_to_the_config_and_comment_is_opt_in():
    """Kestra's deploy-action documents delete=true while its action.yml says false; here the
    empty default means "whatever kestra-sync.yml says", whose own default is false."""
    assert ACTION["inputs"]["delete"]["default"] == ""
    assert ACTION["inputs"]["comment"]["default"] == "false"


@pytest.mark.parametrize("path", [ROOT / "action.yml", *WORKFLOWS], ids=lambda p: p.name)
def test_third_party_actions_are_pinned_by_commit(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    steps = data["runs"]["steps"] if "runs" in data else []
    for job in (data.get("jobs") or {}).values():
        steps += job.get("steps", [])
    for step in steps:
        uses = step.get("uses")
        if uses and not uses.startswith(("./", "kestra-sync/kestra-sync@")):
            assert SHA_PIN.match(uses), uses


def test_setup_python_leaves_the_job_s_path_alone():
    setup = next(s for s in STEPS if "setup-python" in s.get("uses", ""))
    assert setup["with"]["update-environment"] is False


def _on(data):
    return data.get("on", data.get(True))  # PyYAML reads a bare `on:` key as True


def _uses(data):
    return [s for job in data["jobs"].values() for s in job["steps"] if "uses" in s]


def test_examples_exist():
    names = {p.name for p in EXAMPLES}
    assert {"validate.yml", "plan-comment.yml", "apply.yml", "gitlab-ci.yml"} <= names


def test_validate_example_runs_on_pull_requests_without_secrets():
    text = (ROOT / "examples" / "validate.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert "pull_request" in _on(data)
    assert "secrets." not in text
    (step,) = [s for s in _uses(data) if s["uses"].startswith("kestra-sync/")]
    assert step["with"]["command"] == "validate"


def test_plan_comment_example_has_write_permission_and_skips_forks():
    text = (ROOT / "examples" / "plan-comment.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert "pull_request" in _on(data) and "pull_request_target" not in _on(data)
    assert data["permissions"]["pull-requests"] == "write"
    job = data["jobs"]["plan"]
    assert "head.repo.full_name == github.repository" in job["if"]
    (step,) = [s for s in _uses(data) if s["uses"].startswith("kestra-sync/")]
    assert step["with"]["command"] == "plan" and step["with"]["comment"] is True
    assert step["with"]["password"] == "${{ secrets.KESTRA_PASSWORD }}"
    assert step["with"]["api-token"] == "${{ secrets.KESTRA_API_TOKEN }}"


def test_apply_example_runs_on_main_one_at_a_time():
    data = yaml.safe_load((ROOT / "examples" / "apply.yml").read_text(encoding="utf-8"))
    assert _on(data)["push"]["branches"] == ["main"]
    assert data["concurrency"] == {"group": "kestra-apply", "cancel-in-progress": False}
    job = data["jobs"]["apply"]
    assert job["environment"] == "production"
    apply = next(s for s in _uses(data) if s.get("with", {}).get("command") == "apply")
    assert apply["with"]["server"] == "${{ secrets.KESTRA_URL }}"
    assert apply["with"]["username"] == "${{ secrets.KESTRA_USERNAME }}"


def test_gitlab_example_uses_the_image_with_a_shell_entrypoint():
    data = yaml.safe_load((ROOT / "examples" / "gitlab-ci.yml").read_text(encoding="utf-8"))
    assert data[".kestra-sync"]["image"]["entrypoint"] == [""]
    scripts = " ".join(
        " ".join(job.get("script", [])) for job in data.values() if isinstance(job, dict)
    )
    assert "kestra-sync validate" in scripts and "kestra-sync apply" in scripts
    assert "--password" not in scripts and "--token" not in scripts  # secrets via variables
    assert data["apply"]["resource_group"] == "kestra-apply"


# --- docs/ci.md and the version references --------------------------------------------------------

DOCS = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n#", start + len(heading))
    return text[start : end if end != -1 else len(text)]


def test_docs_document_every_input_and_output():
    inputs = _section(DOCS, "### Inputs")
    for name in ACTION["inputs"]:
        assert f"| `{name}` |" in inputs, f"input {name} is not in docs/ci.md"
    outputs = _section(DOCS, "### Outputs")
    for name in ACTION["outputs"]:
        assert f"`{name}`" in outputs, f"output {name} is not in docs/ci.md"


def test_docs_carry_no_note_meant_for_someone_else():
    comments = re.findall(r"<!--(.*?)-->", DOCS, re.S)
    assert comments == [" kestra-sync:plan:main "]  # only the marker the comment carries
    assert "for the lead" not in DOCS.lower()


def test_docs_document_the_lock_refresh():
    script = ROOT / "scripts" / "refresh-lock.sh"
    assert script.is_file() and script.stat().st_mode & 0o111
    assert "scripts/refresh-lock.sh" in DOCS and "scripts/refresh-lock.sh" in (
        ROOT / "requirements.lock"
    ).read_text(encoding="utf-8")


def test_release_tags_used_in_examples_match_the_version_and_are_flagged_as_unreleased():
    """`@v0` and `rev: v0.1.0` do not exist before the first release: every place that uses them
    says so (or points at the place that does), and the release steps create exactly them."""
    import kestra_sync

    version = kestra_sync.__version__
    major = "v" + version.split(".")[0]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    texts = {"README.md": readme, "docs/ci.md": DOCS}
    texts |= {f"examples/{p.name}": p.read_text(encoding="utf-8") for p in WORKFLOWS}
    for where, text in texts.items():
        flat = " ".join(text.split())
        for tag in re.findall(r"kestra-sync/kestra-sync@([\w.]+)", text):
            assert tag == major, f"{where}: @{tag}, the release steps tag {major}"
        for rev in re.findall(r"rev: (v[\w.]+)", text):
            assert rev == f"v{version}", f"{where}: rev {rev}, the version is {version}"
        if "kestra-sync/kestra-sync@" in text:
            assert (
                "does not exist until the first release" in flat
                or "do not exist until the first release" in flat
            ), f"{where} uses an unreleased tag without saying so"
            assert "commit SHA" in flat, f"{where} does not say what to pin meanwhile"
    releasing = _section(DOCS, "## Releasing")
    assert f'git tag -a v{version} -m "kestra-sync {version}"' in releasing
    assert f"git tag -f {major} v{version}" in releasing
