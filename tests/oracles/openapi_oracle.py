"""Kestra's published OpenAPI description as an oracle: check recorded request/answer pairs
against the description of the Kestra release an emulator profile stands for.

The descriptions are vendored whole under tests/data/openapi/ (README.md there says where each
came from). openapi-core does the validation: we only adapt an Exchange to its request and
response protocols, and decide which exchanges are in scope."""

from __future__ import annotations

import base64
import functools
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.datastructures import ImmutableMultiDict

from .recorder import Exchange

SPECS = Path(__file__).resolve().parent.parent / "data" / "openapi"

# Emulator profile -> vendored description (tests/data/openapi/README.md: origin and commit).
SPEC_OF_PROFILE = {
    "0.22": "kestra-0.22.yml",
    "1.0": "kestra-1.0.yml",
    "1.3": "kestra-1.3.yml",
    "2.0": "kestra-2.0.yml",
}


@functools.cache
def openapi_for(profile: str) -> OpenAPI:
    path = SPECS / SPEC_OF_PROFILE[profile]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open("rb") as fh:
        spec = yaml.load(fh, Loader=loader)  # noqa: S506 - a safe loader
    _translate_patterns(spec)
    # Not checked as a document: Kestra's schemas carry Java regexes (\\p{javaJavaIdentifierStart})
    # that a Python checker of the description itself refuses; the operations are what we use.
    config = Config(
        spec_validator_cls=None,
        extra_media_type_deserializers={
            # A YAML flow source is a string in the description (`type: string`).
            "application/x-yaml": lambda body: body.decode("utf-8"),
            # Binary answers (`type: string, format: byte|binary`): the description's string
            # form of bytes is base64, so the raw bytes are checked in that form.
            "application/octet-stream": lambda body: base64.b64encode(body).decode("ascii"),
        },
    )
    return OpenAPI.from_dict(spec, config=config)


# Java regex classes in the description's `pattern`s, as Python's re writes them (Java's POSIX
# classes are ASCII-only; the identifier classes are close enough for ids and types).
JAVA_CLASSES = {
    r"\p{javaJavaIdentifierStart}": r"(?:[^\W\d]|\$)",
    r"\p{javaJavaIdentifierPart}": r"[\w$]",
    r"\p{Alpha}": r"[A-Za-z]",
    r"\p{Alnum}": r"[A-Za-z0-9]",
    r"\p{Ll}": r"a-z\u00df-\u00f6\u00f8-\u00ff",  # only ever inside [...]
    r"\p{L}": r"A-Za-z\u00c0-\u024f",  # only ever inside [...]
}


def _translate_patterns(node: object) -> None:
    """Rewrite, in place, every `pattern` of the loaded description for Python's re."""
    if isinstance(node, dict):
        pattern = node.get("pattern")
        if isinstance(pattern, str) and "\\p{" in pattern:
            for java, python in JAVA_CLASSES.items():
                pattern = pattern.replace(java, python)
            node["pattern"] = pattern
        for value in node.values():
            _translate_patterns(value)
    elif isinstance(node, list):
        for value in node:
            _translate_patterns(value)


@dataclass(frozen=True)
class Gap:
    """A known disagreement that is not an emulator or client bug, with the reason."""

    profiles: tuple[str, ...]
    route: str  # regex on "METHOD path"
    side: str
    error: str  # regex on the error text
    reason: str

    def covers(self, profile: str, finding: Finding) -> bool:
        e = finding.exchange
        return (
            profile in self.profiles
            and finding.side == self.side
            and re.search(self.route, f"{e.method} {urlsplit(e.target).path}") is not None
            and re.search(self.error, finding.error) is not None
        )


@dataclass(frozen=True)
class Finding:
    """One way an exchange disagrees with the description."""

    exchange: Exchange
    side: str  # "request" or "response"
    error: str

    def __str__(self) -> str:
        e = self.exchange
        return f"{e.method} {e.target} -> {e.status}: {self.side}: {self.error}"


def _header(headers: dict[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name), "")


def _media_type(value: str) -> str:
    """The Content-Type as sent, parameters included (a multipart boundary is needed)."""
    return value.strip() or "application/octet-stream"


def as_request(e: Exchange) -> MockRequest:
    parts = urlsplit(e.target)
    request = MockRequest(
        "http://kestra",
        e.method,
        parts.path,
        args=None,
        headers=e.request_headers,
        data=e.request_body,
        content_type=_media_type(_header(e.request_headers, "content-type")),
    )
    # A repeated key (sort=... twice) keeps every value, as a real server reads it.
    request.parameters.query = ImmutableMultiDict(parse_qsl(parts.query, keep_blank_values=True))
    return request


def as_response(e: Exchange) -> MockResponse:
    return MockResponse(
        e.response_body,
        status_code=e.status,
        headers=e.response_headers,
        content_type=_media_type(_header(e.response_headers, "content-type")),
    )


@dataclass
class Result:
    """What one profile's check found."""

    requests: int = 0  # requests validated against an operation of the description
    answers: int = 0  # 2xx answers validated against that operation's response
    probes: int = 0  # requests to an operation the release lacks, answered 404/405 as it would
    findings: list[Finding] = field(default_factory=list)  # unexplained: a failure
    gaps: list[tuple[Finding, Gap]] = field(default_factory=list)  # declared


def check(profile: str, exchanges: list[Exchange], gaps: tuple[Gap, ...] = ()) -> Result:
    """Validate each exchange's request and, for a 2xx answer, its answer.

    Error answers (4xx/5xx) are checked only as requests: Kestra's description declares no
    error bodies for most operations, so there is nothing to check them against. A request
    to an operation the release does not have counts as a probe when the server answered it
    404 or 405, as that release would; otherwise it is a finding."""
    api = openapi_for(profile)
    result = Result()
    for e in exchanges:
        request = as_request(e)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                api.validate_request(request)
            except (OperationNotFound, PathNotFound) as exc:
                if e.status in (404, 405):
                    result.probes += 1
                else:
                    _file(result, profile, Finding(e, "request", _explain(exc)), gaps)
                continue
            except Exception as exc:  # openapi-core raises one error type per failure kind
                _file(result, profile, Finding(e, "request", _explain(exc)), gaps)
            result.requests += 1
            if 200 <= e.status < 300:
                try:
                    api.validate_response(request, as_response(e))
                except Exception as exc:
                    _file(result, profile, Finding(e, "response", _explain(exc)), gaps)
                result.answers += 1
    return result


def _file(result: Result, profile: str, finding: Finding, gaps: tuple[Gap, ...]) -> None:
    gap = next((g for g in gaps if g.covers(profile, finding)), None)
    if gap is None:
        result.findings.append(finding)
    else:
        result.gaps.append((finding, gap))


def _explain(exc: Exception) -> str:
    """The error and its schema errors (openapi-core chains the useful detail)."""
    parts = [f"{type(exc).__name__}: {exc}"]
    cause = exc.__cause__
    while cause is not None:
        parts.append(f"{type(cause).__name__}: {cause}")
        for sub in getattr(cause, "schema_errors", ()) or ():
            parts.append(f"  - {getattr(sub, 'message', sub)}")
        cause = cause.__cause__
    return " | ".join(parts)
