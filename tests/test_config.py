"""Settings precedence: flags > KESTRA_* env > config file > defaults; secrets never in files."""

from pathlib import Path

import pytest

from kestra_sync.errors import ConfigError
from kestra_sync.settings.config import load_settings


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_source(tmp_path):
    s = load_settings({}, env={}, cwd=tmp_path)
    assert s.url is None
    assert s.tenant == "main"
    assert s.directory == Path("flows")
    assert s.delete is False
    assert s.config_file is None


def test_flag_beats_env_beats_file(tmp_path):
    write(tmp_path / "kestra-sync.yml", "url: http://file:8080\ntenant: fromfile\n")
    env = {"KESTRA_URL": "http://env:8080/", "KESTRA_TENANT": "fromenv"}
    s = load_settings({"tenant": "fromflag"}, env=env, cwd=tmp_path)
    assert s.url == "http://env:8080"  # trailing slash dropped so paths join cleanly
    assert s.tenant == "fromflag"
    assert s.origin["url"] == "env KESTRA_URL"
    assert s.origin["tenant"] == "flag"


def test_pyproject_table_is_read(tmp_path):
    write(
        tmp_path / "pyproject.toml", '[tool.kestra-sync]\ndirectory = "deploy"\nmax-deletes = 3\n'
    )
    s = load_settings({}, env={}, cwd=tmp_path)
    assert s.directory == Path("deploy")
    assert s.max_deletes == 3


def test_config_directory_is_relative_to_the_config_file(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    cfg = write(repo / "kestra-sync.yml", "directory: flows\n")
    s = load_settings({}, env={}, config_file=cfg, cwd=tmp_path)
    assert s.directory == Path("repo/flows")


@pytest.mark.parametrize("key", ["password", "token"])
def test_secret_in_config_file_is_refused_with_a_hint(tmp_path, key):
    write(tmp_path / "kestra-sync.yml", f"{key}: hunter2Hunter2\n")
    with pytest.raises(ConfigError) as info:
        load_settings({}, env={}, cwd=tmp_path)
    assert "hunter2" not in str(info.value)
    assert "KESTRA_" in info.value.hint


def test_unknown_setting_names_the_file_and_the_known_ones(tmp_path):
    write(tmp_path / "kestra-sync.yml", "dirctory: flows\n")
    with pytest.raises(ConfigError) as info:
        load_settings({}, env={}, cwd=tmp_path)
    assert "kestra-sync.yml" in str(info.value) and "dirctory" in str(info.value)
    assert "directory" in info.value.hint


def test_bad_yaml_names_the_line(tmp_path):
    write(tmp_path / "kestra-sync.yml", "url: http://x\ntenant: [unclosed\n")
    with pytest.raises(ConfigError, match=r"kestra-sync.yml:\d+: invalid YAML"):
        load_settings({}, env={}, cwd=tmp_path)


def test_bad_layout_lists_the_choices(tmp_path):
    write(tmp_path / "kestra-sync.yml", "layout: flat\n")
    with pytest.raises(ConfigError, match="nested"):
        load_settings({}, env={}, cwd=tmp_path)


def test_env_booleans_and_numbers_are_parsed(tmp_path):
    s = load_settings({"delete": "yes", "max_deletes": "0"}, env={}, cwd=tmp_path)
    assert s.delete is True and s.max_deletes == 0
    with pytest.raises(ConfigError):
        load_settings({"max_deletes": "many"}, env={}, cwd=tmp_path)


def test_secrets_are_not_in_repr(tmp_path):
    env = {"KESTRA_PASSWORD": "S3cretPass1", "KESTRA_API_TOKEN": "tok-123"}
    s = load_settings({}, env=env, cwd=tmp_path)
    assert s.password == "S3cretPass1"
    assert "S3cretPass1" not in repr(s) and "tok-123" not in repr(s)


def test_tenants_take_a_directory_or_their_own_scope(tmp_path):
    write(
        tmp_path / "kestra-sync.yml",
        "namespaces: [shared]\nallow_empty_namespace: true\ntenants:\n"
        "  prod: {directory: flows/prod, namespaces: [company.team], allow-empty-namespace: no}\n"
        "  dev: flows/dev\n",
    )
    s = load_settings({}, env={}, cwd=tmp_path)
    assert s.directories() == {"prod": Path("flows/prod"), "dev": Path("flows/dev")}
    assert s.managed_namespaces() == {"prod": ["company.team"], "dev": ["shared"]}
    assert s.empty_namespace_tenants() == {"dev"}
    flagged = load_settings({"namespaces": ("x",)}, env={}, cwd=tmp_path)
    assert flagged.managed_namespaces() == {"prod": ["x"], "dev": ["x"]}  # a flag wins


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("{namespaces: [a]}", "tenants.prod must be a directory or a mapping with 'directory'"),
        ("{directory: d, delete: true}", "unknown setting tenants.prod.delete"),
        ("{directory: d, namespaces: 3}", "invalid value 3 for 'namespaces'"),
    ],
)
def test_a_bad_tenant_entry_is_one_clear_error(tmp_path, entry, says):
    write(tmp_path / "kestra-sync.yml", f"tenants:\n  prod: {entry}\n")
    with pytest.raises(ConfigError, match=says):
        load_settings({}, env={}, cwd=tmp_path)


# Config discovery (issue 11 item 4): upward from the current directory, as git and ruff do.


def test_config_is_found_in_a_parent_directory(tmp_path):
    write(tmp_path / "kestra-sync.yml", "directory: flows\nmax_deletes: 2\n")
    (tmp_path / "flows/company").mkdir(parents=True)
    s = load_settings({}, env={}, cwd=tmp_path / "flows/company")
    assert s.max_deletes == 2
    # relative to the config file, shown from where the user is
    assert s.directory.resolve() == (tmp_path / "flows").resolve()


def test_discovery_stops_at_the_top_of_the_git_repository(tmp_path):
    write(tmp_path / "kestra-sync.yml", "max_deletes: 2\n")  # above the repository: not its own
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    s = load_settings({}, env={}, cwd=repo / "sub")
    assert s.config_file is None and s.max_deletes == 10


def test_nearest_config_wins_over_one_further_up(tmp_path):
    write(tmp_path / "kestra-sync.yml", "max_deletes: 2\n")
    (tmp_path / "kestra").mkdir()
    write(tmp_path / "kestra/kestra-sync.yml", "max_deletes: 7\n")
    assert load_settings({}, env={}, cwd=tmp_path / "kestra").max_deletes == 7


def test_config_file_from_the_environment(tmp_path):
    cfg = write(tmp_path / "other.yml", "max_deletes: 4\n")
    s = load_settings({}, env={"KESTRA_SYNC_CONFIG": str(cfg)}, cwd=tmp_path)
    assert s.max_deletes == 4
    with pytest.raises(ConfigError, match="missing.yml: config file not found"):
        load_settings({}, env={"KESTRA_SYNC_CONFIG": "missing.yml"}, cwd=tmp_path)
