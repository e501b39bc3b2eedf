"""Environments: the config's `environments:` (settings/environments.py) and the namespace
mapping applied to what was scanned (source/environments.py)."""

from __future__ import annotations

import pytest

from kestra_sync.errors import ConfigError
from kestra_sync.settings.config import load_settings
from kestra_sync.settings.environments import map_namespace
from kestra_sync.source.environments import map_source

CONFIG = """url: http://top.example
environments:
  staging:
    url: http://staging.example
    token_env: STAGING_TOKEN
    namespace_map: {company: staging.company}
  prod:
    url: http://prod.example
    tenant: prod
    delete: true
"""


def settings(tmp_path, text=CONFIG, flags=None, env=None):
    (tmp_path / "kestra-sync.yml").write_text(text)
    return load_settings(flags or {}, env=env or {}, cwd=tmp_path)


def test_an_environment_wins_over_the_top_level_and_the_generic_variables_but_not_flags(tmp_path):
    env = {"KESTRA_URL": "http://other.example", "KESTRA_API_TOKEN": "other", "STAGING_TOKEN": "s"}
    chosen = settings(tmp_path, flags={"env": "staging"}, env=env)
    assert (chosen.url, chosen.token, chosen.environment) == (
        "http://staging.example",
        "s",
        "staging",
    )
    assert chosen.origin["token"] == "env STAGING_TOKEN (environment staging in kestra-sync.yml)"
    flagged = settings(tmp_path, flags={"env": "prod", "url": "http://flag.example"}, env=env)
    assert (flagged.url, flagged.tenant, flagged.delete) == ("http://flag.example", "prod", True)
    # prod names no credential variable: the generic one is used
    assert flagged.token == "other"


def test_the_selected_environment_comes_from_the_flag_the_variable_or_default_env(tmp_path):
    assert settings(tmp_path, env={"KESTRA_SYNC_ENV": "prod"}).environment == "prod"
    assert settings(tmp_path, CONFIG + "default_env: prod\n").environment == "prod"
    none = settings(tmp_path)
    assert none.environment is None and "none is selected" in none.environment_problem
    only = settings(tmp_path, "environments:\n  prod: {url: http://prod.example}\n")
    assert only.environment == "prod"
    with pytest.raises(ConfigError, match="default_env 'qa' is not one of the environments"):
        settings(tmp_path, CONFIG + "default_env: qa\n")
    with pytest.raises(ConfigError, match="names no `environments:`"):
        settings(tmp_path, "url: http://x.example\n", flags={"env": "prod"})


def test_a_credential_in_an_environment_is_refused_and_a_typo_is_named(tmp_path):
    with pytest.raises(ConfigError, match="environments.prod: 'token' must not be stored"):
        settings(tmp_path, "environments:\n  prod: {token: abc}\n")
    with pytest.raises(ConfigError, match="unknown setting 'urll'; did you mean 'url'"):
        settings(tmp_path, "environments:\n  prod: {urll: http://x}\n")
    with pytest.raises(ConfigError, match="token_env must be the name of an environment variable"):
        settings(tmp_path, "environments:\n  prod: {token_env: 'not a name'}\n")


def test_managed_namespaces_are_the_server_s_names(tmp_path):
    chosen = settings(tmp_path, CONFIG + "namespaces: [company.team, other]\n", {"env": "staging"})
    assert chosen.managed_namespaces() == {"main": ["staging.company.team", "other"]}


def test_map_namespace_takes_the_longest_prefix_and_whole_segments_only():
    mapping = {"company": "staging.company", "company.hr": "hr-staging"}
    assert map_namespace("company", mapping) == "staging.company"
    assert map_namespace("company.team.etl", mapping) == "staging.company.team.etl"
    assert map_namespace("company.hr.pay", mapping) == "hr-staging.pay"
    assert map_namespace("companyx", mapping) == "companyx"


def test_map_source_rewrites_only_namespace_values_in_place():
    source = (
        'id: a  # namespace: company\nnamespace: "company.team"\n'
        "description: |\n  namespace: company.team\n"
        "tasks:\n  - id: s\n    type: io.kestra.plugin.core.flow.Subflow\n"
        "    namespace: company.team\n    flowId: b\n"
        "  - id: t\n    type: io.kestra.plugin.core.flow.Subflow\n"
        '    namespace: "{{ flow.namespace }}"\n    flowId: c\n'
    )
    mapped, problem = map_source(source, {"company": "staging.company"})
    assert problem is None
    assert mapped == source.replace(
        'namespace: "company.team"', 'namespace: "staging.company.team"'
    ).replace("    namespace: company.team\n", "    namespace: staging.company.team\n")
    escaped, problem = map_source('id: a\nnamespace: "company\\x2eteam"\n', {"company": "x"})
    assert problem is not None and "cannot rewrite in place" in problem


def test_a_misspelt_environments_key_is_named(tmp_path):
    with pytest.raises(
        ConfigError, match="unknown setting 'enviroments'; did you mean 'environments'"
    ):
        settings(tmp_path, "enviroments:\n  prod: {url: http://x.example}\n")


def test_map_source_leaves_a_namespace_that_is_not_kestras():
    # A Kubernetes pod's namespace is the cluster's; a Flow trigger's condition names Kestra's.
    source = (
        "id: a\nnamespace: company.team\n"
        "tasks:\n  - id: pod\n    type: io.kestra.plugin.kubernetes.PodCreate\n"
        "    namespace: company\n"
        "triggers:\n  - id: on\n    type: io.kestra.plugin.core.trigger.Flow\n"
        "    conditions:\n"
        "      - type: io.kestra.plugin.core.condition.ExecutionNamespace\n"
        "        namespace: company\n"
    )
    mapped, problem = map_source(source, {"company": "staging.company"})
    assert problem is None
    assert mapped == source.replace(
        "namespace: company.team\n", "namespace: staging.company.team\n", 1
    ).replace("        namespace: company\n", "        namespace: staging.company\n")
    assert "    namespace: company\n" in mapped  # the pod's, as written
