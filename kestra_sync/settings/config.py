"""Settings: flags > environment (KESTRA_*) > kestra-sync.yml / [tool.kestra-sync] > defaults.

Secrets (password, API token) come only from flags or the environment: a config file lives in
git, so one that holds a secret is refused with a message saying where to put it instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigError
from ..models import DEFAULT_PARALLELISM, DEFAULT_TENANT

CONFIG_FILES = ("kestra-sync.yml", "kestra-sync.yaml")
LAYOUTS = ("none", "nested", "dotted")
SECRET_KEYS = ("password", "token")
CONFIG_ENV = "KESTRA_SYNC_CONFIG"
# Set by the selected environment (settings/environments.py), not by a top-level key.
ENVIRONMENT_FIELDS = {
    "environment",
    "environment_names",
    "namespace_map",
    "environment_problem",
    "missing_credentials",
    "other_environments_namespaces",
}
# What a bad value is told it should be (values are checked where they are read).
EXPECTED = {
    "include_children": "true or false",
    "delete": "true or false",
    "allow_empty_namespace": "true or false",
    "max_deletes": "a whole number, 0 or more",
    "parallelism": "a whole number, 1 or more",
    "timeout": "a number of seconds",
    "namespaces": "a list of namespaces (or one string, comma-separated)",
    "tenants": "a mapping of tenant to flow directory, e.g. {prod: flows/prod}",
}

# Environment variables, named as Kestra's own tools name them (KESTRA_URL, KESTRA_API_TOKEN ...).
ENV = {
    "url": "KESTRA_URL",
    "tenant": "KESTRA_TENANT",
    "username": "KESTRA_USERNAME",
    "password": "KESTRA_PASSWORD",
    "token": "KESTRA_API_TOKEN",
}
# Transport settings (the GitHub Action's connection inputs map to ENV only).
TRANSPORT_ENV = {
    "verify": "KESTRA_VERIFY",  # true, false or a CA bundle path, like `verify:`
    "max_reply_mb": "KESTRA_MAX_REPLY_MB",
}
# A CA bundle path for `verify` (read after KESTRA_VERIFY; setting both differently is an error).
CA_BUNDLE_ENV = "KESTRA_CA_BUNDLE"
# Other settings read from the environment (not connection settings).
OPTION_ENV = {"kestra_version": "KESTRA_VERSION"}


@dataclass
class Settings:
    url: str | None = None
    tenant: str = DEFAULT_TENANT
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    directory: Path = Path("flows")
    # Namespaces kestra-sync owns even when git has no flow in them (so deletions can reach them).
    namespaces: list[str] = field(default_factory=list)
    include_children: bool = False
    delete: bool = False
    allow_empty_namespace: bool = False
    max_deletes: int = 10
    # Where a flow file must sit: "nested" = <dir>/<ns as folders>/<id>.yml,
    # "dotted" = <dir>/<ns>/<id>.yml, "none" = anywhere.
    layout: str = "none"
    # Several tenants in one repository: tenant -> directory. Empty means one tenant, `tenant`.
    tenants: dict[str, Path] = field(default_factory=dict)
    # Delete only server flows carrying this label (KEY or KEY=VALUE); validate requires it on
    # every flow in git. None: every flow in scope that git lacks is deletable. (ownership.py)
    ownership_label: str | None = None
    # Where apply records the commit it deployed (a KV pair, per tenant), so that the next plan
    # recognises what git renamed since (planning/renames.py). None: not recorded.
    state_namespace: str | None = None
    # Per-tenant scope from `tenants: {t: {directory, namespaces, allow_empty_namespace}}`:
    # tenant -> the keys given there; a key not given falls back to the global setting.
    tenant_scopes: dict[str, dict[str, Any]] = field(default_factory=dict)
    timeout: float = 30.0
    # None: not configured, so requests' default (which honours REQUESTS_CA_BUNDLE); True, False
    # or a CA bundle path: configured, and then it wins over those variables.
    verify: bool | str | None = None
    # The largest reply body, and what an export zip may expand to (MiB).
    max_reply_mb: float = 64.0
    parallelism: int = DEFAULT_PARALLELISM
    # Namespace files kept outside `<namespace folder>/_files`: namespace -> directory.
    namespace_files: dict[str, Path] = field(default_factory=dict)
    # The folder, at the top of each flow directory, that holds the tenant's dashboards.
    dashboards_dir: str = "_dashboards"
    # Largest namespace file validate accepts: Kestra's micronaut.server.multipart
    # .max-file-size default, 10GB (cli/src/main/resources/application.yml); servers may lower it.
    max_file_size: int = 10 * 1024**3
    # The Kestra version whose rules validate and plan follow ("1.3"); None = the server's when
    # one is known, else every supported version.
    kestra_version: str | None = None
    # Where each value came from ("default", "config file kestra-sync.yml", "env KESTRA_URL",
    # "flag"), for error messages and `--debug`.
    origin: dict[str, str] = field(default_factory=dict, repr=False)
    config_file: Path | None = None
    # The environment selected from `environments:` (settings/environments.py), None without;
    # its namespace mapping (git's namespace -> the server's); why none could be selected
    # (raised when a server is needed); credential variables it names that are not set.
    environment: str | None = None
    environment_names: list[str] = field(default_factory=list)
    namespace_map: dict[str, str] = field(default_factory=dict)
    environment_problem: str | None = None
    missing_credentials: list[str] = field(default_factory=list)
    # Namespace prefixes that belong to another environment on a shared server (the targets
    # of the others' namespace_map, and the sources of this one's): never named as leftovers.
    other_environments_namespaces: list[str] = field(default_factory=list)

    def directories(self) -> dict[str, Path]:
        """tenant -> flow directory to scan."""
        return dict(self.tenants) if self.tenants else {self.tenant: self.directory}

    def managed_namespaces(self) -> dict[str, list[str]]:
        """tenant -> namespaces managed even with no flow in git (per tenant when configured),
        as the server names them (an environment's namespace_map applied)."""
        from .environments import map_namespace

        return {
            t: [map_namespace(n, self.namespace_map) for n in self._per_tenant(t, "namespaces")]
            for t in self.directories()
        }

    def empty_namespace_tenants(self) -> set[str]:
        """The tenants in which a namespace with no flow left in git may be emptied."""
        return {t for t in self.directories() if self._per_tenant(t, "allow_empty_namespace")}

    def _per_tenant(self, tenant: str, name: str) -> Any:
        """A tenant's own value from `tenants:`, unless a flag set it for every tenant (flags
        win over the config file, as everywhere)."""
        if self.origin.get(name) == "flag":
            return getattr(self, name)
        return self.tenant_scopes.get(tenant, {}).get(name, getattr(self, name))


def _config_in(directory: Path) -> Path | None:
    for name in CONFIG_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    pyproject = directory / "pyproject.toml"
    try:
        if pyproject.is_file() and "[tool.kestra-sync]" in pyproject.read_text(encoding="utf-8"):
            return pyproject
    except (OSError, UnicodeDecodeError):
        pass
    return None


def find_config_file(start: Path) -> Path | None:
    """The config that applies at ``start`` (a directory, or a file named on the command line):
    the nearest kestra-sync.yml, kestra-sync.yaml or pyproject.toml with [tool.kestra-sync] in
    it or in a parent directory, as git and ruff look upward. The search stops at the top of
    the git repository holding ``start``: a config above one's repository is not its config."""
    start = Path(start).absolute()
    if start.is_file():
        start = start.parent
    for directory in (start, *start.parents):
        found = _config_in(directory)
        if found is not None:
            return found
        if (directory / ".git").exists():
            return None
    return None


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config file: {e.strerror}") from None
    if path.name == "pyproject.toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # Python 3.10
            import tomli as tomllib
        try:
            data = tomllib.loads(text).get("tool", {}).get("kestra-sync", {})
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: invalid TOML: {e}") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f":{mark.line + 1}" if mark else ""
            raise ConfigError(f"{path}{where}: invalid YAML in config file") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config file must be a mapping of settings")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def _coerce(name: str, value: Any, where: str) -> Any:
    """Turn a config-file or environment value into the type the setting has."""
    bad = ConfigError(
        f"{where}: invalid value {value!r} for '{name}'"
        + (f": expected {EXPECTED[name]}" if name in EXPECTED else "")
    )
    if name in ("directory",):
        return Path(str(value))
    if name in ("include_children", "delete", "allow_empty_namespace"):
        return _as_bool(value, bad)
    if name in ("max_deletes", "parallelism", "max_file_size"):
        return _as_count(name, value, bad)
    if name in ("timeout", "max_reply_mb"):
        return _as_amount(name, value, where, bad)
    special = _COERCERS.get(name)
    if special is not None:
        return special(value, where, bad)
    if name == "url" and value is not None:
        return _check_url(str(value), where)
    return None if value is None else str(value)


def _as_bool(value: Any, bad: ConfigError) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise bad


def _as_count(name: str, value: Any, bad: ConfigError) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise bad from None
    if number < (1 if name == "parallelism" else 0):
        raise bad
    return number


def _as_amount(name: str, value: Any, where: str, bad: ConfigError) -> float:
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise bad from None
    if not amount > 0 or amount == float("inf"):  # also NaN
        unit = "seconds" if name == "timeout" else "MiB"
        raise ConfigError(f"{where}: '{name}' must be a number of {unit} above 0, not {value!r}")
    return amount


def _namespace_files(value: Any, where: str, bad: ConfigError) -> dict[str, Path]:
    if not isinstance(value, dict) or not all(isinstance(n, str) for n in value):
        raise bad
    return {n: Path(str(d)) for n, d in value.items()}


def _namespaces(value: Any, where: str, bad: ConfigError) -> list[str]:
    if isinstance(value, str):
        return [n.strip() for n in value.split(",") if n.strip()]
    # A list from a config file, a tuple from a repeatable flag (click's multiple=True).
    if isinstance(value, (list, tuple)) and all(isinstance(n, str) for n in value):
        return list(value)
    raise bad


def _tenants(value: Any, where: str, bad: ConfigError) -> dict[str, Path]:
    if not isinstance(value, dict):
        raise bad
    return {str(t): Path(str(_tenant_entry(t, d, where)["directory"])) for t, d in value.items()}


def _dashboards_dir(value: Any, where: str, bad: ConfigError) -> str:
    """A folder name at the top of the flow directory, starting with `_`: no namespace folder
    can be named so (a Kestra namespace starts with a letter or a digit)."""
    text = str(value)
    if not text.startswith("_") or "/" in text or "\\" in text or text.strip() != text:
        raise ConfigError(
            f"{where}: dashboards_dir must be one folder name starting with '_' "
            f"(e.g. _dashboards), not {value!r}",
            hint="it names a folder at the top of the flow directory",
        )
    return text


def _layout(value: Any, where: str, bad: ConfigError) -> Any:
    if value not in LAYOUTS:
        raise ConfigError(f"{where}: layout must be one of {', '.join(LAYOUTS)}, not {value!r}")
    return value


def _ownership_label(value: Any, where: str, bad: ConfigError) -> str:
    from ..planning.ownership import parse_label

    try:
        parse_label(str(value))
    except ConfigError as err:
        raise ConfigError(f"{where}: {err.message}", hint=err.hint) from None
    return str(value).strip()


def _state_namespace(value: Any, where: str, bad: ConfigError) -> str | None:
    import re

    if value is None or value == "":
        return None
    # AbstractFlow.namespace's pattern (rules/knowledge.py NAMESPACE_PATTERN).
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", value):
        raise ConfigError(
            f"{where}: state_namespace must be a namespace such as company.kestra_sync, "
            f"not {value!r}",
            hint="name the namespace where apply records the deployed commit (a KV pair)",
        )
    return value


def _kestra_version(value: Any, where: str, bad: ConfigError) -> str | None:
    from ..rules.kestraversion import normalize

    if value is None or value == "":
        return None
    text = repr(value) if isinstance(value, float) else str(value)
    normalize(text, where)  # refuse what is not a version, with the place it came from
    return text


def _verify(value: Any, where: str, bad: ConfigError) -> bool | str:
    if isinstance(value, bool):
        return value
    text = str(value)
    if text.lower() in ("0", "false", "no"):
        return False
    if text.lower() in ("1", "true", "yes"):
        return True
    if not text.strip():
        raise bad
    return text  # a CA bundle path (checked to exist once the settings are merged)


_COERCERS: dict[str, Callable[[Any, str, ConfigError], Any]] = {
    "namespace_files": _namespace_files,
    "namespaces": _namespaces,
    "tenants": _tenants,
    "layout": _layout,
    "dashboards_dir": _dashboards_dir,
    "ownership_label": _ownership_label,
    "state_namespace": _state_namespace,
    "kestra_version": _kestra_version,
    "verify": _verify,
}


TENANT_KEYS = ("directory", "namespaces", "allow_empty_namespace")


def _tenant_entry(tenant: Any, value: Any, where: str) -> dict[str, Any]:
    """One entry of `tenants:`: a directory, or a mapping with `directory` and optionally the
    tenant's own `namespaces` and `allow_empty_namespace`."""
    if isinstance(value, str):
        return {"directory": value}
    if not isinstance(value, dict) or not isinstance(value.get("directory"), str):
        raise ConfigError(
            f"{where}: tenants.{tenant} must be a directory or a mapping with 'directory'",
            hint="e.g. tenants: {prod: {directory: flows/prod, namespaces: [company.team]}}",
        )
    entry: dict[str, Any] = {}
    for key, item in value.items():
        key = str(key).replace("-", "_")
        if key not in TENANT_KEYS:
            raise ConfigError(
                f"{where}: unknown setting tenants.{tenant}.{key}",
                hint="a tenant takes: " + ", ".join(TENANT_KEYS),
            )
        entry[key] = (
            item if key == "directory" else _coerce(key, item, f"{where}: tenants.{tenant}")
        )
    return entry


def load_settings(
    flags: dict[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Merge the sources in precedence order. ``flags`` holds only options the user gave
    (None values are ignored)."""
    env = dict(os.environ) if env is None else env
    cwd = cwd or Path.cwd()
    settings = Settings()
    known = {f.name for f in fields(Settings)} - {"origin", "config_file", "tenant_scopes"}
    known -= ENVIRONMENT_FIELDS
    flags = dict(flags or {})
    chosen_env = flags.pop("env", None)
    environments: dict[str, Any] = {}
    default_env = None
    for name in known:
        settings.origin[name] = "default"

    if config_file is None and env.get(CONFIG_ENV):
        config_file = Path(env[CONFIG_ENV])
    if config_file is not None and not config_file.is_file():
        raise ConfigError(
            f"{config_file}: config file not found",
            hint="check the path given with --config or " + CONFIG_ENV,
        )
    path = config_file or find_config_file(cwd)
    if path is not None:
        environments, default_env = _apply_config_file(settings, path, known, cwd)
    _apply_environment(settings, env)

    from .environments import select

    select(settings, environments, default_env, chosen_env, env)
    _apply_flags(settings, flags, known)
    _finish(settings, cwd)
    return settings


def _apply_config_file(
    settings: Settings, path: Path, known: set[str], cwd: Path
) -> tuple[dict[str, Any], Any]:
    """Read the config file into ``settings``; return its environments and default_env."""
    settings.config_file = path
    data = _read_config_file(path)
    from .environments import check_environments

    default_env = data.pop("default_env", None)
    environments = check_environments(data.pop("environments", None), default_env, str(path))
    if "directory" in data and "tenants" in data:
        # With a map, each tenant names its own directory: `directory:` would be ignored.
        raise ConfigError(
            f"{path}: 'directory' and 'tenants' are both set, and with a `tenants:` map "
            "each tenant's directory comes from the map",
            hint="remove 'directory:' (or give a tenant its directory in the map, e.g. "
            "tenants: {main: flows})",
        )
    for key, value in data.items():
        _check_file_key(path, key, value, known)
        setattr(settings, key, _coerce(key, value, str(path)))
        settings.origin[key] = f"config file {path.name}"
        if key == "tenants":
            settings.tenant_scopes = {
                str(t): {
                    k: v for k, v in _tenant_entry(t, d, str(path)).items() if k != "directory"
                }
                for t, d in value.items()
            }
    _resolve_file_paths(settings, data, path, cwd)
    return environments, default_env


def _check_file_key(path: Path, key: str, value: Any, known: set[str]) -> None:
    """Refuse a secret, a URL with credentials, or an unknown setting in the config file."""
    if key in SECRET_KEYS:
        raise ConfigError(
            f"{path}: '{key}' must not be stored in a config file that lives in git",
            hint=f"set {ENV[key]} in the environment (or a CI secret) instead",
        )
    if key == "url" and isinstance(value, str) and _has_userinfo(value):
        # Refused even without a password: a token is often passed as the user name.
        raise ConfigError(
            f"{path}: 'url' holds credentials ({_redacted(value)}); they must not be "
            "stored in a config file that lives in git",
            hint="keep the URL without them there (`username:` may stay in the file) and "
            "set KESTRA_PASSWORD or KESTRA_API_TOKEN in the environment or a CI secret",
        )
    if key not in known:
        import difflib

        settable = sorted((known - set(SECRET_KEYS)) | {"environments", "default_env"})
        close = difflib.get_close_matches(key, settable, n=1, cutoff=0.75)
        raise ConfigError(
            f"{path}: unknown setting '{key}'" + (f"; did you mean '{close[0]}'?" if close else ""),
            hint="known settings: " + ", ".join(settable),
        )


def _resolve_file_paths(settings: Settings, data: dict[str, Any], path: Path, cwd: Path) -> None:
    """Relative directories in a config file are relative to the file, not to the cwd; none
    may lead out of the repository that holds it (a hostile `../../etc` would upload the
    host's files), links resolved, as the scan refuses a link out of the flow directory."""
    base = path.parent
    _confine_config_paths(settings, data, path)
    if settings.origin["directory"] != "default" and not settings.directory.is_absolute():
        settings.directory = _relative_to_cwd(base / settings.directory, cwd)
    settings.tenants = {
        t: d if d.is_absolute() else _relative_to_cwd(base / d, cwd)
        for t, d in settings.tenants.items()
    }
    settings.namespace_files = {
        n: d if d.is_absolute() else _relative_to_cwd(base / d, cwd)
        for n, d in settings.namespace_files.items()
    }
    if isinstance(settings.verify, str) and not Path(settings.verify).is_absolute():
        settings.verify = str(base / settings.verify)  # a CA bundle kept next to the file


def _apply_environment(settings: Settings, env: Mapping[str, str]) -> None:
    """Environment variables override the config file."""
    for name, var in {**ENV, **TRANSPORT_ENV, **OPTION_ENV}.items():
        if env.get(var):
            setattr(settings, name, _coerce(name, env[var], f"environment variable {var}"))
            settings.origin[name] = f"env {var}"
    if env.get(CA_BUNDLE_ENV):
        bundle = env[CA_BUNDLE_ENV]
        if env.get(TRANSPORT_ENV["verify"]) and settings.verify != bundle:
            raise ConfigError(
                f"environment variables {TRANSPORT_ENV['verify']} and {CA_BUNDLE_ENV} disagree",
                hint="set only one of them",
            )
        settings.verify = bundle
        settings.origin["verify"] = f"env {CA_BUNDLE_ENV}"


def _apply_flags(settings: Settings, flags: dict[str, Any], known: set[str]) -> None:
    """Options given on the command line win over everything else."""
    for name, value in flags.items():
        if value is None or (isinstance(value, (list, tuple)) and not value):
            continue
        if name not in known:
            raise ConfigError(f"internal: unknown flag setting {name}")
        flag = "--server" if name == "url" else f"--{name.replace('_', '-')}"
        setattr(settings, name, _coerce(name, value, flag))
        settings.origin[name] = "flag"


def _finish(settings: Settings, cwd: Path) -> None:
    """Checks and normalisations once every source is merged."""
    if settings.tenants and settings.origin["tenant"].startswith(("flag", "env")):
        # `--tenant X` (or KESTRA_TENANT) with a `tenants:` map: only that tenant's directory.
        if settings.tenant not in settings.tenants:
            raise ConfigError(
                f"tenant {settings.tenant!r} ({settings.origin['tenant']}) is not in the "
                f"`tenants:` map of {settings.config_file}",
                hint="choose one of: " + ", ".join(sorted(settings.tenants)),
            )
        settings.tenants = {settings.tenant: settings.tenants[settings.tenant]}
    if settings.tenants and settings.origin["directory"].startswith(("flag", "env")):
        _directory_for_one_tenant(settings)
    if settings.url:
        settings.url = settings.url.rstrip("/")
    if isinstance(settings.verify, str) and not Path(settings.verify).is_absolute():
        settings.verify = str(cwd / settings.verify)
    if isinstance(settings.verify, str) and not Path(settings.verify).exists():
        where = settings.origin["verify"]
        raise ConfigError(
            f"the CA bundle {settings.verify} does not exist (verify, from {where})",
            hint="point it at a PEM file (or a directory of certificates)",
        )
    if settings.token and (settings.username or settings.password):
        # Both given: a bearer token wins (EE); say so instead of silently sending both.
        settings.origin["auth"] = "token (username/password ignored)"


def _directory_for_one_tenant(settings: Settings) -> None:
    """A flow directory named on the command line (or in KESTRA_SYNC_DIRECTORY) with a
    `tenants:` map. Flags and environment beat the config file, so with one tenant in play (the
    map's only one, or the one --tenant selects) it is that tenant's directory, as for `pull`.
    With several it could be any one's: an error, not a guess (it used to be ignored, and the
    map's directories were read instead)."""
    given = settings.directory
    if len(settings.tenants) == 1:
        settings.tenants = {tenant: given for tenant in settings.tenants}
        return
    owner = next(
        (t for t, d in settings.tenants.items() if os.path.realpath(d) == os.path.realpath(given)),
        None,
    )
    origin = settings.origin["directory"]
    raise ConfigError(
        f"the flow directory {given} ({'command line' if origin == 'flag' else origin}) "
        f"conflicts with the `tenants:` map of {settings.config_file}, which gives each of "
        f"{', '.join(sorted(settings.tenants))} its own directory",
        hint=(
            f"{given} is tenant {owner}'s directory: add --tenant {owner}"
            if owner
            else "add --tenant NAME to use it as that tenant's directory"
        )
        + ", or name no directory to use every tenant's own",
    )


def _has_userinfo(url: str) -> bool:
    return "@" in urlsplit(url.strip()).netloc


def _redacted(url: str) -> str:
    parts = urlsplit(url.strip())
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def repository_of(config: Path) -> Path:
    """The git work tree holding ``config`` (the nearest folder above it with a ``.git``), else
    the config file's own folder: what paths in that file may name."""
    start = config.resolve().parent
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def _confine_config_paths(settings: Settings, data: dict, config: Path) -> None:
    """Refuse a directory written in the config file that resolves outside its repository."""
    home = repository_of(config)
    named: list[tuple[str, Path]] = []
    if "directory" in data:
        named.append(("directory", settings.directory))
    if "tenants" in data:
        named += [(f"tenants.{t}", d) for t, d in settings.tenants.items()]
    if "namespace_files" in data:
        named += [(f"namespace_files.{n}", d) for n, d in settings.namespace_files.items()]
    for key, directory in named:
        real = (config.parent / directory).resolve()
        if real != home and home not in real.parents:
            raise ConfigError(
                f"{config}: {key} ({directory}) leads outside the repository {home}: "
                "kestra-sync reads and deploys only what the repository holds",
                hint="name a folder inside it (a symbolic link out of it is refused too), or "
                "give an outside directory on the command line (--directory)",
            )


def _relative_to_cwd(path: Path, cwd: Path) -> Path:
    try:
        return path.resolve().relative_to(cwd.resolve())
    except ValueError:
        return path


def _check_url(url: str, where: str) -> str:
    """Kestra's base URL, checked where it is read: an address pasted from the browser
    (`.../ui/...`) or one that already holds the API prefix (`.../api/v1`) would give a 404 per
    namespace later; say it once, with the URL to use."""
    from urllib.parse import urlsplit

    text = url.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{where}: {url!r} is not an http(s) URL",
            hint="give Kestra's address with its scheme, e.g. https://kestra.example.com",
        )
    path = parts.path
    for marker in ("/api/v1", "/ui"):
        at = (path + "/").find(marker + "/")
        if at != -1:
            base = f"{parts.scheme}://{parts.netloc}{path[:at]}"
            raise ConfigError(
                f"{where}: {url} is not Kestra's base URL (it contains {marker}/)",
                hint=f"use {base}: kestra-sync adds /api/v1/<tenant>/... itself",
            )
    return text
