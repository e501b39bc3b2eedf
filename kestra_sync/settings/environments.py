"""Environments: one repository deployed to several servers (staging, prod).

In the config::

    default_env: staging            # what runs without --env; with several environments and
                                    # no default, a command that needs a server refuses to guess
    environments:
      staging:
        url: https://staging.kestra.example.com
        token_env: KESTRA_STAGING_TOKEN     # the NAME of the variable holding the API token
        kestra_version: "1.0"
        namespace_map: {company: staging.company}   # optional, for a shared server
      prod:
        url: https://kestra.example.com
        tenant: main
        username_env: KESTRA_PROD_USER
        password_env: KESTRA_PROD_PASSWORD
        delete: true

An environment is selected by ``--env NAME`` or ``KESTRA_SYNC_ENV``, else ``default_env``, else
the only one configured. What it sets wins over the config's top level and over the generic
KESTRA_* variables (a job that selects prod must not reach the server that KESTRA_URL names for
another one); flags still win over everything. Credentials are never in the file: only the
names of the variables that hold them.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from ..errors import ConfigError
from .values import coerce, has_userinfo

ENV_VAR = "KESTRA_SYNC_ENV"
# Settings an environment may set: where it deploys and how. The tree in git (directory,
# tenants, layout, namespace_files) is one for every environment.
SETTINGS = (
    "url",
    "tenant",
    "username",
    "kestra_version",
    "delete",
    "max_deletes",
    "allow_empty_namespace",
    "ownership_label",
    "include_children",
    "namespaces",
    "timeout",
    "parallelism",
    "max_reply_mb",
)
# Credentials: the environment names the variable; the value is read from it.
CREDENTIAL_VARS = {"username_env": "username", "password_env": "password", "token_env": "token"}
MAP_KEY = "namespace_map"
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENV_NAME = re.compile(r"[A-Za-z0-9_-]+")
_NAMESPACE = re.compile(r"[a-z0-9][a-z0-9._-]*")


def check_environments(raw: Any, default: Any, where: str) -> dict[str, dict[str, Any]]:
    """The `environments:` map as read from the config file, checked: name -> its entry."""
    if raw is None:
        if default is not None:
            raise ConfigError(f"{where}: 'default_env' is set but no `environments:` are")
        return {}
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(
            f"{where}: 'environments' must be a mapping of environment name to its settings",
            hint="e.g. environments: {staging: {url: https://staging.example.com}}",
        )
    environments = {}
    for name, entry in raw.items():
        name = str(name)
        if not _ENV_NAME.fullmatch(name):
            raise ConfigError(
                f"{where}: environment name {name!r} may hold only letters, digits, '_' and '-'"
            )
        environments[name] = _check_entry(name, entry, where)
    if default is not None and str(default) not in environments:
        raise ConfigError(
            f"{where}: default_env {default!r} is not one of the environments",
            hint="choose one of: " + ", ".join(sorted(environments)),
        )
    return environments


def _check_entry(name: str, entry: Any, where: str) -> dict[str, Any]:
    here = f"{where}: environments.{name}"
    if entry is None:
        return {}
    if not isinstance(entry, dict):
        raise ConfigError(f"{here} must be a mapping of settings")
    checked: dict[str, Any] = {}
    for key, value in entry.items():
        key = str(key).replace("-", "_")
        if key in ("password", "token"):
            raise ConfigError(
                f"{here}: '{key}' must not be stored in a config file that lives in git",
                hint=f"name the variable that holds it instead: {key}_env: KESTRA_"
                f"{name.upper().replace('-', '_')}_{key.upper()}",
            )
        if key in CREDENTIAL_VARS:
            if not isinstance(value, str) or not _VAR_NAME.fullmatch(value):
                raise ConfigError(
                    f"{here}: {key} must be the name of an environment variable, not {value!r}"
                )
            checked[key] = value
        elif key == MAP_KEY:
            checked[key] = _check_map(value, here)
        elif key in SETTINGS:
            if key == "url" and isinstance(value, str) and has_userinfo(value):
                raise ConfigError(
                    f"{here}: 'url' holds credentials; they must not be stored in a config "
                    "file that lives in git",
                    hint="keep the URL without them and name the variables that hold them "
                    "(username_env, password_env, token_env)",
                )
            checked[key] = coerce(key, value, here)
        else:
            close = difflib.get_close_matches(key, [*SETTINGS, *CREDENTIAL_VARS, MAP_KEY], n=1)
            raise ConfigError(
                f"{here}: unknown setting '{key}'"
                + (f"; did you mean '{close[0]}'?" if close else ""),
                hint="an environment takes: " + ", ".join([*SETTINGS, *CREDENTIAL_VARS, MAP_KEY]),
            )
    return checked


def _check_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise ConfigError(
            f"{where}: namespace_map must map a namespace to the one it becomes",
            hint="e.g. namespace_map: {company: staging.company}",
        )
    mapping = {}
    for source, target in value.items():
        for ns in (source, target):
            if not isinstance(ns, str) or not _NAMESPACE.fullmatch(ns):
                raise ConfigError(f"{where}: namespace_map: {ns!r} is not a Kestra namespace")
        if target.startswith(source + "."):
            # The mapped environment's namespaces would sit under the unmapped one's: a run of
            # the unmapped environment with include_children and --delete would take them for
            # flows that left git.
            raise ConfigError(
                f"{where}: namespace_map maps {source} into its own child {target}",
                hint=f"map to a namespace beside it, e.g. {{{source}: staging.{source}}}",
            )
        mapping[source] = target
    return mapping


def select(
    settings: Any, environments: dict[str, dict[str, Any]], default: Any, chosen: Any, env
) -> None:
    """Apply the selected environment's entry to ``settings`` (before flags are applied).
    ``chosen`` is --env (None when not given). With several environments, none chosen and no
    default, nothing is applied and ``settings.environment_problem`` says why: validate
    offline needs no server, and a command that does refuses (``require_environment``)."""
    origin = "flag"
    if chosen is None and env.get(ENV_VAR):
        chosen, origin = env[ENV_VAR], f"env {ENV_VAR}"
    if chosen is None and default is not None:
        chosen, origin = str(default), "default_env"
    settings.environment_names = sorted(environments)
    if not environments:
        if chosen is not None:
            raise ConfigError(
                f"environment {chosen!r} ({origin}) is selected, but "
                + (
                    f"{settings.config_file} names no `environments:`"
                    if settings.config_file
                    else "no config file was found"
                ),
                hint="add an `environments:` map to kestra-sync.yml (README, Environments)",
            )
        return
    if chosen is None and len(environments) == 1:
        chosen, origin = next(iter(environments)), "the only environment configured"
    if chosen is None:
        settings.environment_problem = (
            f"{settings.config_file} names several environments ("
            + ", ".join(sorted(environments))
            + ") and none is selected"
        )
        return
    if chosen not in environments:
        close = difflib.get_close_matches(str(chosen), list(environments), n=1)
        raise ConfigError(
            f"no environment {chosen!r} ({origin}) in {settings.config_file}"
            + (f"; did you mean {close[0]!r}?" if close else ""),
            hint="choose one of: " + ", ".join(sorted(environments)),
        )
    _apply(settings, chosen, environments[chosen], env)
    settings.other_environments_namespaces = _others_namespaces(chosen, environments)
    settings.environment = chosen
    settings.origin["environment"] = origin


def _others_namespaces(chosen: str, environments: dict[str, dict[str, Any]]) -> list[str]:
    """Where the other environments deploy on a server they may share with this one: the
    targets of their namespace_map, and the sources of this one's (which it never deploys to
    as they are); minus this environment's own targets."""
    own = environments[chosen].get(MAP_KEY, {})
    found = set(own)
    for name, entry in environments.items():
        if name != chosen:
            found |= set(entry.get(MAP_KEY, {}).values())
    return sorted(found - set(own.values()))


