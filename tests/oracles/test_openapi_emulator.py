"""Oracle 1: Kestra's published OpenAPI description (tests/data/openapi/, one per release).

For each emulator profile, the real CLI runs the whole round trip (validate --server-side, plan,
apply, pull, update, delete; flows, namespace files, KV, dashboards) through a recording proxy, and every
request kestra-sync sent and every successful answer the emulator gave is validated with
openapi-core against the description of that Kestra release. A disagreement is either an
emulator or client bug (fixed) or listed in DECLARED_GAPS below with the reason."""

from __future__ import annotations

import pytest

from kestra_sync.rules.knowledge import DASHBOARD_IDS, EMULATOR_PROFILES

from .openapi_oracle import Gap, check
from .recorder import RecordingProxy
from .scenario import new_repo, round_trip
from .tally import OPENAPI

USER, PASSWORD = "admin@kestra.io", "Admin1234"
NS = "company.oracle"
ALL = tuple(EMULATOR_PROFILES)

# Where Kestra's description and a real Kestra disagree, the description loses: these are its
# known inaccuracies (not the emulator's), each checked some other way.
DECLARED_GAPS: tuple[Gap, ...] = (
    Gap(
        ALL,
        r"^GET /api/v1/[^/]+/namespaces/[^/]+/kv/[^/]+$",
        "response",
        r"is not of type 'object'",
        "KvDetail.value is a Java Object, which the description renders as `type: object`; a "
        "real server answers the typed value (a string, number, list...), as the KV "
        "conformance cases check (KVControllerTest#getKeyValue).",
    ),
    Gap(
        ("2.0",),
        r"^(POST|PUT|GET) /api/v1/[^/]+/flows",
        "response",
        r"'draft' is a required property",
        "The 2.0 description is the Enterprise one (kestra-ee.yml): its Flow requires `draft`, an "
        "Enterprise-only property that OSS's Flow does not have (kestra-io/kestra 8ecd8337 "
        "core/.../models/flows has no `draft`); the emulator answers as OSS.",
    ),
    Gap(
        ("1.0", "2.0"),
        r"^(POST|PUT|GET) /api/v1/[^/]+/flows",
        "response",
        r"'labels': \[\{'key': .* is not valid under any of the given schemas",
        "The 1.0 and 2.0 descriptions Flow.labels lists only the map form in its oneOf, though its own "
        "text says `a list of Label or a map`: AbstractFlow.java (kestra-io/kestra 8ecd8337, "
        "l.72-78) declares oneOf {Label[], Map} for `List<Label> labels`, and a server answers "
        "the list. The generator dropped the array variant.",
    ),
    Gap(
        ALL,
        r"^(GET|POST|PUT) /api/v1/[^/]+/tests",
        "response",
        # only these: a null, a missing field or a wrong type elsewhere is still a finding
        r"^(?!.*for not nullable)(?!.*is a required property)(?!.*is not of type '(string|"
        r"boolean|array|integer|number)')(?=.*is not of type 'object')",
        "A test case's Assertion fields (value, equalTo, isNotNull...) are Properties, which "
        "the description renders as objects ({expression, value}); Kestra writes a Property as "
        "its expression, a JSON string (PropertySerializer, kestra-io/kestra core/.../models/"
        "property/Property.java at 009573e8). AssertionResult.expected and actual are Java "
        "Objects, rendered `type: object`, answered as the typed value (as KvDetail.value).",
    ),
    Gap(
        ALL,
        r"^DELETE /api/v1/[^/]+/dashboards/[^/]+$",
        "response",
        r"Unknown response http status: 204",
        "deleteDashboard is described with a 200 answer only, but DashboardController.java "
        "(kestra-io/kestra 8ecd83370, and the 1.0 cut a3c9b35b2) returns "
        "HttpResponse.status(HttpStatus.NO_CONTENT) for a dashboard it deleted.",
    ),
    Gap(
        ALL,
        r"^PUT /api/v1/[^/]+/flows/[^/]+/[^/]+$",
        "response",
        r"is valid under each of",
        "updateFlow's answer is described as oneOf {Flow, FlowWithSource}: every FlowWithSource "
        "is also a valid Flow, so no answer can match exactly one (a oneOf that should be anyOf).",
    ),
)


@pytest.mark.parametrize("profile", EMULATOR_PROFILES)
def test_every_exchange_of_a_round_trip_matches_kestras_openapi(
    request, profile, make_emulator, tmp_path
):
    emu = make_emulator(version=profile, users={USER: PASSWORD})
    with RecordingProxy(emu.url) as proxy:
        env = {"KESTRA_URL": proxy.url, "KESTRA_USERNAME": USER, "KESTRA_PASSWORD": PASSWORD}
        # Dashboards are deployed by id from 1.0 on (knowledge.DASHBOARD_IDS).
        boards = profile in DASHBOARD_IDS.versions
        round_trip(new_repo(tmp_path / "repo", env), NS, tmp_path / "pulled", dashboards=boards)
    result = check(profile, proxy.exchanges, DECLARED_GAPS)
    record = (profile, result.requests, result.answers, len(result.gaps))
    request.node.user_properties.append((OPENAPI, record))
    assert not result.findings, "\n".join(str(f)[:400] for f in result.findings)
    assert result.requests >= 20 and result.answers >= 15


def test_vendored_descriptions_are_kept_whole():
    """Each description is the client-sdk file byte for byte (README.md there: origin, commit)."""
    import hashlib

    from .openapi_oracle import SPECS

    sums = (SPECS / "SHA256SUMS").read_text(encoding="utf-8").split("\n")
    expected = dict(reversed(line.split()) for line in sums if line)
    assert sorted(expected) == [f"kestra-{v}.yml" for v in EMULATOR_PROFILES]
    for name, digest in expected.items():
        assert hashlib.sha256((SPECS / name).read_bytes()).hexdigest() == digest, name
