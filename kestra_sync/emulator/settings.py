"""The emulated server's settings, shared by all handler threads: edition, credentials, latency,
the Kestra version profile, and whether that profile's server demands credentials."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..rules import knowledge as K


@dataclass
class Config:
    """Server settings shared by all handler threads.

    ``auth``: None answers as the profile does (knowledge.MANDATORY_BASIC_AUTH): up to 0.23 OSS
    checks credentials only when some are configured; from 0.24 on, and on EE, always, so a
    server with none configured answers 401 to everything but its open routes, as a real one
    before its setup. False turns auth off whatever the profile (tests and benchmarks that do
    not exercise it: no real Kestra OSS >= 0.24 can do that)."""

    edition: str = "oss"
    users: dict[str, str] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)
    latency: float = 0.0  # seconds added to every /api request
    version: str = K.LATEST  # the Kestra version profile (knowledge.EMULATOR_PROFILES)
    auth: bool | None = None

    @property
    def reported_version(self) -> str:
        """What ``GET /api/v1/configs`` says: ``Configuration.version`` (VersionProvider)."""
        return f"{self.version}.0"

    def at_least(self, version: str) -> bool:
        return self.version in K.since(version)

    def has(self, fact: K.ApiFact) -> bool:
        """Whether this profile's Kestra behaves as ``fact`` says."""
        return self.version in fact.versions

    @property
    def credentials_configured(self) -> bool:
        return bool(self.users or self.tokens)

    @property
    def auth_enabled(self) -> bool:
        """Whether requests must carry valid credentials (see the class docstring)."""
        if self.auth is not None:
            return self.auth
        # EE runs Micronaut Security (OSS's AuthenticationFilter is for
        # micronaut.security.enabled != true only, docs/kestra-api.md): credentials always.
        always = self.edition == "ee" or self.has(K.MANDATORY_BASIC_AUTH)
        return always or self.credentials_configured