def _apply(settings: Any, name: str, entry: dict[str, Any], env) -> None:
    where = f"environment {name} in {settings.config_file.name}"
    for key, value in entry.items():
        if key in SETTINGS:
            setattr(settings, key, value)
            settings.origin[key] = where
    if MAP_KEY in entry:
        settings.namespace_map = dict(entry[MAP_KEY])
    if any(key in entry for key in CREDENTIAL_VARS):
        # The environment says where its credentials are: the generic KESTRA_USERNAME,
        # KESTRA_PASSWORD and KESTRA_API_TOKEN (another server's, maybe) are not used.
        for setting in CREDENTIAL_VARS.values():
            if settings.origin.get(setting, "").startswith("env "):
                setattr(settings, setting, None)
                settings.origin[setting] = "default"
    for key, setting in CREDENTIAL_VARS.items():
        var = entry.get(key)
        if var is None:
            continue
        if env.get(var):
            setattr(settings, setting, env[var])
            settings.origin[setting] = f"env {var} ({where})"
        else:
            settings.missing_credentials.append(var)
    if settings.url:
        settings.url = settings.url.rstrip("/")


def require_environment(settings: Any) -> None:
    """Before a server is used: refuse to guess the environment, and name a credential
    variable the environment reads but that is not set."""
    problem = getattr(settings, "environment_problem", None)
    if problem:
        raise ConfigError(
            problem,
            hint="choose one with --env NAME (or KESTRA_SYNC_ENV=NAME), or set `default_env:` "
            "in the config",
        )
    missing = list(getattr(settings, "missing_credentials", []))
    if missing:
        raise ConfigError(
            f"environment {settings.environment} reads its credentials from "
            + ", ".join(missing)
            + ", which "
            + ("is" if len(missing) == 1 else "are")
            + " not set",
            hint="set it in the environment (a CI secret); never in kestra-sync.yml",
        )


