"""Which Kestra version the rules follow: pinned (``--kestra-version``, ``KESTRA_VERSION``,
``kestra_version:``), else the server's (``GET /api/v1/configs``), else none (every supported
version: an error only for what all of them refuse)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, KestraSyncError, TransportError
from . import knowledge as K


@dataclass
class KestraTarget:
    version: str | None  # a knowledge.VERSIONS entry, or None: every supported version
    origin: str  # where the version came from, for the report
    server: str | None = None  # the version text the server reported, if asked
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.version is None:
            return f"rules of Kestra {K.describe_versions(K.VERSIONS)}: no version set"
        return f"rules of Kestra {self.version}, {self.origin}"

    def to_dict(self) -> dict[str, Any]:
        return {"rules": self.version, "origin": self.origin, "server": self.server}


def normalize(text: Any, where: str) -> str:
    """A user's version text ("1.3", "1.3.2", "v2.0") -> the table version its rules follow."""
    if isinstance(text, float):  # kestra_version: 1.3 in YAML is a number
        text = repr(text)
    version = K.supported_version(str(text))
    given, oldest = K.parse_version(str(text)), K.parse_version(K.VERSIONS[0])
    if given is not None and oldest is not None and given < oldest:
        # supported_version maps an older server to the oldest row, but nothing says that
        # row's rules hold for it: a version the user pins must be one the table knows.
        raise ConfigError(
            f"{where}: Kestra {text} is older than every version kestra-sync knows "
            f"(the oldest is {K.VERSIONS[0]})",
            hint=f"pin a version from {K.describe_versions(K.VERSIONS)}, or none to judge for "
            "all of them",
        )
    if version is None:
        raise ConfigError(
            f"{where}: {text!r} is not a Kestra version",
            hint=f"use one such as {', '.join(K.VERSIONS[-3:])} (supported: "
            f"{K.describe_versions(K.VERSIONS)})",
        )
    return version


def pinned(settings: Any) -> KestraTarget:
    """The target from the settings alone (no server): offline validate."""
    text = getattr(settings, "kestra_version", None)
    if not text:
        return KestraTarget(None, "no version set")
    origin = settings.origin.get("kestra_version", "flag")
    shown = {"flag": "--kestra-version"}.get(origin, origin)
    target = KestraTarget(normalize(text, shown), f"pinned by {shown}")
    given = K.parse_version(str(text))
    if given is not None and f"{given[0]}.{given[1]}" != target.version:
        target.warnings.append(
            f"Kestra {text} is not in kestra-sync's rule table: following the rules of "
            f"{target.version}, the nearest older version it knows"
        )
    return target


def resolve(settings: Any, client: Any) -> KestraTarget:
    """Pinned version, checked against the server's; else the server's; else none.

    Asking costs one request per run. A server that answers it with an error is a warning, not
    a failure (a proxy or an old server may not route it; the flow requests that follow report
    a real auth problem); a server that cannot be reached at all fails here, once, instead of
    again on every namespace."""
    target = pinned(settings)
    try:
        reported = client.server_version()
    except TransportError:
        raise
    except KestraSyncError as err:
        target.warnings.append(
            f"could not read the server's Kestra version (GET /api/v1/configs: {err.message}); "
            + (
                f"following {target.version} as pinned"
                if target.version
                else "validating for every supported version"
            )
        )
        return target
    target.server = reported
    detected = K.supported_version(reported)
    if detected is None:
        target.warnings.append(
            f"the server reports version {reported!r}, which kestra-sync cannot read; "
            + (
                f"following {target.version} as pinned"
                if target.version
                else "pin one with --kestra-version"
            )
        )
        return target
    if target.version is None:
        return KestraTarget(detected, f"reported by the server: {reported}", reported)
    if detected != target.version:
        target.warnings.append(
            f"the server runs Kestra {reported} but the rules are pinned to {target.version} "
            f"({target.origin.removeprefix('pinned by ')}): following {target.version}"
        )
    return target
