"""One setting's value, checked and turned into the type the setting has, where it is read
(the config file, an environment's entry, an environment variable): ``coerce``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError

LAYOUTS = ("none", "nested", "dotted")
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


def coerce(name: str, value: Any, where: str) -> Any:
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
        return check_url(str(value), where)
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
    return {str(t): Path(str(tenant_entry(t, d, where)["directory"])) for t, d in value.items()}


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


def tenant_entry(tenant: Any, value: Any, where: str) -> dict[str, Any]:
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
        entry[key] = item if key == "directory" else coerce(key, item, f"{where}: tenants.{tenant}")
    return entry


def has_userinfo(url: str) -> bool:
    return "@" in urlsplit(url.strip()).netloc


def check_url(url: str, where: str) -> str:
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
