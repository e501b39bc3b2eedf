"""requirements.lock, the dependencies the GitHub Action and the Docker image install, and
requirements-test.lock, what .ci/run and the README's test command install: exact versions with
hashes, within pyproject.toml's ranges for every Python the project supports, the same runtime
versions in both, and installable as the Action installs it (its real install step, run with bash).

The install test downloads the locked wheels for this interpreter the first time (pip's cache
serves them afterwards); refresh the lock with scripts/refresh-lock.sh."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
TEST_LOCK = ROOT / "requirements-test.lock"
PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
PLATFORMS = ("linux", "darwin", "win32")


def locked(lock: Path = LOCK) -> list[tuple[Requirement, list[str]]]:
    """Each requirement of the lock with its hashes (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", lock.read_text(encoding="utf-8"))
    result = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        hashes = re.findall(r"--hash=(\S+)", line)
        result.append((Requirement(re.sub(r"\s*--hash=\S+", "", line)), hashes))
    return result


def environment(python: str, platform: str) -> dict[str, str]:
    return {
        "python_version": python,
        "python_full_version": python + ".0",
        "sys_platform": platform,
        "platform_system": {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}[platform],
        "os_name": "nt" if platform == "win32" else "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "platform_machine": "x86_64",
        "extra": "",
    }


def pins_for(env: dict[str, str], lock: Path = LOCK) -> dict[str, str]:
    pins = {}
    for req, _ in locked(lock):
        if req.marker is None or req.marker.evaluate(env):
            name = canonicalize_name(req.name)
            assert name not in pins, f"{req.name} is pinned twice for {env['python_version']}"
            pins[name] = next(iter(req.specifier)).version
    return pins


@pytest.mark.parametrize("lock", [LOCK, TEST_LOCK], ids=lambda p: p.name)
def test_every_lock_entry_is_an_exact_version_with_sha256_hashes(lock):
    entries = locked(lock)
    assert entries
    for req, hashes in entries:
        (spec,) = req.specifier
        assert spec.operator == "==" and "*" not in spec.version, req
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), req


@pytest.mark.parametrize(
    ("lock", "extras"), [(LOCK, ()), (TEST_LOCK, ("test",))], ids=["runtime", "test"]
)
def test_the_lock_pins_every_dependency_within_pyproject_ranges(lock, extras):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requires = [Requirement(r) for r in project["dependencies"]]
    requires += [
        Requirement(r) for extra in extras for r in project["optional-dependencies"][extra]
    ]
    for python in PYTHONS:
        for platform in PLATFORMS:
            env = environment(python, platform)
            pins = pins_for(env, lock)
            for req in requires:
                if req.marker is not None and not req.marker.evaluate(env):
                    continue
                name = canonicalize_name(req.name)
                assert name in pins, f"{req.name} is not locked for Python {python} {platform}"
                assert req.specifier.contains(pins[name], prereleases=True), (
                    f"lock has {req.name}=={pins[name]}, pyproject.toml wants {req.specifier}"
                )


def test_the_test_lock_pins_the_runtime_dependencies_at_the_runtime_locks_versions():
    # CI tests what the Action and the image run: the same version of every runtime package.
    for python in PYTHONS:
        for platform in PLATFORMS:
            env = environment(python, platform)
            runtime, test = pins_for(env), pins_for(env, TEST_LOCK)
            assert {name: test.get(name) for name in runtime} == runtime


def test_ci_and_the_readme_install_the_test_lock_with_its_hashes():
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements-test.lock" in ci
    assert "--no-deps -e ." in ci
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    test_command = readme.split("# 2. Tests", 1)[1].splitlines()[1]
    assert "-r requirements-test.lock" in test_command and "--no-deps -e ." in test_command


def test_the_action_install_step_installs_the_lock_with_require_hashes(tmp_path):
    """Run action.yml's own install step: a virtualenv, the lock with --require-hashes (pip
    refuses any file whose hash is not in the lock, and any dependency the lock lacks), and the
    action's checkout on the path. Then the CLI runs from that virtualenv, and so does the
    action's own run step (validate, offline), as GitHub would run them one after the other."""
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "install")
    assert "--require-hashes" in step["run"] and "requirements.lock" in step["run"]
    output = tmp_path / "github_output"
    output.write_text("")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))},
        "BASE_PYTHON": sys.executable,
        "ACTION_PATH": str(ROOT),
        "VENV": str(tmp_path / "venv"),
        "GITHUB_OUTPUT": str(output),
    }
    done = subprocess.run(
        ["bash", "-c", step["run"]], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    python = output.read_text().strip().removeprefix("python=")
    version = subprocess.run(
        [python, "-m", "kestra_sync", "--version"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert version.returncode == 0, version.stderr
    import kestra_sync

    assert kestra_sync.__version__ in version.stdout
    # exactly the locked versions for this interpreter, nothing else but pip itself
    frozen = subprocess.run(
        [python, "-m", "pip", "freeze", "--all"], capture_output=True, text=True, env=env
    ).stdout
    installed = {
        canonicalize_name(n): v for n, v in re.findall(r"^([\w.-]+)==(\S+)$", frozen, re.M)
    }
    installed.pop("pip", None)
    installed.pop("setuptools", None)  # older venv versions bring it along
    installed.pop("kestra-sync", None)  # this checkout's own egg-info, from `pip install -e`
    major, minor = sys.version_info[:2]
    assert installed == pins_for(environment(f"{major}.{minor}", sys.platform))

    # the run step, with its env: built from action.yml (inputs at their defaults but command)
    run_step = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    values = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    values.update({"command": "validate", "github-token": "ghs_fake"})
    step_env = {
        key: values[value[len("${{ inputs.") : -len(" }}")]]
        for key, value in run_step["env"].items()
        if value.startswith("${{ inputs.")
    }
    repo = tmp_path / "repo"
    (repo / "flows").mkdir(parents=True)
    (repo / "flows" / "hello.yml").write_text(
        "id: hello\nnamespace: company.team\ntasks:\n"
        "  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )
    summary = tmp_path / "summary.md"
    summary.write_text("")
    ran = subprocess.run(
        ["bash", "-c", run_step["run"]],
        cwd=repo,
        env={
            **env,
            **step_env,
            "KESTRA_SYNC_PYTHON": python,
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_WORKSPACE": str(repo),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "All flows are valid" in summary.read_text()
    assert "errors=0" in output.read_text()
