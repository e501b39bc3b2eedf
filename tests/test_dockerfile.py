"""The Dockerfile, checked as text (no Docker engine here, so the image is not built by the
tests): pinned base, multi-stage, non-root user, the CLI as entrypoint, no caches or package
lists left behind, and a .dockerignore that keeps the context to what the build needs."""

from __future__ import annotations

import re
from pathlib import Path

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
    assert froms[0].endswith("AS builder")


def test_final_stage_copies_only_the_virtualenv_from_the_builder():
    names = [i for i, _ in instructions()]
    final = instructions()[names.index("FROM", names.index("FROM") + 1) :]
    copies = [a for i, a in final if i == "COPY"]
    assert copies == ["--from=builder /opt/kestra-sync /opt/kestra-sync"]


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
    assert "install --yes --no-install-recommends git" in runs
    assert "safe.directory '*'" in runs


def test_dockerignore_keeps_only_the_build_inputs():
    lines = [
        ln.strip()
        for ln in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert lines[0] == "**"
    allowed = {ln[1:].rstrip("/") for ln in lines if ln.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "kestra_sync"}
    copied = set()
    for i, a in instructions():
        if i == "COPY" and not a.startswith("--from"):
            copied |= {p.rstrip("/") for p in a.split()[:-1]}
    assert copied <= allowed
