"""The emulated server's settings, shared by all handler threads: edition, credentials, latency
and the Kestra version profile."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import knowledge as K


@dataclass
class Config:
    """Server settings shared by all handler threads."""

    edition: str = "oss"
    users: dict[str, str] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)
    latency: float = 0.0  # seconds added to every /api request
    version: str = K.LATEST  # the Kestra version profile (knowledge.EMULATOR_PROFILES)

    @property
    def reported_version(self) -> str:
        """What ``GET /api/v1/configs`` says: ``Configuration.version`` (VersionProvider)."""
        return f"{self.version}.0"

    def at_least(self, version: str) -> bool:
        return self.version in K.since(version)

    @property
    def auth_enabled(self) -> bool:
        return bool(self.users or self.tokens)
