"""Settings: flags > environment (KESTRA_*) > kestra-sync.yml / [tool.kestra-sync] > defaults.

Secrets (password, API token) come only from flags or the environment: a config file lives in
git, so one that holds a secret is refused with a message saying where to put it instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigError
from ..models import DEFAULT_PARALLELISM, DEFAULT_TENANT
from .values import coerce, has_userinfo, tenant_entry

CONFIG_FILES = ("kestra-sync.yml", "kestra-sync.yaml")
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
        setattr(settings, key, coerce(key, value, str(path)))
        settings.origin[key] = f"config file {path.name}"
        if key == "tenants":
            settings.tenant_scopes = {
                str(t): {k: v for k, v in tenant_entry(t, d, str(path)).items() if k != "directory"}
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
    if key == "url" and isinstance(value, str) and has_userinfo(value):
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
            setattr(settings, name, coerce(name, env[var], f"environment variable {var}"))
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
        setattr(settings, name, coerce(name, value, flag))
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
