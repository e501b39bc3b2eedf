"""Transport settings (issue 9, items 9-11): TLS verification and the reply size limit from
config, flag and environment, and what is refused with one line: a password in the config
file's URL, a CA bundle that does not exist, a timeout of 0 or less."""

from pathlib import Path

import pytest

from kestra_sync.errors import ConfigError
from kestra_sync.settings.config import load_settings


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def ca(tmp_path) -> Path:
    return write(tmp_path / "ca.pem", "-")


@pytest.mark.parametrize(
    "name, text",
    [
        ("kestra-sync.yml", "url: https://admin:Pa55word@kestra.example.com\n"),
        (
            "pyproject.toml",
            '[tool.kestra-sync]\nurl = "https://admin:Pa55word@kestra.example.com"\n',
        ),
    ],
)
def test_a_password_in_the_config_files_url_is_refused_and_not_printed(tmp_path, name, text):
    write(tmp_path / name, text)
    with pytest.raises(ConfigError) as e:
        load_settings({}, env={}, cwd=tmp_path)
    assert "'url' holds credentials (https://***@kestra.example.com)" in str(e.value)
    assert "Pa55word" not in str(e.value) + e.value.hint
    assert "KESTRA_PASSWORD" in e.value.hint


def test_a_token_as_the_urls_user_name_is_refused_too(tmp_path):
    write(tmp_path / "kestra-sync.yml", "url: https://tok_abc123@kestra.example.com\n")
    with pytest.raises(ConfigError) as e:
        load_settings({}, env={}, cwd=tmp_path)
    assert "tok_abc123" not in str(e.value) + e.value.hint


def test_a_password_in_kestra_url_is_still_accepted(tmp_path):
    s = load_settings({}, env={"KESTRA_URL": "https://u:p@kestra.example.com"}, cwd=tmp_path)
    assert s.url == "https://u:p@kestra.example.com"  # moved into basic auth by the client


def test_verify_by_config_env_and_flag_in_that_order(tmp_path, ca):
    write(tmp_path / "kestra-sync.yml", "verify: ca.pem\n")
    s = load_settings({}, env={}, cwd=tmp_path)
    assert (
        s.verify == str(tmp_path / "ca.pem") and s.origin["verify"] == "config file kestra-sync.yml"
    )
    s = load_settings({}, env={"KESTRA_VERIFY": "false"}, cwd=tmp_path)
    assert s.verify is False and s.origin["verify"] == "env KESTRA_VERIFY"
    s = load_settings({"verify": False}, env={"KESTRA_CA_BUNDLE": str(ca)}, cwd=tmp_path)
    assert s.verify is False and s.origin["verify"] == "flag"


def test_nothing_configured_leaves_verify_to_requests(tmp_path):
    assert load_settings({}, env={}, cwd=tmp_path).verify is None


def test_a_relative_ca_path_in_the_config_file_is_relative_to_the_file(tmp_path):
    (tmp_path / "conf" / "certs").mkdir(parents=True)
    write(tmp_path / "conf" / "certs" / "ca.pem", "-")
    write(tmp_path / "conf" / "kestra-sync.yml", "verify: certs/ca.pem\n")
    s = load_settings({}, env={}, config_file=tmp_path / "conf" / "kestra-sync.yml", cwd=tmp_path)
    assert Path(s.verify) == tmp_path / "conf" / "certs" / "ca.pem"


def test_kestra_ca_bundle_and_kestra_verify_must_agree(tmp_path, ca):
    env = {"KESTRA_CA_BUNDLE": str(ca), "KESTRA_VERIFY": "false"}
    with pytest.raises(ConfigError, match="KESTRA_VERIFY and KESTRA_CA_BUNDLE disagree"):
        load_settings({}, env=env, cwd=tmp_path)


def test_a_missing_ca_bundle_names_the_path_and_where_it_was_set(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_settings({}, env={"KESTRA_CA_BUNDLE": "/no/such/ca.pem"}, cwd=tmp_path)
    assert str(e.value) == (
        "the CA bundle /no/such/ca.pem does not exist (verify, from env KESTRA_CA_BUNDLE)"
    )


@pytest.mark.parametrize("value", ["0", "-3", "nan", "soon"])
def test_a_timeout_that_is_not_above_zero_is_refused(tmp_path, value):
    write(tmp_path / "kestra-sync.yml", f"timeout: {value}\n")
    with pytest.raises(ConfigError, match="'timeout'"):
        load_settings({}, env={}, cwd=tmp_path)


def test_the_reply_limit_by_config_env_and_flag(tmp_path):
    assert load_settings({}, env={}, cwd=tmp_path).max_reply_mb == 64
    write(tmp_path / "kestra-sync.yml", "max_reply_mb: 128\n")
    assert load_settings({}, env={}, cwd=tmp_path).max_reply_mb == 128
    env = {"KESTRA_MAX_REPLY_MB": "256"}
    assert load_settings({}, env=env, cwd=tmp_path).max_reply_mb == 256
    assert load_settings({"max_reply_mb": 8}, env=env, cwd=tmp_path).max_reply_mb == 8
    with pytest.raises(ConfigError, match="'max_reply_mb' must be a number of MiB above 0"):
        load_settings({}, env={"KESTRA_MAX_REPLY_MB": "0"}, cwd=tmp_path)