def map_namespace(namespace: str, mapping: dict[str, str]) -> str:
    """``namespace`` under the longest prefix of ``mapping`` that covers it (the namespace
    itself or a parent), rewritten: {company: staging.company} makes company.team
    staging.company.team. A namespace no prefix covers is unchanged."""
    best = None
    for source in mapping:
        if (namespace == source or namespace.startswith(source + ".")) and (
            best is None or len(source) > len(best)
        ):
            best = source
    if best is None:
        return namespace
    return mapping[best] + namespace[len(best) :]


def describe(settings: Any) -> dict[str, Any] | None:
    """What a plan records of its environment: the name and, when there is one, the mapping
    (so `apply plan.json` can refuse another environment, and a reviewer sees the rewrite)."""
    if getattr(settings, "environment", None) is None:
        return None
    return {"name": settings.environment, "namespace_map": dict(settings.namespace_map)}


def note(recorded: dict[str, Any] | None) -> str | None:
    """One line for a plan's reports, from what the plan records (``describe``): the
    environment, and that flow sources are rewritten when a mapping is configured."""
    if not isinstance(recorded, dict):
        return None
    # A saved plan is read back for `show` and the Action's comment: only names that the
    # config could hold are printed (nothing a terminal or Markdown would interpret).
    name = _safe(recorded.get("name"), _ENV_NAME)
    mapping = recorded.get("namespace_map")
    mapping = mapping if isinstance(mapping, dict) else {}
    if not mapping:
        return f"Environment {name}."
    pairs = ", ".join(
        f"{_safe(a, _NAMESPACE)} -> {_safe(b, _NAMESPACE)}" for a, b in sorted(mapping.items())
    )
    return (
        f"Environment {name}, with namespace_map {pairs}: namespaces, and the flow sources that "
        "name them, are rewritten from git's."
    )


def check_saved(recorded: dict[str, Any] | None, settings: Any) -> None:
    """`apply plan.json` runs in the environment the plan was made for, or not at all."""
    made_for = (recorded or {}).get("name")
    if made_for != settings.environment:
        raise ConfigError(
            "the saved plan was made for "
            + (f"environment {made_for}" if made_for else "no environment")
            + ", and this apply runs in "
            + (f"environment {settings.environment}" if settings.environment else "none"),
            hint=(f"apply it with --env {made_for}" if made_for else "apply it without --env")
            + ", or make a new plan for this environment",
        )


def _safe(value: Any, pattern: re.Pattern) -> str:
    return value if isinstance(value, str) and pattern.fullmatch(value) else "(not a valid name)"
